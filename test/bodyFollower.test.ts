import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BodyFollower, COMPACT_SLACK } from '../src/bodyFollower'
import { ChunkedBody } from '../src/chunkedBody'

const encoder = new TextEncoder()

/** `bytes` cut into chunks at the given lengths (the rest in one), each a new buffer, as a socket read makes. */
function cut(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = []
  let at = 0
  for (const length of lengths) {
    if (at >= bytes.length) break
    chunks.push(bytes.slice(at, at + length))
    at += length
  }
  if (at < bytes.length) chunks.push(bytes.slice(at))
  return chunks
}

function followed(last: readonly Uint8Array[], received: readonly Uint8Array[]): readonly Uint8Array[] {
  const follower = new BodyFollower(new ChunkedBody(last))
  for (const chunk of received) follower.push(chunk)
  return follower.finish()
}

function text(chunks: readonly Uint8Array[]): string {
  return Buffer.concat(chunks).toString('utf8')
}

/** A snapshot-like body of `events`, each its id and text. */
function body(events: ReadonlyArray<readonly [string, string]>): Uint8Array {
  return encoder.encode(JSON.stringify({ iterable: events.map(([id, readable]) => ({ id, readable, schema: { migration: 0, semantic: 'MAJOR_0_MINOR_0_PATCH_1' } })) }))
}

const event = fc.tuple(fc.uuid(), fc.string({ unit: 'grapheme', maxLength: 300 }))

describe('BodyFollower', () => {
  it('assembles exactly the body received, however it was changed and cut, and keeps none of the chunks received', () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(70), fc.oneof(fc.constant('remove' as const), fc.constant('add' as const), fc.constant('edit' as const)), event), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 40 }),
        (events, edits, lastCuts, newCuts) => {
          const next = [...events]
          for (const [at, kind, added] of edits) {
            const i = next.length === 0 ? 0 : at % next.length
            if (kind === 'add') next.splice(i, 0, added)
            else if (next.length > 0 && kind === 'remove') next.splice(i, 1)
            else if (next.length > 0) next[i] = [next[i]![0], added[1]]
          }
          const last = cut(body(events), lastCuts)
          const received = cut(body(next), newCuts)
          const result = followed(last, received)
          expect(text(result)).toBe(text(received))
          const receivedBuffers = new Set(received.map((chunk) => chunk.buffer))
          for (const part of result) expect(receivedBuffers.has(part.buffer)).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('keeps at most about twice a body of buffers alive, poll after poll of changes', () => {
    let events = Array.from({ length: 100 }, (_, i): [string, string] => [`id-${i}`, `event ${i} `.repeat(100)])
    let last: readonly Uint8Array[] = Object.freeze(cut(body(events), Array(400).fill(4096)))
    let compacted = false
    for (let poll = 0; poll < 24; poll++) {
      if (poll % 2 === 0) {
        // Many events added at once: their bytes are copied into one buffer.
        events = [...Array.from({ length: 100 }, (_, i): [string, string] => [`added-${poll}-${i}`, `new event ${i} `.repeat(100)]), ...events.slice(0, 100)]
      } else {
        // Then all of them but one change: that buffer is kept alive for the one left.
        events = events.map(([id, readable], i) => (i === 50 ? [id, readable] : [id, `${readable.slice(0, 20)} changed at ${poll}`]))
      }
      const received = cut(body(events), Array(400).fill(4096))
      const next = followed(last, received)
      expect(text(next)).toBe(text(received))
      const length = next.reduce((total, part) => total + part.byteLength, 0)
      const held = [...new Set(next.map((part) => part.buffer))].reduce((total, buffer) => total + buffer.byteLength, 0)
      expect(held).toBeLessThanOrEqual(2 * length + COMPACT_SLACK)
      compacted ||= next.length === 1
      last = Object.freeze([...next])
    }
    // The body was copied into one buffer at least once on the way.
    expect(compacted).toBe(true)
  })

  it('gives the last body’s own chunks back for a body identical to it, and views of them where a changed one repeats it', () => {
    const events = Array.from({ length: 200 }, (_, i): [string, string] => [`id-${i}`, `event ${i} `.repeat(i % 7 + 3)])
    // Frozen, as a decoded body's chunks are: a body of others is copied first.
    const last = Object.freeze(cut(body(events), Array(100).fill(4096)))
    expect(followed(last, cut(body(events), Array(100).fill(1500)))).toBe(last)
    // One event changed in the middle, one added at the front: all else is the last body's bytes.
    const changed = [['new', 'added'] as [string, string], ...events.slice(0, 100), [events[100]![0], 'changed'] as [string, string], ...events.slice(101)]
    const received = cut(body(changed), Array(100).fill(4096))
    const result = followed(last, received)
    expect(text(result)).toBe(text(received))
    const lastBuffers = new Set(last.map((chunk) => chunk.buffer))
    const copied = result.filter((part) => !lastBuffers.has(part.buffer)).reduce((total, part) => total + part.byteLength, 0)
    expect(copied).toBeLessThan(2 * 4096)
  })
})
