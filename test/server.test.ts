import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type CommandIo } from '../src/cli'
import type { Application, SeededWorkstreamEvent, WorkstreamEvent, WorkstreamEvents } from '../src/models'
import { runServeCommand, startWorkstreamServer, type WorkstreamServer, type WorkstreamServerOptions } from '../src/server/index'

const application: Application = {
  id: 'app-1',
  name: 'VS_CODE',
  version: '1.2.3',
  platform: 'LINUX',
  onboarded: true,
  privacy: 'OPEN',
}

function seed(overrides: Partial<SeededWorkstreamEvent> = {}): SeededWorkstreamEvent {
  return { application, trigger: { copy: true }, readable: 'copied a snippet', workstreamEventsVector: [0.25, 0.5], ...overrides }
}

function event(id: string, created: string, overrides: Partial<WorkstreamEvent> = {}): WorkstreamEvent {
  return {
    id,
    application,
    created: { value: created },
    updated: { value: created },
    trigger: { paste: true },
    workstreamEventsVector: [1, 2, 3],
    ...overrides,
  }
}

let server: WorkstreamServer | undefined
const temporaryDirectories: string[] = []

const runningCommands: { stop: () => void; exit: Promise<number> }[] = []

afterEach(async () => {
  for (const command of runningCommands.splice(0)) {
    command.stop()
    await command.exit
  }
  await server?.close()
  server = undefined
  await Promise.all(temporaryDirectories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

async function start(options: WorkstreamServerOptions = {}): Promise<WorkstreamServer> {
  server = await startWorkstreamServer(options)
  return server
}

async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'workstream-server-'))
  temporaryDirectories.push(dir)
  return dir
}

function call(path: string, init: RequestInit = {}): Promise<Response> {
  if (server === undefined) throw new Error('start a server first')
  return fetch(`${server.url}${path}`, init)
}

function post(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body)
  return call(path, init)
}

async function snapshot(query = ''): Promise<WorkstreamEvents> {
  const response = await call(`/workstream_events${query}`)
  expect(response.status).toBe(200)
  return (await response.json()) as WorkstreamEvents
}

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** A request whose path goes on the wire as written: fetch would normalise `..` and `%2E%2E`. */
function raw(method: string, path: string, body?: string): Promise<RawResponse> {
  if (server === undefined) throw new Error('start a server first')
  const { port } = server
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }),
      )
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** Encodes an id for a path segment, dots included, so that no URL parser can read it as `.` or `..`. */
function segment(id: string): string {
  return encodeURIComponent(id).replace(/\./g, '%2E')
}

describe('GET /workstream_events', () => {
  it('answers JSON with the events newest created first and an index for each id', async () => {
    await start({
      events: [
        event('old', '2024-01-01T00:00:00.000Z'),
        event('new', '2024-03-01T00:00:00.000Z'),
        event('middle', '2024-02-01T00:00:00.000Z'),
      ],
    })
    const response = await call('/workstream_events')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const body = (await response.json()) as WorkstreamEvents
    expect(body.iterable.map((item) => item.id)).toEqual(['new', 'middle', 'old'])
    expect(body.indices).toEqual({ new: 0, middle: 1, old: 2 })
    expect(body.iterable[0]).toEqual(event('new', '2024-03-01T00:00:00.000Z'))
  })

  it('sends a Content-Length that matches the body', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z', { readable: 'ünïcode ✓' })] })
    const response = await raw('GET', '/workstream_events')
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.body))
  })

  it('leaves out workstreamEventsVector with transferables=false and keeps it otherwise', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z')] })
    const light = await snapshot('?transferables=false')
    expect(light.iterable[0]).not.toHaveProperty('workstreamEventsVector')
    expect(light.iterable[0]?.id).toBe('a')
    expect((await snapshot('?transferables=true')).iterable[0]?.workstreamEventsVector).toEqual([1, 2, 3])
    expect((await snapshot()).iterable[0]?.workstreamEventsVector).toEqual([1, 2, 3])
  })

  it('answers 400 when transferables is neither true nor false', async () => {
    await start()
    const response = await call('/workstream_events?transferables=yes')
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: string }).error).toMatch(/transferables/)
  })

  it('serves an empty iterable when there are no events', async () => {
    await start()
    expect(await snapshot()).toEqual({ iterable: [], indices: {} })
  })

  it('serves each change in the next snapshot, in both forms', async () => {
    let clock = Date.parse('2024-05-01T00:00:00.000Z')
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z')], now: () => clock })
    await snapshot()
    await snapshot('?transferables=false')

    server?.create(seed({ internal_identifier: 'b' }))
    clock += 1000
    server?.update('a', { readable: 'changed elsewhere' })
    expect((await snapshot()).iterable.map((item) => [item.id, item.readable])).toEqual([
      ['b', 'copied a snippet'],
      ['a', 'changed elsewhere'],
    ])
    expect((await snapshot('?transferables=false')).iterable[1]?.readable).toBe('changed elsewhere')

    server?.delete('b')
    expect((await snapshot('?transferables=false')).iterable.map((item) => item.id)).toEqual(['a'])
  })
})

