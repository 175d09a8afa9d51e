import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Application, SeededWorkstreamEvent, WorkstreamEvent } from '../src/models'
import { startWorkstreamServer, type WorkstreamServer, type WorkstreamServerOptions } from '../src/server/index'

const application: Application = {
  id: 'app-1',
  name: 'VS_CODE',
  version: '1.2.3',
  platform: 'LINUX',
  onboarded: true,
  privacy: 'OPEN',
}

function seed(id: string): SeededWorkstreamEvent {
  return { application, trigger: { copy: true }, internal_identifier: id, readable: `event ${id}`, workstreamEventsVector: [0.5] }
}

function event(id: string, created: string): WorkstreamEvent {
  return { id, application, created: { value: created }, updated: { value: created }, trigger: { paste: true }, readable: `event ${id}` }
}

const EVENTS = [event('a', '2024-01-02T00:00:00.000Z'), event('b', '2024-01-01T00:00:00.000Z')]

let server: WorkstreamServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(options: WorkstreamServerOptions = { events: EVENTS }): Promise<WorkstreamServer> {
  server = await startWorkstreamServer(options)
  return server
}

function running(): WorkstreamServer {
  if (server === undefined) throw new Error('start a server first')
  return server
}

const snapshot = (): Promise<Response> => fetch(`${running().url}/workstream_events`)
const create = (id: string): Promise<Response> =>
  fetch(`${running().url}/workstream_events/create`, { method: 'POST', body: JSON.stringify(seed(id)) })
const remove = (id: string): Promise<Response> =>
  fetch(`${running().url}/workstream_events/${encodeURIComponent(id)}/delete`, { method: 'POST' })
const ids = (): string[] => running().events().map((item) => item.id)

/** The body as it arrives, chunk by chunk, and what the server held when the first chunk came. */
function readChunks(method: string, path: string, body?: string): Promise<{ chunks: Buffer[]; idsAtFirstChunk: string[] }> {
  const { port } = running()
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, agent: false }, (response) => {
      const chunks: Buffer[] = []
      let idsAtFirstChunk: string[] = []
      response.on('data', (chunk: Buffer) => {
        if (chunks.length === 0) idsAtFirstChunk = ids()
        chunks.push(chunk)
      })
      response.on('end', () => resolve({ chunks, idsAtFirstChunk }))
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

describe('status faults', () => {
  it('answers with the status and a JSON error, and changes nothing', async () => {
    await start()
    running().faults.add('create', { type: 'status', status: 503 })
    const response = await create('c')
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ error: 'Injected fault: status 503.' })
    expect(ids()).toEqual(['a', 'b'])
    expect((await create('c')).status).toBe(200)
  })

  it('answers with a given body as text', async () => {
    await start()
    running().faults.add('delete', { type: 'status', status: 500, body: 'Pieces OS fell over' })
    const response = await remove('a')
    expect(response.status).toBe(500)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await response.text()).toBe('Pieces OS fell over')
    expect(ids()).toEqual(['a', 'b'])
  })
})

