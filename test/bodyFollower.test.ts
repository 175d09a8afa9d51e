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
  it('assembles exactly the body received, however it was changed and cut, and keeps no chunk received in part', () => {
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
          // A chunk received is kept only whole (none of it repeated the last body), never in part.
          const receivedChunks = new Map(received.map((chunk) => [chunk.buffer, chunk]))
          for (const part of result) if (receivedChunks.has(part.buffer)) expect(part).toBe(receivedChunks.get(part.buffer))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('places a body whose bytes hold a word that is NaN as a double (bug: the comparison spun for ever)', () => {
    // Not UTF-8, but a lenient decoder reads it (as Latin-1 "ÿ"): 0xFF bytes across a whole aligned word.
    const bytes = new Uint8Array([...encoder.encode('{"iterable":[{"id":"a","readable":"'), ...new Uint8Array(64).fill(0xff), ...encoder.encode('"}]}')])
    const last = Object.freeze(cut(bytes, [40]))
    expect(followed(last, cut(bytes, [33, 20]))).toBe(last)
    const body = new ChunkedBody(last)
    expect(body.commonPrefix(0, bytes, 0, bytes.length)).toBe(bytes.length)
    expect(body.commonSuffix(bytes.length, bytes, bytes.length, bytes.length)).toBe(bytes.length)
  })

  it('looks through about one last body at most for a body that repeats none of it (another account’s events)', () => {
    const events = (prefix: string): Array<[string, string]> => Array.from({ length: 600 }, (_, i) => [`${prefix}-${i}`, `${prefix} event ${i} `.repeat(30)])
    const last = new ChunkedBody(Object.freeze(cut(body(events('old')), Array(400).fill(65_536))))
    const received = cut(body(events('new')), Array(400).fill(65_536))
    let searched = 0
    const find = ChunkedBody.prototype.find
    ChunkedBody.prototype.find = function (this: ChunkedBody, chunk, from, length, expected, radius) {
      searched += Math.min(2 * radius, this.length)
      return find.call(this, chunk, from, length, expected, radius)
    }
    try {
      const follower = new BodyFollower(last)
      for (const chunk of received) follower.push(chunk)
      expect(text(follower.finish())).toBe(text(received))
    } finally {
      ChunkedBody.prototype.find = find
    }
    expect(searched).toBeLessThanOrEqual(last.length)
  })

  it('keeps at most about twice a body of buffers alive, poll after poll of changes', () => {
    let events = Array.from({ length: 100 }, (_, i): [string, string] => [`id-${i}`, `event ${i} `.repeat(100)])
    let last: readonly Uint8Array[] = Object.freeze(cut(body(events), Array(400).fill(4096)))
    let compacted = false
    for (let poll = 0; poll < 40; poll++) {
      const from = (poll >> 1) * 13 % 60
      // A run of 40 events changes: their bytes are copied into one buffer. Then all of them but
      // one change again: that buffer is kept alive for the one left.
      events = events.map(([id, readable], i): [string, string] => (i < from || i >= from + 40 || (poll % 2 === 1 && i === from + 20) ? [id, readable] : [id, `${readable.slice(0, 900)} ${poll}`]))
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