describe('POST /workstream_events/create', () => {
  it('creates an event with the server id and timestamps and the seed fields', async () => {
    const now = Date.parse('2024-06-01T12:00:00.000Z')
    await start({ now: () => now, generateId: () => 'server-id', honourInternalIdentifier: false })
    const summary = { id: 'summary-1' }
    const response = await post('/workstream_events/create', seed({ summary, context: {}, internal_identifier: 'ignored' }))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const created = (await response.json()) as WorkstreamEvent
    expect(created).toEqual({
      id: 'server-id',
      application,
      created: { value: '2024-06-01T12:00:00.000Z' },
      updated: { value: '2024-06-01T12:00:00.000Z' },
      trigger: { copy: true },
      context: {},
      summaries: { iterable: [summary] },
      readable: 'copied a snippet',
      workstreamEventsVector: [0.25, 0.5],
    })
    expect(created).not.toHaveProperty('internal_identifier')
    expect((await snapshot()).iterable).toEqual([created])
  })

  it('uses internal_identifier as the id by default', async () => {
    await start()
    const created = (await (await post('/workstream_events/create', seed({ internal_identifier: 'client-1' }))).json()) as WorkstreamEvent
    expect(created.id).toBe('client-1')
    expect(server?.events().map((item) => item.id)).toEqual(['client-1'])
  })

  it('assigns a fresh UUID when there is no internal_identifier', async () => {
    await start()
    const created = (await (await post('/workstream_events/create', seed())).json()) as WorkstreamEvent
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('answers 409 and changes nothing when an event already has the id', async () => {
    await start({ events: [event('taken', '2024-01-01T00:00:00.000Z')] })
    const before = server?.events()
    const response = await post('/workstream_events/create', seed({ internal_identifier: 'taken', readable: 'other' }))
    expect(response.status).toBe(409)
    expect(((await response.json()) as { error: string }).error).toMatch(/already exists/)
    expect(server?.events()).toEqual(before)
  })

  it('leaves the vector out of the answer with transferables=false but stores it', async () => {
    await start()
    const response = await post('/workstream_events/create?transferables=false', seed({ internal_identifier: 'x' }))
    expect(await response.json()).not.toHaveProperty('workstreamEventsVector')
    expect(server?.events()[0]?.workstreamEventsVector).toEqual([0.25, 0.5])
  })

  it('answers 400 with a JSON error for a body that is not JSON, or none', async () => {
    await start()
    for (const body of ['{"application":', '']) {
      const response = await post('/workstream_events/create', body)
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(((await response.json()) as { error: string }).error).toMatch(/JSON/)
    }
    expect(server?.events()).toEqual([])
  })

  it('answers 400 naming the path of the problem for a seed that does not validate', async () => {
    await start()
    const response = await post('/workstream_events/create', { ...seed(), application: { ...application, onboarded: 'yes' } })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: string }).error).toMatch(/application\.onboarded/)
    const notAnObject = await post('/workstream_events/create', [seed()])
    expect(notAnObject.status).toBe(400)
    expect(server?.events()).toEqual([])
  })

  it('answers 413 and changes nothing for a body over maxBodyBytes', async () => {
    await start({ maxBodyBytes: 500 })
    const big = seed({ internal_identifier: 'big', readable: 'x'.repeat(5000) })
    const response = await post('/workstream_events/create', big)
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: string }).error).toMatch(/limit of 500/)
    expect(server?.events()).toEqual([])
    expect((await post('/workstream_events/create', seed({ internal_identifier: 'small' }))).status).toBe(200)
  })

  it('accepts a body of up to 1 MiB by default and refuses a larger one', async () => {
    await start()
    const vector = (bytes: number): number[] => Array.from({ length: Math.floor(bytes / 2) }, () => 0)
    expect((await post('/workstream_events/create', seed({ internal_identifier: 'fits', workstreamEventsVector: vector(1000_000) }))).status).toBe(200)
    expect((await post('/workstream_events/create', seed({ internal_identifier: 'over', workstreamEventsVector: vector(1100_000) }))).status).toBe(413)
    expect(server?.events().map((item) => item.id)).toEqual(['fits'])
  })
})

