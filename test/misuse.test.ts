import { describe, expect, it } from 'vitest'
import { createWorkstreamClient } from '../src/client'
import { WorkstreamSyncError } from '../src/errors'
import type { SeededWorkstreamEvent } from '../src/models'
import { memoryStorage } from '../src/storage'
import { createWorkstreamStore } from '../src/store'
import { freshIndexedDb, makeStore, startServer, switchableOnline, until } from './support/harness'
import { makeEvent, makeSeed } from './support/events'
import { memoryTabs } from './support/memoryTabs'

/*
 * Caller misuse (DESIGN §3 rule 11): each call gets a typed error at once or is handled
 * harmlessly, nothing is queued by a refused call, and nothing leaves a promise rejection
 * unhandled (test/setup.ts fails any test that does).
 */

const initial = [makeEvent('a', 1), makeEvent('b', 2)]
const offline = { get: () => false, subscribe: () => () => {} }

/** A server, and a storage whose cache holds its events and a delete of 'a' queued offline. */
async function cacheWithQueuedDelete() {
  const server = await startServer({ events: initial })
  const storage = freshIndexedDb()
  const first = makeStore(server, { storage, online: offline })
  await first.refresh()
  first.delete('a').catch(() => {})
  await first.dispose()
  return { server, storage }
}

/** Lets every rejection made so far be reported as unhandled, if it is. */
const settleRejections = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  return undefined
}

describe('misuse: invalid seeds', () => {
  const cyclic = makeSeed('cyclic') as SeededWorkstreamEvent & { extra?: unknown }
  cyclic.extra = { self: cyclic }
  const throwing = makeSeed('getter')
  Object.defineProperty(throwing, 'readable', { enumerable: true, get: () => { throw new Error('a getter that throws') } })
  const seeds: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'a new event'],
    ['an array', [makeSeed()]],
    ['an empty object', {}],
    ['no application', { trigger: { copy: true } }],
    ['no trigger', { application: makeSeed().application }],
    ['an application that is a string', { ...makeSeed(), application: 'VS_CODE' }],
    ['a trigger that is a string', { ...makeSeed(), trigger: 'copy' }],
    ['an internal_identifier that is a number', { ...makeSeed(), internal_identifier: 7 }],
    ['an internal_identifier that is empty', { ...makeSeed(), internal_identifier: '' }],
    ['the official model key internalIdentifier', { ...makeSeed(), internalIdentifier: 'x' }],
    ['a readable that is a number', { ...makeSeed(), readable: 1 }],
    ['a cycle (bug: it was queued and failed on every send)', cyclic],
    ['a BigInt (bug: it was queued and failed on every send)', { ...makeSeed(), extra: 10n }],
    ['a getter that throws (bug: the getter error escaped untyped)', throwing],
  ]

  it.each(seeds)('refuses a seed with %s with invalid-input at once, and queues and sends nothing', async (_name, seed) => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const before = store.events
    const error = thrown(() => store.create(seed as SeededWorkstreamEvent))
    expect(error).toBeInstanceOf(WorkstreamSyncError)
    expect(error).toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/\w/) })
    expect(store.outbox).toEqual([])
    expect(store.events).toBe(before)
    await store.flush()
    expect(server.requests.count('create')).toBe(0)
  })

  it('refuses an internal_identifier that an event already has', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    expect(thrown(() => store.create({ ...makeSeed(), internal_identifier: 'a' }))).toMatchObject({ kind: 'invalid-input', eventId: 'a' })
    const { event } = store.create({ ...makeSeed(), internal_identifier: 'mine' })
    expect(thrown(() => store.create({ ...makeSeed(), internal_identifier: event.id }))).toMatchObject({ kind: 'invalid-input' })
    expect(store.outbox).toHaveLength(1)
  })

  it('sends the seed as it was when create() was called, even if the caller changes the object afterwards (bug: later changes were sent)', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const store = makeStore(server, { storage, online: switchableOnline(false) })
    await store.ready
    const seed = makeSeed('as created')
    const { event } = store.create(seed)
    seed.readable = 'changed afterwards'
    seed.trigger.paste = false
    seed.application.id = 'another-app'
    expect(store.get(event.id)).toMatchObject({ readable: 'as created', trigger: { paste: true }, application: { id: 'app-vscode' } })
    await store.dispose()
    const sender = makeStore(server, { storage })
    await sender.flush()
    expect(server.events().find((e) => e.id === event.id)).toMatchObject({ readable: 'as created', trigger: { paste: true }, application: { id: 'app-vscode' } })
  })
})

