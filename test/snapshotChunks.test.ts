import { describe, expect, it } from 'vitest'
import { createWorkstreamClient } from '../src/client'
import { WorkstreamSyncError } from '../src/errors'
import { generateSampleEvents } from '../src/server/index'
import { chunksOf, decodeSnapshot, type DecodedSnapshot } from '../src/snapshotDecoder'
import { startServer } from './support/harness'

const encoder = new TextEncoder()

/** A fetch whose response body arrives in the chunks given, as an HTTP body does. */
function chunkedFetch(chunks: readonly string[], status = 200): typeof fetch {
  return async () => {
    let next = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next < chunks.length) controller.enqueue(encoder.encode(chunks[next++]))
        else controller.close()
      },
    })
    return new Response(body, { status, headers: { 'content-type': 'application/json' } })
  }
}

function chunksFrom(chunks: readonly string[]): Promise<readonly Uint8Array[]> {
  return createWorkstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: chunkedFetch(chunks) }).snapshotChunks!()
}

function text(chunks: readonly Uint8Array[]): string {
  return Buffer.concat(chunks).toString('utf8')
}

describe('snapshotChunks({ unchangedFrom })', () => {
  it('answers an unchanged snapshot over HTTP with the previous chunks themselves, and a changed one with its own bytes', async () => {
    // Hundreds of kilobytes: Node's fetch reads the body from the socket in many chunks.
    const server = await startServer({ events: generateSampleEvents({ count: 120, seed: 3 }) })
    const client = createWorkstreamClient({ baseUrl: server.url })
    const first = await client.snapshotChunks!()
    expect(first.length).toBeGreaterThan(4)
    const kept = text(first)

    expect(await client.snapshotChunks!({ unchangedFrom: first })).toBe(first)

    const last = server.events().at(-1)!
    await client.delete(last.id)
    const changed = await client.snapshotChunks!({ unchangedFrom: first })
    expect(changed).not.toBe(first)
    expect(text(changed)).toBe(text([await client.snapshotBody!()]))
    // The body up to the change is the previous body's own chunks, not a copy of them.
    expect(changed[0]!.buffer).toBe(first[0]!.buffer)
    expect(JSON.parse(text(changed)).iterable.map((e: { id: string }) => e.id)).not.toContain(last.id)
    // The previous body is only read.
    expect(text(first)).toBe(kept)
  })

  it('compares across chunk boundaries that differ from the previous body', async () => {
    const previous = await chunksFrom(['{"iterable":[{"id":"a"},{"id":"b"}]}'])
    const client = createWorkstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: chunkedFetch(['{"itera', 'ble":[{"id":"a"},', '{"id":"b"}]', '}']) })
    expect(await client.snapshotChunks!({ unchangedFrom: previous })).toBe(previous)
  })

  it.each([
    ['differs in a middle chunk', ['{"iterable":[', '{"id":"a"},{"id":"c"}', ']}']],
    ['differs after chunks that repeat the previous body, cut elsewhere', ['{"iter', 'able":[{"id":"a"},{"i', 'd":"c"}]}']],
    ['is a prefix of the previous body', ['{"iterable":[{"id":"a"},', '{"id":"b"}']],
    ['goes on past the previous body', ['{"iterable":[{"id":"a"},{"id":"b"}]}', ' ']],
    ['is empty', []],
  ])('assembles a body that %s', async (_, chunks) => {
    const previous = await chunksFrom(['{"iterable":[{"id":"a"},', '{"id":"b"}]}'])
    const client = createWorkstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: chunkedFetch(chunks) })
    const body = await client.snapshotChunks!({ unchangedFrom: previous })
    expect(body).not.toBe(previous)
    expect(text(body)).toBe(chunks.join(''))
    expect(text(previous)).toBe('{"iterable":[{"id":"a"},{"id":"b"}]}')
  })

  it('still fails on an error status whose body equals the previous body', async () => {
    const previous = await chunksFrom(['{"iterable":[]}'])
    const client = createWorkstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: chunkedFetch(['{"iterable":[]}'], 503) })
    const error = await client.snapshotChunks!({ unchangedFrom: previous }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkstreamSyncError)
    expect((error as WorkstreamSyncError).status).toBe(503)
  })
})

describe('chunks from a custom client or fetch', () => {
  const validate = (value: unknown): string | undefined => (typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' ? undefined : 'no id')
  const snapshot = (events: readonly object[]): string => JSON.stringify({ iterable: events })

  it('shows a changed snapshot from a client that refills the same array every time', () => {
    const reused: Uint8Array[] = []
    const read = (text: string): Uint8Array[] => {
      reused.length = 0
      reused.push(encoder.encode(text))
      return reused
    }
    const first = decodeSnapshot(read(snapshot([{ id: 'a', readable: 'old' }])), undefined, { validate })
    const second = decodeSnapshot(read(snapshot([{ id: 'a', readable: 'new' }, { id: 'b' }])), first, { validate })
    expect(second.path).toBe('slices')
    expect(second.events.map((e) => e.readable)).toEqual(['new', undefined])
  })

  it('keeps about one body of buffers alive when each response is read into one buffer and the change moves down', async () => {
    const events = Array.from({ length: 400 }, (_, i) => ({ id: `e${i}`, readable: `event ${i} `.repeat(20), v: 0 }))
    let last: DecodedSnapshot | undefined
    let length = 0
    for (let poll = 0; poll < 12; poll++) {
      events[poll * 30]!.v = poll + 1
      const bytes = encoder.encode(snapshot(events))
      length = bytes.length
      // One buffer for the whole response, read in views of 4 kB.
      const oneBuffer: typeof fetch = async () => {
        const whole = bytes.slice()
        let at = 0
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (at >= whole.length) return controller.close()
            controller.enqueue(whole.subarray(at, at + 4096))
            at += 4096
          },
        })
        return new Response(body, { headers: { 'content-type': 'application/json' } })
      }
      const client = createWorkstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: oneBuffer })
      const unchangedFrom = chunksOf(last)
      last = decodeSnapshot(await client.snapshotChunks!(unchangedFrom ? { unchangedFrom } : {}), last, { validate })
      expect(last.byId.get(`e${poll * 30}`)).toMatchObject({ v: poll + 1 })
    }
    const buffers = new Set(chunksOf(last)!.map((chunk) => chunk.buffer))
    expect([...buffers].reduce((total, buffer) => total + buffer.byteLength, 0)).toBeLessThan(2 * length)
  })
})