describe('POST /workstream_events/{id}/delete', () => {
  it('deletes the event and answers 204 with an empty body', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z'), event('b', '2024-01-02T00:00:00.000Z')] })
    const response = await post('/workstream_events/a/delete')
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    expect((await snapshot()).iterable.map((item) => item.id)).toEqual(['b'])
  })

  it('answers 404 with a JSON error for an unknown id', async () => {
    await start()
    const response = await post('/workstream_events/nope/delete')
    expect(response.status).toBe(404)
    expect(((await response.json()) as { error: string }).error).toMatch(/"nope"/)
  })

  it('answers 500 with a text body for an unknown id when unknownDeleteStatus is 500, as Pieces OS does', async () => {
    await start({ unknownDeleteStatus: 500 })
    const response = await post('/workstream_events/nope/delete')
    expect(response.status).toBe(500)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await response.text()).toMatch(/nope/)
  })

  it.each(['a/b', '..', '.', 'a?b=1&c', 'a#b', '100%', '%2F', 'create', ' spaced out ', 'ünï ✓'])(
    'round-trips the id %j through create, snapshot and delete',
    async (id) => {
      await start({ events: [event('bystander', '2024-01-01T00:00:00.000Z')] })
      expect((await post('/workstream_events/create', seed({ internal_identifier: id }))).status).toBe(200)
      expect((await snapshot()).indices).toEqual({ [id]: 0, bystander: 1 })
      expect((await raw('POST', `/workstream_events/${segment(id)}/delete`)).status).toBe(204)
      expect(server?.events().map((item) => item.id)).toEqual(['bystander'])
    },
  )

  it('does not let a raw slash, dot segments or extra segments reach another route', async () => {
    const ids = ['a', 'b', 'a/b', 'x', '..', 'workstream_events']
    await start({ events: ids.map((id, index) => event(id, `2024-01-0${index + 1}T00:00:00.000Z`)) })
    const before = server?.events()
    for (const path of [
      '/workstream_events/a/b/delete',
      '/workstream_events/../delete',
      '/workstream_events/./delete',
      '/workstream_events//delete',
      '/workstream_events/x/delete/',
      '/workstream_events/x/delete/extra',
      '/workstream_events/create/../x/delete',
      '/workstream_events/../workstream_events/x/delete',
      '/workstream_events/x/../create',
      '/x/delete',
      '/workstream_events/x/delete%2F',
    ]) {
      const response = await raw('POST', path, '{}')
      expect([path, response.status]).toEqual([path, 404])
    }
    expect(server?.events()).toEqual(before)
  })

  it('answers 400 for an id that is not valid percent-encoding', async () => {
    await start()
    expect((await raw('POST', '/workstream_events/%E0%A4%A/delete')).status).toBe(400)
  })
})