describe('misuse: bad ids', () => {
  it.each([
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { id: 'a' }],
    ['"." (bug: it was queued, hidden, then rolled back)', '.'],
    ['".." (bug: it was queued, hidden, then rolled back)', '..'],
    ['an id with a lone surrogate, which JSON carries and no URL can (bug: it was retried as a network error until it died)', 'evt-\ud800'],
  ])('refuses delete() of %s with invalid-input at once and queues nothing', async (_name, id) => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const before = store.events
    const deleted = store.delete(id as string)
    expect(store.outbox).toEqual([])
    expect(store.events).toBe(before)
    await expect(deleted).rejects.toMatchObject({ kind: 'invalid-input' })
    expect(server.requests.count('delete')).toBe(0)
  })

  it.each([
    ['"."', '.'],
    ['a lone surrogate', 'evt-\udc00'],
  ])('refuses create() with an internal_identifier that no URL path can address (%s), which could never be deleted', async (_name, id) => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    expect(() => store.create({ ...makeSeed('unaddressable'), internal_identifier: id })).toThrow(expect.objectContaining({ kind: 'invalid-input' }))
    expect(store.outbox).toEqual([])
    expect(server.requests.count('create')).toBe(0)
  })

  it('answers get() and event$() for ids that match nothing with undefined, harmlessly', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    for (const id of ['', 'missing', '__proto__', 'constructor', 42 as unknown as string]) {
      expect(store.get(id)).toBeUndefined()
      expect(await until(store.event$(id), () => true)).toBeUndefined()
    }
  })

  it('refuses retryMutation() and discardMutation() of anything but a dead letter with invalid-input', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { online: offline })
    await store.ready
    const { event } = store.create(makeSeed())
    const queued = store.outbox[0]!.id
    for (const id of ['nope', '', queued, 42 as unknown as string]) {
      expect(thrown(() => store.retryMutation(id))).toMatchObject({ kind: 'invalid-input' })
      expect(thrown(() => store.discardMutation(id))).toMatchObject({ kind: 'invalid-input' })
    }
    expect(store.get(event.id)).toBeDefined()
    expect(store.outbox.map((m) => m.state)).toEqual(['queued'])
  })
})

describe('misuse: calling delete twice', () => {
  it('shares one delete between two calls before it is sent, and sends it once', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { online: switchableOnline(false) })
    await store.refresh()
    const first = store.delete('a')
    const second = store.delete('a')
    expect(second).toBe(first)
    expect(store.outbox).toHaveLength(1)
  })

  it('resolves a second delete of an event that is already gone, harmlessly', async () => {
    const server = await startServer({ events: initial, unknownDeleteStatus: 500 })
    const store = makeStore(server)
    await store.refresh()
    await store.delete('a')
    const again = store.delete('a')
    await until(store.outbox$, (o) => o.length === 0 || o[0]?.state === 'waiting')
    await store.refresh()
    await again
    expect(store.outbox).toEqual([])
  })

  it('resolves a delete repeated after a reload, while the first one is still queued', async () => {
    const { server, storage } = await cacheWithQueuedDelete()
    const second = makeStore(server, { storage })
    await second.ready
    await second.delete('a')
    await second.flush()
    await second.refresh()
    expect(server.events().map((e) => e.id)).toEqual(['b'])
    expect(second.outbox).toEqual([])
  })

  it('lets flush() end when a second delete waits behind a dead first one (bug: flush never settled)', async () => {
    const server = await startServer({ events: initial, unknownDeleteStatus: 500 })
    const storage = memoryStorage()
    const first = makeStore(server, { storage, online: offline })
    await first.ready
    first.delete('gone').catch(() => {})
    await first.dispose()
    const second = makeStore(server, { storage, retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 } })
    await second.ready
    const again = second.delete('gone')
    await until(second.outbox$, (o) => o[0]?.state === 'dead')
    await second.flush()
    expect(second.status).toMatchObject({ dead: 1, pending: 1 })
    // A snapshot without the event settles both.
    await second.refresh()
    await again
    expect(second.outbox).toEqual([])
  })
})