describe('scripting', () => {
  it('applies a fault the given number of times, counting down pending', async () => {
    await start()
    const { faults } = running()
    faults.add('snapshot', { type: 'status', status: 502 }, { times: 2 })
    expect(faults.pending('snapshot')).toBe(2)
    expect((await snapshot()).status).toBe(502)
    expect(faults.pending('snapshot')).toBe(1)
    expect((await snapshot()).status).toBe(502)
    expect(faults.pending()).toBe(0)
    expect((await snapshot()).status).toBe(200)
  })

  it('keeps a fault added with times: Infinity until it is cleared', async () => {
    await start()
    const { faults } = running()
    faults.add('snapshot', { type: 'status', status: 500 }, { times: Infinity })
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await snapshot()).status).toBe(500)
    expect(faults.pending('snapshot')).toBe(Infinity)
    faults.clear('snapshot')
    expect((await snapshot()).status).toBe(200)
  })

  it('applies faults in the order they were added', async () => {
    await start()
    running().faults.add('snapshot', { type: 'status', status: 500 })
    running().faults.add('*', { type: 'status', status: 503 })
    running().faults.add('snapshot', { type: 'status', status: 504 })
    expect([(await snapshot()).status, (await snapshot()).status, (await snapshot()).status, (await snapshot()).status]).toEqual([
      500, 503, 504, 200,
    ])
  })

  it('applies a route fault only to its route and a "*" fault to any route', async () => {
    await start()
    const { faults } = running()
    faults.add('delete', { type: 'status', status: 500 })
    expect((await snapshot()).status).toBe(200)
    expect((await create('c')).status).toBe(200)
    expect(faults.pending('delete')).toBe(1)
    expect((await remove('c')).status).toBe(500)

    faults.add('*', { type: 'status', status: 429 }, { times: 3 })
    expect(faults.pending('create')).toBe(3)
    expect(faults.pending('*')).toBe(3)
    expect([(await create('d')).status, (await remove('a')).status, (await snapshot()).status]).toEqual([429, 429, 429])
    expect(ids()).toEqual(['c', 'a', 'b'])
  })

  it('counts pending per route, for "*" alone, and in all', async () => {
    await start()
    const { faults } = running()
    faults.add('create', { type: 'malformed' }, { times: 2 })
    faults.add('*', { type: 'latency', ms: 1 })
    faults.add('delete', { type: 'truncated' })
    expect([faults.pending('create'), faults.pending('delete'), faults.pending('snapshot'), faults.pending('*'), faults.pending()]).toEqual([
      3, 2, 1, 1, 4,
    ])
    faults.clear('*')
    expect(faults.pending()).toBe(3)
    faults.clear()
    expect(faults.pending()).toBe(0)
  })

  it('consumes one latency and one other fault per request', async () => {
    await start()
    const { faults } = running()
    faults.add('snapshot', { type: 'latency', ms: 1 })
    faults.add('snapshot', { type: 'status', status: 500 })
    faults.add('snapshot', { type: 'status', status: 503 })
    expect((await snapshot()).status).toBe(500)
    expect(faults.pending('snapshot')).toBe(1)
    expect((await snapshot()).status).toBe(503)
  })

  it('leaves faults pending for requests refused before they reach a route', async () => {
    await start({ events: EVENTS, maxBodyBytes: 300 })
    const { faults, url } = running()
    faults.add('*', { type: 'status', status: 500 })
    await fetch(`${url}/nowhere`)
    await fetch(`${url}/workstream_events/create`)
    await fetch(`${url}/workstream_events`, { headers: { origin: 'https://evil.example' } })
    await fetch(`${url}/workstream_events/create`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3000' } })
    await fetch(`${url}/workstream_events/create`, { method: 'POST', body: 'x'.repeat(1000) })
    expect(faults.pending()).toBe(1)
  })

  it('refuses a fault it cannot apply', async () => {
    await start()
    const { faults } = running()
    expect(() => faults.add('create', { type: 'status', status: 5000 })).toThrow(/status/)
    expect(() => faults.add('create', { type: 'latency', ms: -1 })).toThrow(/latency/)
    expect(() => faults.add('create', { type: 'trickle', chunkBytes: 0, intervalMs: 1 })).toThrow(/chunkBytes/)
    expect(() => faults.add('create', { type: 'malformed' }, { times: 0 })).toThrow(/times/)
    expect(() => faults.add('snapshots' as 'snapshot', { type: 'malformed' })).toThrow(/target/)
    expect(faults.pending()).toBe(0)
  })
})

describe('latency', () => {
  it('delays the answer, then handles the request normally', async () => {
    await start()
    running().faults.add('create', { type: 'latency', ms: 50 })
    const started = performance.now()
    const response = await create('slow')
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    expect(response.status).toBe(200)
    expect(ids()).toContain('slow')
  })
})

describe('dropped connections', () => {
  it('drop-before-commit hangs up without creating or deleting', async () => {
    await start()
    running().faults.add('*', { type: 'drop-before-commit' }, { times: 2 })
    await expect(create('c')).rejects.toThrow()
    await expect(remove('a')).rejects.toThrow()
    expect(ids()).toEqual(['a', 'b'])
  })

  it('drop-after-commit creates or deletes, then hangs up so the answer is lost', async () => {
    await start()
    running().faults.add('*', { type: 'drop-after-commit' }, { times: 2 })
    await expect(create('c')).rejects.toThrow()
    await expect(remove('a')).rejects.toThrow()
    expect(ids()).toEqual(['c', 'b'])
  })
})