describe('routing', () => {
  it('answers 404 with a JSON error for an unknown path', async () => {
    await start()
    for (const path of ['/', '/workstream_event', '/workstream_events/', '/workstream_events/create/x', '/assets']) {
      const response = await call(path)
      expect(response.status).toBe(404)
      expect(((await response.json()) as { error: string }).error).toMatch(/No route/)
    }
  })

  it('answers 405 with Allow for a known path and the wrong method, changing nothing', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z')] })
    const cases: [string, string, string][] = [
      ['POST', '/workstream_events', 'GET, OPTIONS'],
      ['GET', '/workstream_events/create', 'POST, OPTIONS'],
      ['PUT', '/workstream_events/create', 'POST, OPTIONS'],
      ['DELETE', '/workstream_events/a/delete', 'POST, OPTIONS'],
      ['GET', '/workstream_events/a/delete', 'POST, OPTIONS'],
    ]
    for (const [method, path, allow] of cases) {
      const response = await call(path, { method })
      expect([method, path, response.status, response.headers.get('allow')]).toEqual([method, path, 405, allow])
      expect((await response.json()) as { error: string }).toHaveProperty('error')
    }
    expect(server?.events().map((item) => item.id)).toEqual(['a'])
  })
})

describe('CORS', () => {
  it.each(['http://localhost:5173', 'http://127.0.0.1:3000', 'https://[::1]:8443', 'http://localhost'])(
    'allows the loopback origin %s and echoes it',
    async (origin) => {
      await start()
      const response = await call('/workstream_events', { headers: { origin } })
      expect(response.status).toBe(200)
      expect(response.headers.get('access-control-allow-origin')).toBe(origin)
      expect(response.headers.get('vary')).toBe('Origin')
    },
  )

  it('answers a preflight with 204, the methods, and the Content-Type and X-Application-ID headers', async () => {
    await start()
    const response = await call('/workstream_events/create', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-application-id',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS')
    expect(response.headers.get('access-control-allow-headers')).toBe('Content-Type, X-Application-ID')
    expect(response.headers.get('vary')).toBe('Origin')
  })

  it('refuses another origin with 403 and no allow-origin for GET, POST and preflight, changing nothing', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z')] })
    const origin = 'https://evil.example'
    const responses = [
      await call('/workstream_events', { headers: { origin } }),
      await post('/workstream_events/create', seed({ internal_identifier: 'evil' }), { origin }),
      await post('/workstream_events/a/delete', undefined, { origin }),
      await call('/workstream_events/create', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } }),
    ]
    for (const response of responses) {
      expect(response.status).toBe(403)
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
    }
    expect(((await responses[0]?.json()) as { error: string }).error).toMatch(/allowedOrigins/)
    expect(server?.events().map((item) => item.id)).toEqual(['a'])
  })

  it('refuses look-alike and opaque origins by default', async () => {
    await start()
    for (const origin of ['http://localhost.evil.example', 'http://127.0.0.1.evil.example', 'null', 'file://']) {
      expect((await call('/workstream_events', { headers: { origin } })).status).toBe(403)
    }
  })

  it('allows the origins given as strings, patterns or a predicate, and only those', async () => {
    await start({ allowedOrigins: ['https://app.example', /^https:\/\/[a-z]+\.preview\.example$/g] })
    for (const origin of ['https://app.example', 'https://pr.preview.example', 'https://pr.preview.example']) {
      expect((await call('/workstream_events', { headers: { origin } })).headers.get('access-control-allow-origin')).toBe(origin)
    }
    expect((await call('/workstream_events', { headers: { origin: 'http://localhost:5173' } })).status).toBe(403)
    await server?.close()

    await start({ allowedOrigins: (origin) => origin.endsWith('.trusted.example') })
    expect((await call('/workstream_events', { headers: { origin: 'https://a.trusted.example' } })).status).toBe(200)
    expect((await call('/workstream_events', { headers: { origin: 'https://a.untrusted.example' } })).status).toBe(403)
  })

  it('serves requests that have no Origin, as Node clients send them', async () => {
    await start()
    const response = await call('/workstream_events')
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('direct access', () => {
  it('creates, updates and deletes with the same rules as the HTTP API', async () => {
    let clock = Date.parse('2024-06-01T00:00:00.000Z')
    await start({ now: () => clock })
    const created = server?.create(seed({ internal_identifier: 'd1' }))
    expect(created?.created.value).toBe('2024-06-01T00:00:00.000Z')
    expect(() => server?.create(seed({ internal_identifier: 'd1' }))).toThrow(/already exists/)
    expect(() => server?.create({ ...seed(), trigger: 'copy' } as unknown as SeededWorkstreamEvent)).toThrow(/trigger/)

    clock += 5000
    const updated = server?.update('d1', { readable: 'edited', workstreamEventsVector: undefined })
    expect(updated?.updated.value).toBe('2024-06-01T00:00:05.000Z')
    expect(updated?.created.value).toBe('2024-06-01T00:00:00.000Z')
    expect(updated).not.toHaveProperty('workstreamEventsVector')
    expect((await snapshot()).iterable).toEqual([updated])
    expect(() => server?.update('d1', { id: 'other' })).toThrow(/cannot change the id/)
    expect(() => server?.update('d1', { created: { value: 'yesterday' } })).toThrow(/created\.value/)
    expect(server?.update('missing', { readable: 'x' })).toBeUndefined()

    expect(server?.delete('d1')).toBe(true)
    expect(server?.delete('d1')).toBe(false)
    expect((await snapshot()).iterable).toEqual([])
  })

  it('reorders the snapshot when an update moves created', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z'), event('b', '2024-01-02T00:00:00.000Z')] })
    server?.update('a', { created: { value: '2024-01-03T00:00:00.000Z' } })
    expect((await snapshot()).indices).toEqual({ a: 0, b: 1 })
  })

  it('hands out copies, so changing them does not change the server', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z')] })
    const [copy] = server?.events() ?? []
    if (copy === undefined) throw new Error('expected an event')
    copy.readable = 'mutated'
    copy.workstreamEventsVector?.push(99)
    expect(server?.events()[0]).toEqual(event('a', '2024-01-01T00:00:00.000Z'))
  })

  it('refuses initial events that are invalid or share an id', async () => {
    await expect(startWorkstreamServer({ events: [{ ...event('a', '2024-01-01T00:00:00.000Z'), id: '' }] })).rejects.toThrow(/events\[0\]\.id/)
    await expect(
      startWorkstreamServer({ events: [event('a', '2024-01-01T00:00:00.000Z'), event('a', '2024-01-02T00:00:00.000Z')] }),
    ).rejects.toThrow(/twice/)
  })

  it('refuses changes once closed', async () => {
    const closed = await start()
    await closed.close()
    expect(() => closed.create(seed())).toThrow(/closed/)
  })
})

