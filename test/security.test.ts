import { request } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createWorkstreamClient } from '../src/client'
import type { LogSink } from '../src/logger'
import type { WorkstreamEvent } from '../src/models'
import { makeStore, startServer } from './support/harness'
import { makeEvent, makeSeed } from './support/events'

/*
 * Security: another web origin cannot use the embedded server, ids cannot escape their path
 * segment, bodies are capped, and the store's logs carry no event content unless asked to.
 * test/server.test.ts covers the raw CORS and routing rules; these go through the library.
 */

const initial = [makeEvent('a', 1), makeEvent('b', 2)]
const ids = (events: readonly WorkstreamEvent[]): string[] => events.map((e) => e.id).sort()

/** A fetch that sends an Origin header, as a browser page on that origin would. */
function fetchFrom(origin: string): typeof fetch {
  return (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), origin } })
}

/** One raw HTTP request to the server, body streamed in chunks without a Content-Length. */
function postChunked(port: number, path: string, chunks: number, chunk: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    // The server may answer and hang up before the body ends: that is the point.
    req.on('error', () => {})
    req.on('close', () => resolve(0))
    let sent = 0
    const pump = (): void => {
      while (sent < chunks) {
        sent++
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
    setTimeout(() => reject(new Error('no answer to the chunked request')), 10_000).unref()
  })
}

describe('security: a page on another origin', () => {
  it('can neither read nor change events through the store: 403, not retried, nothing changed', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { fetch: fetchFrom('https://evil.example') })
    await expect(store.refresh()).rejects.toMatchObject({ kind: 'http', status: 403, retryable: false })
    expect(store.events).toEqual([])
    const { confirmed } = store.create(makeSeed('from evil'))
    await expect(confirmed).rejects.toMatchObject({ kind: 'http', status: 403 })
    await expect(store.delete('a')).rejects.toMatchObject({ kind: 'http', status: 403 })
    expect(ids(server.events())).toEqual(['a', 'b'])
    expect(server.requests.count('create')).toBe(1)
  })

  it.each(['http://localhost:5173.evil.example', 'http://127.0.0.1@evil.example', 'http://[::1].evil.example', 'http://127.0.0.2', 'http://0.0.0.0:1000', 'https://evil.example:1000', 'null'])(
    'refuses the look-alike origin %s for reads and writes',
    async (origin) => {
      const server = await startServer({ events: initial })
      const client = createWorkstreamClient({ baseUrl: server.url, fetch: fetchFrom(origin) })
      await expect(client.snapshot()).rejects.toMatchObject({ status: 403 })
      await expect(client.create(makeSeed('x'))).rejects.toMatchObject({ status: 403 })
      await expect(client.delete('a')).rejects.toMatchObject({ status: 403 })
      expect(ids(server.events())).toEqual(['a', 'b'])
    },
  )

  it('refuses a cross-site form post (text/plain, no preflight) and creates nothing', async () => {
    const server = await startServer({ events: initial })
    const response = await fetch(`${server.url}/workstream_events/create`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: JSON.stringify(makeSeed('csrf')) })
    expect(response.status).toBe(403)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
    expect(ids(server.events())).toEqual(['a', 'b'])
  })
})