describe('misuse: refresh() in a loop', () => {
  it('runs one request for many concurrent calls, and one per call in a sequential loop', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await Promise.all(Array.from({ length: 50 }, () => store.refresh()))
    expect(server.requests.count('snapshot')).toBe(1)
    for (let i = 0; i < 30; i++) await store.refresh()
    expect(server.requests.count('snapshot')).toBe(31)
    expect(store.events.map((e) => e.id)).toEqual(['a', 'b'])
  })

  it('rejects each call with a typed error while the server fails, and leaves no rejection unhandled when the caller ignores them', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    server.faults.add('snapshot', { type: 'status', status: 503 }, { times: Infinity })
    for (let i = 0; i < 20; i++) await expect(store.refresh()).rejects.toMatchObject({ kind: 'http', status: 503 })
    for (let i = 0; i < 20; i++) void store.refresh()
    await until(store.status$, (s) => s.phase === 'error')
    await settleRejections()
    server.faults.clear()
    await store.refresh()
    expect(store.status.phase).toBe('synced')
  })

  it('leaves no rejection unhandled when a follower tab ignores a failing refresh() (bug: it did)', async () => {
    const server = await startServer({ events: initial })
    const hub = memoryTabs()
    const storage = memoryStorage()
    const leader = makeStore(server, { storage, tabs: hub.join() })
    await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    const follower = makeStore(server, { storage, tabs: hub.join() })
    await follower.ready
    server.faults.add('snapshot', { type: 'status', status: 500 })
    // The leader fetches for the follower, whose promise carries the leader's error.
    await expect(follower.refresh()).rejects.toMatchObject({ kind: 'http', status: 500 })
    server.faults.add('snapshot', { type: 'status', status: 500 })
    void follower.refresh()
    // The leader answers in order: once this one settles, so has the ignored one.
    await follower.refresh().catch(() => {})
    await settleRejections()
  })
})

describe('misuse: calls after dispose()', () => {
  it('gives every call a typed aborted error or a harmless answer, and no unhandled rejection when ignored (bug: delete, refresh, flush and clear left one)', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const events = store.events
    await store.dispose()
    await store.dispose()
    expect(thrown(() => store.create(makeSeed()))).toMatchObject({ kind: 'aborted' })
    expect(thrown(() => store.start())).toMatchObject({ kind: 'aborted' })
    expect(thrown(() => store.retryMutation('x'))).toMatchObject({ kind: 'aborted' })
    expect(thrown(() => store.discardMutation('x'))).toMatchObject({ kind: 'aborted' })
    expect(() => store.stop()).not.toThrow()
    await expect(store.delete('a')).rejects.toMatchObject({ kind: 'aborted' })
    await expect(store.refresh()).rejects.toMatchObject({ kind: 'aborted' })
    await expect(store.flush()).rejects.toMatchObject({ kind: 'aborted' })
    await expect(store.clear()).rejects.toMatchObject({ kind: 'aborted' })
    // Ignored promises must not turn into unhandled rejections.
    void store.delete('a')
    void store.refresh()
    void store.flush()
    void store.clear()
    await settleRejections()
    expect(store.events).toBe(events)
    expect(store.get('a')).toBeDefined()
    expect(store.status.phase).toBe('disposed')
    let completed = false
    store.events$.subscribe({ complete: () => (completed = true) })
    expect(completed).toBe(true)
    await store.ready
    expect(server.requests.count()).toBe(1)
  })

  it('rejects pending promises with aborted when disposed in the middle of a send, and the next store finishes the job', async () => {
    const server = await startServer({ events: initial })
    const storage = freshIndexedDb()
    const store = makeStore(server, { storage })
    await store.refresh()
    server.faults.add('create', { type: 'latency', ms: 200 })
    const { confirmed } = store.create(makeSeed('in flight at dispose'))
    const deleted = store.delete('b')
    await until(store.outbox$, (o) => o[0]?.state === 'sending')
    await store.dispose()
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    await expect(deleted).rejects.toMatchObject({ kind: 'aborted' })
    const next = makeStore(server, { storage, pollIntervalMs: 20 })
    await next.ready
    expect(next.outbox.map((m) => m.kind)).toEqual(['create', 'delete'])
    next.start()
    await until(next.outbox$, (o) => o.length === 0)
    await next.refresh()
    expect(server.events().filter((e) => e.readable === 'in flight at dispose')).toHaveLength(1)
    expect(server.events().map((e) => e.id)).not.toContain('b')
  })

  it('keeps a create made while the cache loads when the store is disposed before hydration ends (bug: it was lost)', async () => {
    const server = await startServer({ events: initial })
    const storage = freshIndexedDb()
    const store = makeStore(server, { storage })
    const { event, confirmed } = store.create(makeSeed('made during hydration'))
    expect(store.status.phase).toBe('hydrating')
    await store.dispose()
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    const next = makeStore(server, { storage })
    await next.ready
    expect(next.get(event.id)?.readable).toBe('made during hydration')
    await next.flush()
    expect(server.events().filter((e) => e.id === event.id)).toHaveLength(1)
  })
})

