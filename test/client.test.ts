import { describe, expect, it } from 'vitest'
import { createWorkstreamClient } from '../src/client'
import { WorkstreamSyncError } from '../src/errors'
import { generateSampleEvents } from '../src/server/index'
import { startServer } from './support/harness'
import { makeEvent, makeSeed } from './support/events'

const initial = [makeEvent('a', 1), makeEvent('b', 2)]

async function failure(promise: Promise<unknown>): Promise<WorkstreamSyncError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(WorkstreamSyncError)
    return error as WorkstreamSyncError
  }
  throw new Error('expected a failure')
}

describe('client', () => {
  it('reads a snapshot, creates and deletes over HTTP', async () => {
    const server = await startServer({ events: initial })
    const client = createWorkstreamClient({ baseUrl: server.url })
    expect((await client.snapshot()).iterable.map((e) => e.id)).toEqual(['a', 'b'])
    const created = await client.create({ ...makeSeed('x'), internal_identifier: 'mine' })
    expect(created.id).toBe('mine')
    await client.delete('mine')
    expect(server.events().map((e) => e.id)).toEqual(['a', 'b'])
  })

  it('reads a large snapshot as the chunks it arrived in, with the bytes snapshotBody gives', async () => {
    const server = await startServer({ events: generateSampleEvents({ count: 120, seed: 3 }) })
    const client = createWorkstreamClient({ baseUrl: server.url })
    const chunks = await client.snapshotChunks!()
    const body = await client.snapshotBody!()
    expect(body.byteLength).toBeGreaterThan(4 * 65_536)
    expect(chunks.length).toBeGreaterThan(1)
    expect(Buffer.concat(chunks).equals(body)).toBe(true)
    expect(JSON.parse(new TextDecoder().decode(body)).iterable).toHaveLength(120)
  })

  it('sends transferables and X-Application-ID when configured', async () => {
    const server = await startServer({ events: initial })
    const client = createWorkstreamClient({ baseUrl: server.url, applicationId: 'app-42' })
    await client.snapshot({ transferables: false })
    const request = server.requests.log.at(-1)!
    expect(request.query).toMatchObject({ transferables: 'false' })
    expect(request.headers['x-application-id']).toBe('app-42')
  })

  it('URL-encodes ids into one path segment', async () => {
    const server = await startServer()
    const client = createWorkstreamClient({ baseUrl: server.url })
    for (const id of ['a/b', 'x?y=1', 'h#t', '100%', 'a..b', 'sp ace']) {
      await client.create({ ...makeSeed(id), internal_identifier: id })
      await client.delete(id)
    }
    expect(server.events()).toEqual([])
    await expect(client.delete('..')).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(client.delete('')).rejects.toMatchObject({ kind: 'invalid-input' })
  })

  it('reports an HTTP status with the body text, retryable for 5xx only', async () => {
    const server = await startServer({ events: initial })
    const client = createWorkstreamClient({ baseUrl: server.url })
    server.faults.add('snapshot', { type: 'status', status: 503, body: 'warming up' })
    const unavailable = await failure(client.snapshot())
    expect(unavailable).toMatchObject({ kind: 'http', status: 503, retryable: true })
    expect(unavailable.message).toContain('warming up')
    const missing = await failure(client.delete('nope'))
    expect(missing).toMatchObject({ kind: 'http', status: 404, retryable: false })
    expect(missing.message).not.toContain('baseUrl')
  })

  it('says to check the base URL when the API’s path is not there', async () => {
    const server = await startServer({ events: initial })
    const error = await failure(createWorkstreamClient({ baseUrl: `${server.url}/api` }).snapshot())
    expect(error).toMatchObject({ kind: 'http', status: 404 })
    expect(error.message).toContain(`Check that baseUrl (${server.url}/api) points at Pieces OS`)
  })

  it('gives the reason fetch keeps in its cause when it has no system code (bug: only "fetch failed")', async () => {
    // fetch refuses some ports outright (6000 is X11's), before any connection.
    const error = await failure(createWorkstreamClient({ baseUrl: 'http://127.0.0.1:6000' }).snapshot())
    expect(error).toMatchObject({ kind: 'network' })
    expect(error.message).toMatch(/fetch failed \(bad port\)\. Check that/)
  })

  it('reports a network failure when nothing listens', async () => {
    const server = await startServer()
    const url = server.url
    await server.close()
    const error = await failure(createWorkstreamClient({ baseUrl: url }).snapshot())
    expect(error).toMatchObject({ kind: 'network', retryable: true })
    // The system's reason and where it tried, not only "fetch failed".
    expect(error.message).toContain('ECONNREFUSED')
    expect(error.message).toContain(`running at ${url}`)
  })

  it('says what a base URL should look like when it is not an absolute http(s) URL', () => {
    for (const baseUrl of ['localhost:1000', 'ftp://localhost:1000', '/workstream']) {
      expect(() => createWorkstreamClient({ baseUrl })).toThrow(/Pass something like 'http:\/\/localhost:1000'/)
    }
  })

  it('times out a slow response, body included', async () => {
    const server = await startServer({ events: initial })
    server.faults.add('snapshot', { type: 'trickle', chunkBytes: 8, intervalMs: 50 })
    const error = await failure(createWorkstreamClient({ baseUrl: server.url, timeoutMs: 150 }).snapshot())
    expect(error).toMatchObject({ kind: 'timeout', retryable: true })
  })

  it('honours the caller’s AbortSignal', async () => {
    const server = await startServer({ events: initial })
    server.faults.add('snapshot', { type: 'latency', ms: 5000 })
    const controller = new AbortController()
    const pending = createWorkstreamClient({ baseUrl: server.url }).snapshot({ signal: controller.signal })
    controller.abort()
    expect(await failure(pending)).toMatchObject({ kind: 'aborted', retryable: false })
  })

  it('rejects a body that is not JSON, HTML, or truncated with a validation error', async () => {
    const server = await startServer({ events: initial })
    const client = createWorkstreamClient({ baseUrl: server.url })
    server.faults.add('snapshot', { type: 'malformed' })
    expect(await failure(client.snapshot())).toMatchObject({ kind: 'validation' })
    server.faults.add('snapshot', { type: 'body', body: '<html>oops</html>', contentType: 'text/html' })
    expect((await failure(client.snapshot())).message).toContain('text/html')
    server.faults.add('snapshot', { type: 'truncated' })
    expect(await failure(client.snapshot())).toMatchObject({ kind: 'validation' })
  })

  it('rejects a body that does not validate, naming the path', async () => {
    const server = await startServer()
    const client = createWorkstreamClient({ baseUrl: server.url })
    server.faults.add('snapshot', { type: 'body', body: JSON.stringify({ iterable: [makeEvent('a'), { ...makeEvent('b'), created: { value: 'soon' } }] }) })
    const error = await failure(client.snapshot())
    expect(error.kind).toBe('validation')
    expect(error.message).toContain('iterable[1].created.value')
    server.faults.add('create', { type: 'body', body: JSON.stringify({ not: 'an event' }) })
    expect(await failure(client.create(makeSeed()))).toMatchObject({ kind: 'validation' })
  })

  it('refuses an invalid seed before sending anything', async () => {
    const server = await startServer()
    const client = createWorkstreamClient({ baseUrl: server.url })
    expect(await failure(client.create({ trigger: {} } as never))).toMatchObject({ kind: 'invalid-input' })
    expect(server.requests.count()).toBe(0)
  })

  it('uses an injected fetch', async () => {
    const calls: string[] = []
    const client = createWorkstreamClient({
      baseUrl: 'http://127.0.0.1:9',
      fetch: async (input) => {
        calls.push(String(input))
        return new Response(JSON.stringify({ iterable: [] }), { headers: { 'content-type': 'application/json' } })
      },
    })
    expect(await client.snapshot()).toEqual({ iterable: [] })
    expect(calls).toEqual(['http://127.0.0.1:9/workstream_events'])
  })

  it('refuses a base URL that is not an absolute http(s) URL', () => {
    expect(() => createWorkstreamClient({ baseUrl: '/api' })).toThrow(/absolute URL/)
    expect(() => createWorkstreamClient({ baseUrl: 'localhost:1000' })).toThrow(/http\(s\)/)
  })
})