describe('security: ids stay in their path segment', () => {
  const hostileIds = ['a/b', '../create', '..%2Fcreate', 'x/../../create', '?transferables=false', 'a?b=c', '#', 'a#b', '%', '%2F', '%252F', '%00', 'create', 'delete', '/', '//', '\\..\\create', ' ', 'a b', '\u00e9\u{1F600}', '.a', 'a.', '...']

  it.each(hostileIds)('creates and deletes an event with the id %j, and only that event', async (id) => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const { confirmed } = store.create({ ...makeSeed('odd id'), internal_identifier: id })
    expect((await confirmed).id).toBe(id)
    expect(ids(server.events())).toEqual(['a', 'b', id].sort())
    await store.delete(id)
    const deletes = server.requests.log.filter((r) => r.route === 'delete')
    expect(deletes.map((r) => r.path)).toEqual([`/workstream_events/${encodeURIComponent(id)}/delete`])
    expect(server.requests.count('create')).toBe(1)
    expect(ids(server.events())).toEqual(['a', 'b'])
    await store.refresh()
    expect(ids(store.events)).toEqual(['a', 'b'])
  })

  it.each(['.', '..'])('refuses the id %j, which no URL path can address, with invalid-input', async (id) => {
    const server = await startServer({ events: initial })
    const client = createWorkstreamClient({ baseUrl: server.url })
    await expect(client.delete(id)).rejects.toMatchObject({ kind: 'invalid-input' })
    expect(server.requests.count()).toBe(0)
  })
})

describe('security: body sizes', () => {
  it('refuses a create over maxBodyBytes with 413, rolls it back and reports it', async () => {
    const server = await startServer({ events: initial, maxBodyBytes: 10_000 })
    const store = makeStore(server)
    await store.refresh()
    const { event, confirmed } = store.create(makeSeed('x'.repeat(20_000)))
    await expect(confirmed).rejects.toMatchObject({ kind: 'http', status: 413 })
    expect(store.get(event.id)).toBeUndefined()
    expect(store.outbox).toEqual([])
    expect(ids(server.events())).toEqual(['a', 'b'])
  })

  it('refuses a chunked body that grows past the cap, with no Content-Length to go by', async () => {
    const server = await startServer({ events: initial, maxBodyBytes: 64 * 1024 })
    const status = await postChunked(server.port, '/workstream_events/create', 256, 'x'.repeat(16 * 1024))
    expect([413, 0]).toContain(status)
    expect(ids(server.events())).toEqual(['a', 'b'])
  })
})