describe('misuse: calls while the cache loads', () => {
  it('makes flush() right after a reload wait for the queued mutations of the cache (bug: it resolved at once)', async () => {
    const server = await startServer({ events: initial })
    const storage = freshIndexedDb()
    const first = makeStore(server, { storage, online: offline })
    await first.ready
    const { event } = first.create(makeSeed('queued before the reload'))
    await first.dispose()
    const second = makeStore(server, { storage })
    expect(second.status.phase).toBe('hydrating')
    await second.flush()
    expect(server.events().map((e) => e.id)).toContain(event.id)
  })

  it('shows and sends mutations made while the cache loads, after the cached ones', async () => {
    const { server, storage } = await cacheWithQueuedDelete()
    const second = makeStore(server, { storage })
    const { event } = second.create(makeSeed('made while hydrating'))
    const deleted = second.delete('b')
    expect(second.get(event.id)).toBe(event)
    await second.ready
    expect(second.outbox.map((m) => [m.kind, m.eventId])).toEqual([['delete', 'a'], ['create', event.id], ['delete', 'b']])
    await deleted
    await second.flush()
    expect(server.events().map((e) => e.id)).toEqual([event.id])
  })
})

describe('misuse: options', () => {
  it.each([
    ['a negative pollIntervalMs', { pollIntervalMs: -1 }],
    ['a baseUrl that is not a URL', { baseUrl: 'localhost:1000' }],
    ['a baseUrl that is not http', { baseUrl: 'file:///etc/passwd' }],
    ['a timeoutMs of 0', { timeoutMs: 0 }],
    ['a client with a baseUrl of its own, which it would ignore', { client: createWorkstreamClient(), baseUrl: 'http://127.0.0.1:1000' }],
    ['a client with a timeoutMs, which it would ignore', { client: createWorkstreamClient(), timeoutMs: 1000 }],
    // Timers fire a longer delay at once: every request timed out, the poller polled in a tight loop (bug).
    ['a timeoutMs longer than a timer can wait', { timeoutMs: Infinity }],
    ['a pollIntervalMs longer than a timer can wait', { pollIntervalMs: 3_000_000_000 }],
    ['a retry.maxDelayMs longer than a timer can wait', { retry: { maxDelayMs: Infinity } }],
    ['an ambiguityGraceMs longer than a timer can wait', { ambiguityGraceMs: Infinity }],
    ['a logger level that does not exist, which logged nothing', { logger: 'verbose' as 'debug' }],
    // fetch refused it at each request, as a network error retried for ever (bug).
    ['an applicationId that cannot be a header value', { applicationId: 'Café ✓' }],
    ['an applicationId with a line break', { applicationId: 'a\nb' }],
    ['a baseUrl with a query, which the paths were appended to', { baseUrl: 'http://127.0.0.1:1000/?x=1' }],
  ])('refuses %s with invalid-input', (_name, options) => {
    expect(thrown(() => createWorkstreamStore({ storage: false, ...options }))).toMatchObject({ kind: 'invalid-input' })
  })
})

describe('misuse: a logger sink that throws', () => {
  it('loses its lines and nothing else: the store reads its cache and applies snapshots (bug: ready and refresh() rejected)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const broken = () => {
      throw new Error('sink broke')
    }
    const store = makeStore(server, { logger: { level: 'debug', sink: { error: broken, warn: broken, info: broken, debug: broken } } })
    await store.ready
    await store.refresh()
    expect(store.events.map((e) => e.id)).toEqual(['a'])
    await store.dispose()
  })
})

describe('misuse: dispose() twice', () => {
  it('has the second call wait for the end of the first (bug: it returned at once)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const store = makeStore(server)
    await store.ready
    expect(store.dispose()).toBe(store.dispose())
  })
})

describe('store options', () => {
  it('refuses bad retry options and a negative grace period with invalid-input', () => {
    expect(() => createWorkstreamStore({ storage: false, retry: { baseDelayMs: 10, maxDelayMs: 5 } })).toThrow(expect.objectContaining({ kind: 'invalid-input' }))
    expect(() => createWorkstreamStore({ storage: false, retry: { maxAttempts: 0 } })).toThrow(expect.objectContaining({ kind: 'invalid-input' }))
    expect(() => createWorkstreamStore({ storage: false, ambiguityGraceMs: -1 })).toThrow(expect.objectContaining({ kind: 'invalid-input', message: expect.stringContaining('ambiguityGraceMs') }))
  })
})