describe('requests', () => {
  it('counts requests per route and logs method, path, query and headers', async () => {
    await start({ events: [event('a', '2024-01-01T00:00:00.000Z')] })
    await call('/workstream_events?transferables=false', { headers: { 'x-application-id': 'app-9' } })
    await post('/workstream_events/create', seed())
    await post('/workstream_events/a%2Fb/delete')
    await call('/nowhere')
    expect(server?.requests.count()).toBe(4)
    expect(server?.requests.count('snapshot')).toBe(1)
    expect(server?.requests.count('create')).toBe(1)
    expect(server?.requests.count('delete')).toBe(1)
    const [first, , third, fourth] = server?.requests.log ?? []
    expect(first).toMatchObject({ method: 'GET', path: '/workstream_events', query: { transferables: 'false' }, route: 'snapshot' })
    expect(first?.headers['x-application-id']).toBe('app-9')
    expect(third).toMatchObject({ path: '/workstream_events/a%2Fb/delete', route: 'delete' })
    expect(fourth?.route).toBeUndefined()

    server?.requests.reset()
    expect(server?.requests.count()).toBe(0)
    expect(server?.requests.log).toEqual([])
  })

  it('keeps only the last 1000 requests in the log but counts them all', async () => {
    await start()
    for (let index = 0; index < 5; index += 1) await call(`/workstream_events?early=${index}`)
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(Array.from({ length: 100 }, async () => (await call('/workstream_events?late=1')).text()))
    }
    expect(server?.requests.count('snapshot')).toBe(1005)
    expect(server?.requests.log).toHaveLength(1000)
    expect(server?.requests.log.every((request) => request.query['late'] === '1')).toBe(true)
  })
})

