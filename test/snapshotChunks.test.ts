import { describe, expect, it } from 'vitest'
import { createWorkstreamClient } from '../src/client'
import { WorkstreamSyncError } from '../src/errors'
import { generateSampleEvents } from '../src/server/index'
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