describe('bad bodies', () => {
  it('malformed answers 200 JSON that does not parse, and changes nothing', async () => {
    await start()
    running().faults.add('*', { type: 'malformed' }, { times: 2 })
    const response = await snapshot()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const text = await response.text()
    expect(() => JSON.parse(text)).toThrow(SyntaxError)
    expect((await create('c')).status).toBe(200)
    expect(ids()).toEqual(['a', 'b'])
  })

  it('truncated sends the first half of the real snapshot', async () => {
    await start()
    const whole = await (await snapshot()).text()
    running().faults.add('snapshot', { type: 'truncated' })
    const response = await snapshot()
    expect(response.status).toBe(200)
    const half = await response.text()
    expect(half).toBe(whole.slice(0, Math.floor(whole.length / 2)))
    expect(() => JSON.parse(half)).toThrow(SyntaxError)
  })

  it('truncated creates the event before cutting the answer, and leaves the empty delete answer alone', async () => {
    await start()
    running().faults.add('*', { type: 'truncated' }, { times: 2 })
    const response = await create('c')
    expect(response.status).toBe(200)
    await expect(response.json()).rejects.toThrow(SyntaxError)
    expect(ids()).toContain('c')
    expect((await remove('c')).status).toBe(204)
    expect(ids()).toEqual(['a', 'b'])
  })

  it('body sends any raw response and changes nothing', async () => {
    await start()
    const { faults } = running()
    faults.add('snapshot', { type: 'body', body: '{"iterable": "not an array"}' })
    faults.add('create', { type: 'body', status: 201, body: new Uint8Array([0xff, 0xfe, 0x00]), contentType: 'application/octet-stream' })
    const hostile = await snapshot()
    expect([hostile.status, hostile.headers.get('content-type')]).toEqual([200, 'application/json; charset=utf-8'])
    expect(await hostile.json()).toEqual({ iterable: 'not an array' })
    const binary = await create('c')
    expect([binary.status, binary.headers.get('content-type')]).toEqual([201, 'application/octet-stream'])
    expect(new Uint8Array(await binary.arrayBuffer())).toEqual(new Uint8Array([0xff, 0xfe, 0x00]))
    expect(ids()).toEqual(['a', 'b'])
  })
})

describe('trickle', () => {
  it('sends the whole snapshot in small chunks', async () => {
    await start()
    const whole = await (await snapshot()).text()
    running().faults.add('snapshot', { type: 'trickle', chunkBytes: 64, intervalMs: 2 })
    const { chunks } = await readChunks('GET', '/workstream_events')
    expect(Buffer.concat(chunks).toString()).toBe(whole)
    expect(chunks.length).toBeGreaterThan(1)
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(64)
  })

  it('commits a create before the first chunk of its answer', async () => {
    await start()
    running().faults.add('create', { type: 'trickle', chunkBytes: 32, intervalMs: 2 })
    const { chunks, idsAtFirstChunk } = await readChunks('POST', '/workstream_events/create', JSON.stringify(seed('c')))
    expect(idsAtFirstChunk).toContain('c')
    expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ id: 'c' })
  })
})

describe('close', () => {
  it('resolves while a request waits on a long latency fault, which then fails', async () => {
    await start()
    running().faults.add('create', { type: 'latency', ms: 600_000 })
    const waiting = create('never')
    const failed = expect(waiting).rejects.toThrow()
    await waitForRequests(1)
    await running().close()
    await failed
    expect(ids()).toEqual(['a', 'b'])
  })

  it('resolves in the middle of a trickle', async () => {
    await start()
    running().faults.add('snapshot', { type: 'trickle', chunkBytes: 1, intervalMs: 600_000 })
    const { port } = running()
    const firstChunk = new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/workstream_events', agent: false }, (response) => {
        response.once('data', () => resolve())
        response.on('error', () => undefined)
      })
      outgoing.on('error', reject)
      outgoing.end()
    })
    await firstChunk
    await running().close()
  })
})

/** Resolves once the server has seen `count` requests, by asking it after each event-loop turn. */
async function waitForRequests(count: number): Promise<void> {
  for (let turn = 0; turn < 10_000; turn += 1) {
    if (running().requests.count() >= count) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error(`the server never saw ${count} requests`)
}