describe('close', () => {
  it('resolves while a client holds an idle keep-alive connection', async () => {
    const running = await start()
    await (await call('/workstream_events')).text()
    await running.close()
    await expect(fetch(`${running.url}/workstream_events`)).rejects.toThrow()
  })

  it('can be called twice', async () => {
    const running = await start()
    await Promise.all([running.close(), running.close()])
  })
})

describe('dataFile', () => {
  it('writes the initial events to a new data file and loads them after a restart', async () => {
    const dataFile = join(await temporaryDirectory(), 'events.json')
    await (await start({ dataFile, events: [event('a', '2024-01-01T00:00:00.000Z')] })).close()
    expect(JSON.parse(await readFile(dataFile, 'utf8'))).toMatchObject({ iterable: [{ id: 'a' }] })

    await start({ dataFile, events: [event('ignored', '2024-01-01T00:00:00.000Z')] })
    expect(server?.events().map((item) => item.id)).toEqual(['a'])
  })

  it('keeps creates, updates and deletes across a restart', async () => {
    const dataFile = join(await temporaryDirectory(), 'events.json')
    await start({ dataFile, events: [event('a', '2024-01-01T00:00:00.000Z'), event('b', '2024-01-02T00:00:00.000Z')] })
    await post('/workstream_events/create', seed({ internal_identifier: 'c' }))
    await post('/workstream_events/a/delete')
    server?.update('b', { readable: 'kept' })
    const before = server?.events()
    await server?.close()

    await start({ dataFile })
    expect(server?.events()).toEqual(before)
    expect(server?.events().map((item) => item.id)).toEqual(['c', 'b'])
  })

  it('starts from the initial events when the data file is empty', async () => {
    const dataFile = join(await temporaryDirectory(), 'events.json')
    await writeFile(dataFile, '')
    await start({ dataFile, events: [event('a', '2024-01-01T00:00:00.000Z')] })
    expect(server?.events().map((item) => item.id)).toEqual(['a'])
  })

  it('refuses to start on a data file it cannot read, naming the problem', async () => {
    const dir = await temporaryDirectory()
    const cases: [string, RegExp][] = [
      ['{"iterable": [', /not JSON/],
      ['{"events": []}', /"iterable"/],
      [JSON.stringify({ iterable: [{ ...event('a', '2024-01-01T00:00:00.000Z'), created: 5 }] }), /iterable\[0\]\.created/],
    ]
    for (const [index, [content, problem]] of cases.entries()) {
      const dataFile = join(dir, `bad-${index}.json`)
      await writeFile(dataFile, content)
      await expect(startWorkstreamServer({ dataFile })).rejects.toThrow(problem)
      expect(await readFile(dataFile, 'utf8')).toBe(content)
    }
  })

  it('replaces the file atomically: a reader never sees a partial file and no temporary file is left', async () => {
    const dir = await temporaryDirectory()
    const dataFile = join(dir, 'events.json')
    const vector = Array.from({ length: 2000 }, (_, index) => index / 3)
    await start({ dataFile, events: [event('first', '2024-01-01T00:00:00.000Z', { workstreamEventsVector: vector })] })
    const writes = Array.from({ length: 40 }, (_, index) =>
      post('/workstream_events/create', seed({ internal_identifier: `e${index}`, workstreamEventsVector: vector })),
    )
    let reads = 0
    const pending = Promise.all(writes)
    let settled = false
    void pending.then(() => (settled = true))
    while (!settled && reads < 500) {
      const content = await readFile(dataFile, 'utf8')
      expect(() => JSON.parse(content)).not.toThrow()
      reads += 1
    }
    await pending
    await server?.close()
    expect(JSON.parse(await readFile(dataFile, 'utf8')).iterable).toHaveLength(41)
    expect(await readdir(dir)).toEqual(['events.json'])
  })
})