describe('security: logs', () => {
  const SECRETS = ['SECRET-READABLE', 'SECRET-TITLE', 'secret.example']
  const secretEvent = makeEvent('s', 3, { readable: 'SECRET-READABLE one', windowTitle: 'SECRET-TITLE one', browserUrl: 'https://secret.example/one' })

  function capturingSink(): LogSink & { lines: string[] } {
    const lines: string[] = []
    const line = (level: string) => (message: string, ...details: unknown[]): void => {
      lines.push(`${level} ${message} ${details.map((d) => (d instanceof Error ? `${d.message} ${String(d.cause)}` : JSON.stringify(d))).join(' ')}`)
    }
    return { lines, error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') }
  }

  /** Polls, creates, deletes, quarantines and bad answers that all carry content. */
  async function runEverything(logger: { level: 'debug'; sink: LogSink; includeContent?: boolean }): Promise<void> {
    const server = await startServer({ events: [...initial, secretEvent] })
    const store = makeStore(server, { logger })
    await store.refresh()
    const created = store.create({ ...makeSeed('SECRET-READABLE two'), internal_identifier: 'mine' })
    await created.confirmed
    // An invalid version of an event whose bad field quotes content, and an HTML page that shows it.
    server.faults.add('snapshot', { type: 'body', body: JSON.stringify({ iterable: [{ ...secretEvent, created: { value: 'SECRET-READABLE' } }] }) })
    await store.refresh()
    server.faults.add('snapshot', { type: 'body', body: '<html>SECRET-TITLE https://secret.example</html>', contentType: 'text/html' })
    await store.refresh().catch(() => {})
    server.faults.add('snapshot', { type: 'body', body: `{"iterable":[${JSON.stringify(secretEvent)}` })
    await store.refresh().catch(() => {})
    // Answers to mutations that echo content: an invalid create answer, an error body.
    server.faults.add('create', { type: 'body', body: '{"readable":"SECRET-READABLE three", "oops"' })
    await store.create(makeSeed('SECRET-READABLE three')).confirmed
    server.faults.add('delete', { type: 'status', status: 500, body: 'cannot delete SECRET-TITLE at https://secret.example' })
    await store.delete('s')
    server.faults.add('create', { type: 'status', status: 422, body: 'refused: SECRET-READABLE four' })
    await store.create(makeSeed('SECRET-READABLE four')).confirmed.catch(() => {})
    await store.refresh()
    expect(store.errors.length).toBeGreaterThanOrEqual(6)
  }

  it('logs no event content at the debug level by default, only kinds, statuses, paths, ids and counts', async () => {
    const sink = capturingSink()
    await runEverything({ level: 'debug', sink })
    expect(sink.lines.filter((l) => l.startsWith('debug')).length).toBeGreaterThan(5)
    expect(sink.lines.filter((l) => l.startsWith('warn') || l.startsWith('error')).length).toBeGreaterThanOrEqual(6)
    for (const line of sink.lines) for (const secret of SECRETS) expect(line).not.toContain(secret)
    expect(sink.lines.some((l) => /validation error \(at iterable\[0\]\.created\.value, event "s"\)/.test(l))).toBe(true)
  })

  it('traces each mutation at the debug level, and logs a refused one at the error level', async () => {
    const sink = capturingSink()
    const server = await startServer({ events: initial })
    const store = makeStore(server, { logger: { level: 'debug', sink } })
    await store.refresh()
    await store.create({ ...makeSeed('SECRET-READABLE five'), internal_identifier: 'traced' }).confirmed
    server.faults.add('delete', { type: 'status', status: 422 })
    await store.delete('a').catch(() => {})
    const mutationLines = sink.lines.filter((l) => / of event "(traced|a)"|^debug \[workstream-sync\] mutation /.test(l))
    expect(mutationLines.map((l) => l.replace(/ [0-9a-f-]{36}/g, ' <id>').trim())).toEqual([
      'debug [workstream-sync] create <id> of event "traced": queued',
      'debug [workstream-sync] create <id> of event "traced": queued -> sending (attempt 1)',
      'debug [workstream-sync] create <id> of event "traced": sending -> confirmed',
      'debug [workstream-sync] mutation <id> resolved',
      'debug [workstream-sync] delete <id> of event "a": queued',
      'debug [workstream-sync] delete <id> of event "a": queued -> sending (attempt 1)',
      'debug [workstream-sync] mutation <id> rejected (http)',
    ])
    expect(sink.lines.filter((l) => l.startsWith('error'))).toEqual([expect.stringMatching(/^error \[workstream-sync\] http error \(status 422, event "a", mutation /)])
    for (const line of sink.lines) for (const secret of SECRETS) expect(line).not.toContain(secret)
  })

  it('logs the full messages, content included, when includeContent is set', async () => {
    const sink = capturingSink()
    await runEverything({ level: 'debug', sink, includeContent: true })
    expect(sink.lines.some((l) => SECRETS.some((secret) => l.includes(secret)))).toBe(true)
  })

  afterEach(() => vi.restoreAllMocks())

  it('writes nothing to the console when no logger is set', async () => {
    const spies = (['error', 'warn', 'info', 'debug', 'log'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}))
    const server = await startServer({ events: [secretEvent] })
    const store = makeStore(server)
    await store.refresh()
    server.faults.add('snapshot', { type: 'malformed' })
    await store.refresh().catch(() => {})
    await store.create(makeSeed('SECRET-READABLE')).confirmed
    for (const spy of spies) expect(spy).not.toHaveBeenCalled()
  })
})

describe('DNS rebinding', () => {
  it('refuses a request whose Host header is not a loopback name, even without an Origin', async () => {
    const server = await startServer({ events: [] })
    {
      const status = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: server.port, path: '/workstream_events', headers: { host } }, (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          })
          req.on('error', reject)
          req.end()
        })
      expect(await status('attacker.example:' + server.port)).toBe(403)
      expect(await status('127.0.0.1:' + server.port)).toBe(200)
      expect(await status('localhost:' + server.port)).toBe(200)
    }
  })
})