describe('serve command', () => {
  interface Terminal extends CommandIo {
    out(): string
    err(): string
    stop(): void
    /** Resolves with the URL once the command prints it. */
    listening: Promise<string>
  }

  function terminal(): Terminal {
    let out = ''
    let err = ''
    const stop = new AbortController()
    let announce: (url: string) => void = () => undefined
    const listening = new Promise<string>((resolve) => (announce = resolve))
    return {
      stdout: (text) => {
        out += text
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
        if (url !== undefined) announce(url)
      },
      stderr: (text) => (err += text),
      signal: stop.signal,
      out: () => out,
      err: () => err,
      stop: () => stop.abort(),
      listening,
    }
  }

  /** Runs a command that keeps running until stopped; afterEach stops it if a test did not. */
  function launch(run: (io: Terminal) => Promise<number>): { io: Terminal; exit: Promise<number> } {
    const io = terminal()
    const exit = run(io)
    runningCommands.push({ stop: io.stop, exit })
    return { io, exit }
  }

  it('serves sample events, prints the URL and stops on the signal', async () => {
    const { io, exit } = launch((io) => runServeCommand(['--sample', '3'], io))
    const url = await io.listening
    const body = (await (await fetch(`${url}/workstream_events`)).json()) as WorkstreamEvents
    expect(body.iterable).toHaveLength(3)
    // Samples are recent, so that a feed shows them as minutes old, not as of a fixed date.
    const newest = Math.max(...body.iterable.map((e) => Date.parse(e.created.value)))
    expect(Date.now() - newest).toBeLessThan(86_400_000)
    io.stop()
    expect(await exit).toBe(0)
    expect(io.out()).toMatch(/Stopped/)
    await expect(fetch(`${url}/workstream_events`)).rejects.toThrow()
  })

  it('keeps events in --data and does not add samples to a file that has some', async () => {
    const dataFile = join(await temporaryDirectory(), 'serve.json')
    const first = launch((io) => runServeCommand(['--data', dataFile, '--sample', '2', '--host', '127.0.0.1'], io))
    const url = await first.io.listening
    await fetch(`${url}/workstream_events/create`, { method: 'POST', body: JSON.stringify(seed({ internal_identifier: 'mine' })) })
    first.io.stop()
    expect(await first.exit).toBe(0)

    const second = launch((io) => runServeCommand(['--data', dataFile, '--sample', '50'], io))
    const body = (await (await fetch(`${await second.io.listening}/workstream_events`)).json()) as WorkstreamEvents
    expect(body.iterable).toHaveLength(3)
    expect(body.iterable[0]?.id).toBe('mine')
    second.io.stop()
    expect(await second.exit).toBe(0)
  })

  it('prints its usage for --help and exits 2 with the usage for bad options', async () => {
    const help = terminal()
    expect(await runServeCommand(['--help'], help)).toBe(0)
    expect(help.out()).toMatch(/--sample N/)
    for (const argv of [['--port', 'abc'], ['--port', '70000'], ['--sample', '-1'], ['--bogus'], ['extra']]) {
      const bad = terminal()
      expect(await runServeCommand(argv, bad)).toBe(2)
      expect(bad.err()).toMatch(/Usage: workstream-sync serve/)
    }
  })

  it('exits 1 with the reason when the data file cannot be loaded', async () => {
    const dataFile = join(await temporaryDirectory(), 'broken.json')
    await writeFile(dataFile, 'not json')
    const broken = terminal()
    expect(await runServeCommand(['--data', dataFile], broken)).toBe(1)
    expect(broken.err()).toMatch(/cannot be loaded/)
  })

  it('is dispatched by the CLI, which lists its commands and refuses unknown ones', async () => {
    const help = terminal()
    expect(await runCli(['--help'], help)).toBe(0)
    expect(help.out()).toMatch(/serve +run a Pieces-compatible/)

    const commandHelp = terminal()
    expect(await runCli(['help', 'serve'], commandHelp)).toBe(0)
    expect(commandHelp.out()).toMatch(/Usage: workstream-sync serve/)

    const none = terminal()
    expect(await runCli([], none)).toBe(2)
    expect(none.err()).toMatch(/Usage: workstream-sync <command>/)

    const unknown = terminal()
    expect(await runCli(['toString'], unknown)).toBe(2)
    expect(unknown.err()).toMatch(/unknown command "toString"/)

    const serve = launch((io) => runCli(['serve', '--sample', '0'], io))
    const body = (await (await fetch(`${await serve.io.listening}/workstream_events`)).json()) as WorkstreamEvents
    expect(body.iterable).toEqual([])
    serve.io.stop()
    expect(await serve.exit).toBe(0)
  })
})
