import { forceCloseDatabase, IDBFactory, IDBObjectStore } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import type { Timers } from '../src/environment'
import { CACHE_FORMAT } from '../src/cacheFormat'
import { LOAD_TIMEOUT_MS } from '../src/cacheArea'
import { cacheMeta, segmentOf } from './support/rawCache'
import { indexedDbStorage, memoryStorage, type SyncStorage } from '../src/storage'
import type { StoreOptions } from '../src/storeOptions'
import { makeStore, serverWithCache, startServer, switchableOnline, until } from './support/harness'
import { makeEvent, makeSeed } from './support/events'
import { failingRead } from './support/heldReads'
import { heldWrites } from './support/storageGates'
import { LANDING_WAIT_MS } from '../src/leadership'
import { storeNamespace } from '../src/storeOptions'

/*
 * Storage faults (DESIGN §3 rules 9 and 10): sync goes on, nothing queued is lost in the running
 * store, and the error is reported. test/persistence.test.ts covers the memory-level cases; these
 * go through IndexedDB itself (fake-indexeddb, a database of each test's own).
 */

const initial = [makeEvent('a', 1), makeEvent('b', 2)]
const PREFIX = 'faults'
const ids = (events: readonly { id: string }[]): string[] => events.map((e) => e.id).sort()

/** A fake IndexedDB that remembers every connection the store opens. */
function recordingIndexedDb(): { factory: IDBFactory; connections: IDBDatabase[] } {
  const idb = new IDBFactory()
  const connections: IDBDatabase[] = []
  const factory = {
    open(name: string, version?: number) {
      const request = idb.open(name, version)
      request.addEventListener('success', () => connections.push(request.result))
      return request
    },
    deleteDatabase: (name: string) => idb.deleteDatabase(name),
    cmp: (a: unknown, b: unknown) => idb.cmp(a, b),
    databases: () => idb.databases(),
  } as IDBFactory
  return { factory, connections }
}

/** Runs `run` while every IndexedDB put does `misbehave` first; restores put afterwards. */
async function whilePutsMisbehave(misbehave: (store: IDBObjectStore) => void, run: () => Promise<void>): Promise<void> {
  const original = IDBObjectStore.prototype.put
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    const request = original.apply(this, args)
    misbehave(this)
    return request
  }
  try {
    await run()
  } finally {
    IDBObjectStore.prototype.put = original
  }
}

/** What a put does when the quota is full. */
function quotaExceeded(): never {
  throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
}

/** fake-indexeddb's forced close (its type declaration asks for the class, it takes a connection). */
function forceClose(db: IDBDatabase): void {
  forceCloseDatabase(db as unknown as Parameters<typeof forceCloseDatabase>[0])
}

async function openRaw(idb: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = idb.open(name, version)
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains('entries')) request.result.createObjectStore('entries')
    }
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

/** Writes entries straight into the database a store of this server would use. */
async function writeRaw(idb: IDBFactory, namespace: string, entries: Array<[string, unknown]>): Promise<void> {
  const db = await openRaw(idb, `${PREFIX}:${namespace}`)
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('entries', 'readwrite')
    for (const [key, value] of entries) tx.objectStore('entries').put(value, key)
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
  })
  db.close()
}

/** A synced store, offline, with a create and a delete queued: what must not be lost. */
async function withQueuedMutations(options: StoreOptions) {
  const server = await startServer({ events: initial })
  const online = switchableOnline(true)
  const store = makeStore(server, { online, ...options })
  await store.refresh()
  online.set(false)
  const created = store.create(makeSeed('queued before the fault'))
  const deleted = store.delete('b')
  return { server, online, store, created, deleted }
}

type Queued = Awaited<ReturnType<typeof withQueuedMutations>>

/** Back online, the queued mutations reach the server exactly once and the store converges. */
async function expectNothingLost(ctx: Queued, cause: RegExp): Promise<void> {
  expect(ctx.store.outbox.map((m) => m.kind)).toEqual(['create', 'delete'])
  ctx.online.set(true)
  const real = await ctx.created.confirmed
  await ctx.deleted
  await ctx.store.refresh()
  expect(ids(ctx.server.events())).toEqual(['a', real.id].sort())
  expect(ids(ctx.store.events)).toEqual(ids(ctx.server.events()))
  expect(ctx.server.requests.count('create')).toBe(1)
  const reports = ctx.store.errors.filter((e) => e.kind === 'storage')
  expect(reports).toHaveLength(1)
  expect(reports[0]!.message).toMatch(/in memory/)
  expect(reports[0]!.message).toMatch(cause)
}

describe('storage faults while the store runs', () => {
  it('falls back to memory when a write transaction aborts with QuotaExceededError, and loses nothing queued', async () => {
    const ctx = await withQueuedMutations({ storage: indexedDbStorage({ name: PREFIX, indexedDB: new IDBFactory() }) })
    const aborted = new WeakSet<IDBTransaction>()
    await whilePutsMisbehave(
      // Browsers report a full quota by aborting the write transaction with this error, once its puts are queued.
      (store) => {
        const tx = store.transaction
        if (aborted.has(tx)) return
        aborted.add(tx)
        queueMicrotask(() => (tx as unknown as { _abort(name: string): void })._abort('QuotaExceededError'))
      },
      async () => {
        ctx.store.create(makeSeed('written while the quota is full'))
        await until(ctx.store.errors$, (e) => e.kind === 'storage')
      },
    )
    expect(ctx.store.errors.some((e) => e.kind === 'storage' && /QuotaExceededError/.test(e.message))).toBe(true)
    const extra = ctx.store.outbox[2]!
    expect(extra.kind).toBe('create')
    ctx.online.set(true)
    await ctx.store.flush()
    await ctx.store.refresh()
    expect(ctx.server.events().filter((e) => e.readable === 'written while the quota is full')).toHaveLength(1)
    expect(ctx.server.events().filter((e) => e.readable === 'queued before the fault')).toHaveLength(1)
    expect(ids(ctx.store.events)).toEqual(ids(ctx.server.events()))
  })

  it('falls back to memory when put() throws QuotaExceededError, and loses nothing queued', async () => {
    const ctx = await withQueuedMutations({ storage: indexedDbStorage({ name: PREFIX, indexedDB: new IDBFactory() }) })
    await whilePutsMisbehave(
      quotaExceeded,
      async () => {
        ctx.store.create(makeSeed('another one'))
        await until(ctx.store.errors$, (e) => e.kind === 'storage')
      },
    )
    expect(ctx.store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/quota is full/)
    ctx.online.set(true)
    await ctx.store.flush()
    expect(ctx.server.events().filter((e) => e.readable === 'another one')).toHaveLength(1)
  })

  it('clears what storage held when writes fail, so that the next session does not send the outbox again', async () => {
    const idb = new IDBFactory()
    const storage = indexedDbStorage({ name: PREFIX, indexedDB: idb })
    const ctx = await withQueuedMutations({ storage })
    await whilePutsMisbehave(
      quotaExceeded,
      async () => {
        ctx.store.create(makeSeed('written while the quota is full'))
        await until(ctx.store.errors$, (e) => e.kind === 'storage')
        // Sent and confirmed while storage still held them as queued.
        ctx.online.set(true)
        await ctx.store.flush()
      },
    )
    expect(ctx.server.requests.count('create')).toBe(2)
    expect(ctx.store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/later session starts from the server/)
    await ctx.store.dispose()
    // The next page load, with storage working again.
    const next = makeStore(ctx.server, { storage })
    await next.ready
    expect(next.outbox).toEqual([])
    await next.refresh()
    await next.flush()
    expect(ctx.server.requests.count('create')).toBe(2)
    expect(ctx.server.requests.count('delete')).toBe(1)
    expect(ids(next.events)).toEqual(ids(ctx.server.events()))
  })

  it('lands nothing of a batch when one of its puts throws, its deletes included', async () => {
    const area = indexedDbStorage({ name: PREFIX, indexedDB: new IDBFactory() }).open('batch')
    await area.setMany([['kept', 1]])
    let puts = 0
    await whilePutsMisbehave(
      () => {
        if (++puts === 2) quotaExceeded()
      },
      async () => {
        await expect(area.write!([['a', 1], ['b', 2]], ['kept'])).rejects.toMatchObject({ kind: 'storage', message: expect.stringMatching(/QuotaExceededError/) })
      },
    )
    expect(await area.entries()).toEqual([['kept', 1]])
  })

  it('falls back to memory when the connection is closed in the middle of a write transaction', async () => {
    const ctx = await withQueuedMutations({ storage: indexedDbStorage({ name: PREFIX, indexedDB: new IDBFactory() }) })
    let closed = false
    await whilePutsMisbehave(
      (store) => {
        if (closed) return
        closed = true
        const tx = store.transaction
        // A forced close (site data cleared, the browser reclaiming the connection) aborts the
        // transaction in flight with AbortError, then fires close; fake-indexeddb only does the latter.
        queueMicrotask(() => {
          ;(tx as unknown as { _abort(name: string): void })._abort('AbortError')
          forceClose(tx.db)
        })
      },
      async () => {
        ctx.store.create(makeSeed('written as the connection closes'))
        await until(ctx.store.errors$, (e) => e.kind === 'storage')
        ctx.store.create(makeSeed('written after the connection closed'))
      },
    )
    expect(ctx.store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/AbortError/)
    ctx.online.set(true)
    await ctx.store.flush()
    await ctx.store.refresh()
    expect(ctx.server.events().filter((e) => /written a|queued before the fault/.test(e.readable ?? ''))).toHaveLength(3)
    expect(ids(ctx.store.events)).toEqual(ids(ctx.server.events()))
  })

  it('reopens the database after the browser closed an idle connection, and keeps writing to it', async () => {
    const server = await startServer({ events: initial })
    const { factory, connections } = recordingIndexedDb()
    const storage = indexedDbStorage({ name: PREFIX, indexedDB: factory })
    const store = makeStore(server, { storage })
    await store.refresh()
    await store.flush()
    expect(connections).toHaveLength(1)
    const closeEvent = new Promise<void>((resolve) => connections[0]!.addEventListener('close', () => resolve()))
    forceClose(connections[0]!)
    await closeEvent
    const { confirmed } = store.create(makeSeed('after the close'))
    const real = await confirmed
    await store.dispose()
    expect(store.errors.filter((e) => e.kind === 'storage')).toEqual([])
    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(reloaded.get(real.id)?.readable).toBe('after the close')
  })
})

describe('a storage whose writes never land', () => {
  it(`settles a delete that cancels an unsent create once the write lands, or after ${LANDING_WAIT_MS} ms, not never`, async () => {
    const server = await startServer({ events: initial })
    const writes = heldWrites(memoryStorage())
    const deadline = manualTimers()
    const store = makeStore(server, { storage: writes.storage, timers: deadline.timers, online: switchableOnline(false), tabs: false })
    await store.ready
    const { event, confirmed } = store.create(makeSeed('cancelled'))
    writes.hold()
    const deleted = store.delete(event.id)
    let settled = false
    void deleted.then(() => (settled = true))
    await until(store.outbox$, (outbox) => outbox.length === 0)
    expect(settled).toBe(false)
    deadline.fire(LANDING_WAIT_MS)
    await deleted
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    // Lets dispose() (in the harness's cleanup) end.
    writes.release()
  })
})

describe('storage faults when the store starts', () => {
  it('falls back to memory when the IndexedDB open fails with an error event', async () => {
    const failing = {
      open() {
        const request = { error: new DOMException('The disk is full.', 'UnknownError') } as unknown as IDBOpenDBRequest
        setTimeout(() => (request.onerror as (() => void) | null)?.(), 0)
        return request
      },
    } as unknown as IDBFactory
    const ctx = await withQueuedMutations({ storage: indexedDbStorage({ name: PREFIX, indexedDB: failing }) })
    expect(ctx.store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/UnknownError/)
    await expectNothingLost(ctx, /UnknownError/)
  })

  it('falls back to memory when the IndexedDB open is stuck behind another connection holding an upgrade (bug: the store stayed hydrating forever)', async () => {
    const server = await startServer({ events: initial })
    const idb = new IDBFactory()
    const name = `${PREFIX}:${storeNamespace(server.url)}`
    const holder = await openRaw(idb, name, 1)
    const upgrade = idb.open(name, 2)
    await new Promise<void>((resolve) => (upgrade.onblocked = () => resolve()))
    const deadline = manualTimers()
    const store = makeStore(server, { storage: indexedDbStorage({ name: PREFIX, indexedDB: idb }), timers: deadline.timers })
    const refreshed = store.refresh()
    const { confirmed } = store.create(makeSeed('queued while the cache is stuck'))
    expect(store.status.phase).toBe('hydrating')
    deadline.fire(LOAD_TIMEOUT_MS)
    await store.ready
    await refreshed
    await confirmed
    expect(store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/did not open within/)
    expect(ids(store.events)).toEqual(ids(server.events()))
    // A logout tries to wipe that storage too, and gives up on it as the read did.
    const clearing = store.clear()
    deadline.fire(LOAD_TIMEOUT_MS)
    await clearing
    expect(store.errors.at(-1)?.message).toMatch(/could not wipe storage.*did not open within/)
    holder.close()
  })

  it('does not send a create made while the cache loads again in the next session when the read fails', async () => {
    const storage = memoryStorage()
    const server = await serverWithCache(storage, { events: initial })
    const flaky = failingRead(storage)
    const store = makeStore(server, { storage: flaky.storage })
    await flaky.reading
    // Written to storage at once, so that it survives the tab; then the read fails, and the store
    // sends it from memory.
    const { confirmed } = store.create(makeSeed('made while the read failed'))
    flaky.fail()
    await store.ready
    expect(store.errors.map((e) => e.kind)).toEqual(['storage'])
    const real = await confirmed
    await store.dispose()
    const next = makeStore(server, { storage })
    await next.ready
    expect(next.outbox).toEqual([])
    await next.refresh()
    await next.flush()
    expect(server.requests.count('create')).toBe(1)
    expect(ids(next.events)).toEqual(['a', 'b', real.id].sort())
  })

  it('keeps a create made while the cache loads when the page disposes the store and the read then fails (bug: the failed read deleted its copy, and the next session lost it)', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const flaky = failingRead(storage)
    const offline = switchableOnline(false)
    const store = makeStore(server, { storage: flaky.storage, online: offline })
    await flaky.reading
    const { event, confirmed } = store.create(makeSeed('made while the cache loads'))
    // The page unmounts its store, whose queued mutations stay; then the slow read fails.
    const disposing = store.dispose()
    flaky.fail()
    await disposing
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    const next = makeStore(server, { storage, online: offline })
    await next.ready
    expect(next.outbox.map((m) => m.eventId)).toEqual([event.id])
    expect(next.get(event.id)?.readable).toBe('made while the cache loads')
    offline.set(true)
    await next.flush()
    expect(server.requests.count('create')).toBe(1)
  })

  it('still loads when that storage, given up after its read failed, throws on the delete of the create’s copy', async () => {
    const server = await startServer({ events: initial })
    const flaky = failingRead(memoryStorage())
    const throwing: SyncStorage = {
      kind: 'throwing deletes',
      open(namespace) {
        const area = flaky.storage.open(namespace)
        return {
          ...area,
          delMany: () => {
            throw new DOMException('The connection is closing.', 'InvalidStateError')
          },
        }
      },
    }
    const store = makeStore(server, { storage: throwing })
    await flaky.reading
    const { confirmed } = store.create(makeSeed('made while the read failed'))
    flaky.fail()
    await store.ready
    await confirmed
    expect(store.errors.map((e) => e.kind)).toEqual(['storage'])
  })
})

describe('clear() after storage failed', () => {
  /** A synced cache, then offline a create and a delete queued over it: the last user's session, closed. */
  async function lastUsersSession(storage: SyncStorage) {
    const server = await serverWithCache(storage, { events: initial })
    const offline = switchableOnline(false)
    const second = makeStore(server, { storage, online: offline })
    await second.ready
    second.create(makeSeed('the last user’s note')).confirmed.catch(() => {})
    second.delete('a').catch(() => {})
    await second.dispose()
    return { server, offline }
  }

  it('wipes storage on logout after the cache could not be read, so the next user neither sees nor sends the last user’s data (bug: clear() wiped only the memory copy)', async () => {
    const storage = memoryStorage()
    const { server, offline } = await lastUsersSession(storage)
    const flaky = failingRead(storage)
    flaky.fail()
    const store = makeStore(server, { storage: flaky.storage, online: offline })
    await store.ready
    expect(store.errors.map((e) => e.kind)).toEqual(['storage'])
    await store.clear()
    await store.dispose()
    expect(store.errors).toHaveLength(1)
    const next = makeStore(server, { storage })
    await next.ready
    expect(next.events).toEqual([])
    expect(next.outbox).toEqual([])
    await next.flush()
    expect(server.requests.count('create') + server.requests.count('delete')).toBe(0)
  })

  it('reports a logout that could not wipe storage after the cache could not be read, and still clears the store', async () => {
    const storage = memoryStorage()
    const { server, offline } = await lastUsersSession(storage)
    const flaky = failingRead(storage)
    flaky.fail()
    const refusing: SyncStorage = {
      kind: 'refusing clear',
      open(namespace) {
        const area = flaky.storage.open(namespace)
        return { ...area, clear: () => Promise.reject(new DOMException('The disk is gone.', 'UnknownError')) }
      },
    }
    const store = makeStore(server, { storage: refusing, online: offline })
    await store.ready
    await store.clear()
    expect(store.outbox).toEqual([])
    expect(store.errors.map((e) => e.kind)).toEqual(['storage', 'storage'])
    expect(store.errors[1]!.message).toMatch(/could not wipe storage.*UnknownError/)
  })
})

describe('cache contents', () => {
  it('discards entries of the wrong shape written into IndexedDB, keeps the good ones, reports them, and sends the good mutations', async () => {
    const server = await startServer({ events: initial })
    const idb = new IDBFactory()
    const namespace = storeNamespace(server.url)
    const goodDelete = { id: 'm-good', kind: 'delete', eventId: 'a', state: 'queued', attempts: 0, queuedAt: 1, queuedSeq: 0 }
    await writeRaw(idb, namespace, [
      ['meta', cacheMeta(namespace, [0, 1, 2, 3])],
      [
        's:0',
        segmentOf([
          ['b', JSON.stringify(initial[1])],
          ['deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
          ['truncated', JSON.stringify(makeEvent('truncated')).slice(0, 40)],
        ]),
      ],
      ['s:1', makeEvent('object')],
      ['s:2', new Date()],
      ['s:3', { ids: ['c'], lengths: [-1], text: '', removed: [] }],
      ['m-wrong-key', 'ignored: not a known prefix'],
      ['m:string', 'a create'],
      ['m:bad-seed', { ...goodDelete, id: 'm-bad-seed', kind: 'create', eventId: 'x', seed: { trigger: 1 } }],
      ['m:no-event', { ...goodDelete, id: 'm-no-event', eventId: '' }],
      ['m:odd-state', { ...goodDelete, id: 'm-odd-state', state: 'flying' }],
      ['m:good', goodDelete],
    ])
    const store = makeStore(server, { storage: indexedDbStorage({ name: PREFIX, indexedDB: idb }) })
    await store.ready
    expect(ids(store.events)).toEqual(['b'])
    expect(store.outbox.map((m) => m.id)).toEqual(['m-good'])
    expect(store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/Discarded 9 unreadable cache entries/)
    await store.flush()
    expect(ids(server.events())).toEqual(['b'])
  })

  it.each([
    ['a string', 'garbage'],
    ['null', null],
    ['an array', [CACHE_FORMAT]],
    ['missing', undefined],
  ])('discards a cache whose meta record is %s, reports it, and syncs', async (_name, meta) => {
    const server = await startServer({ events: initial })
    const idb = new IDBFactory()
    const namespace = storeNamespace(server.url)
    await writeRaw(idb, namespace, [...(meta === undefined ? [] : [['meta', meta] as [string, unknown]]), ['e:zzz', JSON.stringify(makeEvent('zzz'))]])
    const store = makeStore(server, { storage: indexedDbStorage({ name: PREFIX, indexedDB: idb }) })
    await store.ready
    expect(store.events).toEqual([])
    expect(store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/Discarded the cache/)
    await store.refresh()
    expect(ids(store.events)).toEqual(['a', 'b'])
  })

  it.each([
    ['an older format', CACHE_FORMAT - 1],
    ['a newer format', CACHE_FORMAT + 1],
    ['a format written as a string', String(CACHE_FORMAT)],
  ])('discards a cache of %s with its outbox, reports it, and fills it again from the next snapshot', async (_name, format) => {
    const server = await startServer({ events: initial })
    const idb = new IDBFactory()
    const namespace = storeNamespace(server.url)
    const storage = indexedDbStorage({ name: PREFIX, indexedDB: idb })
    const record = { id: 'm-old', kind: 'delete', eventId: 'a', state: 'queued', attempts: 0, queuedAt: 1, queuedSeq: 0 }
    await writeRaw(idb, namespace, [['meta', { format, namespace }], ['e:old', JSON.stringify(makeEvent('old'))], ['m:old', record]])
    const store = makeStore(server, { storage })
    await store.ready
    expect(store.events).toEqual([])
    expect(store.outbox).toEqual([])
    expect(store.errors.find((e) => e.kind === 'storage')?.message).toMatch(new RegExp(`format ${String(format)}`))
    await store.refresh()
    await store.dispose()
    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(ids(reloaded.events)).toEqual(['a', 'b'])
    expect(reloaded.errors).toEqual([])
  })

  it('never shows one base URL or application id the events or the outbox of another in the same storage', async () => {
    const one = await startServer({ events: initial })
    const two = await startServer({ events: [makeEvent('other')] })
    const storage = indexedDbStorage({ name: PREFIX, indexedDB: new IDBFactory() })
    const offline = switchableOnline(false)
    const mine = makeStore(one, { storage, applicationId: 'app-1' })
    await mine.refresh()
    offline.set(false)
    const queued = makeStore(one, { storage, applicationId: 'app-1', online: offline })
    await queued.ready
    const pending = queued.create(makeSeed('app-1 only'))
    queued.delete('a').catch(() => {})
    await queued.dispose()
    await pending.confirmed.catch(() => {})
    await mine.dispose()

    const otherApp = makeStore(one, { storage, applicationId: 'app-2' })
    const otherServer = makeStore(two, { storage, applicationId: 'app-1' })
    await Promise.all([otherApp.ready, otherServer.ready])
    expect(otherApp.events).toEqual([])
    expect(otherApp.outbox).toEqual([])
    expect(otherServer.events).toEqual([])
    expect(otherServer.outbox).toEqual([])
    await otherApp.flush()
    await otherServer.flush()
    expect(one.requests.count('create') + one.requests.count('delete') + two.requests.count('create') + two.requests.count('delete')).toBe(0)
    await otherServer.refresh()
    expect(ids(otherServer.events)).toEqual(['other'])

    const back = makeStore({ url: `${one.url}/` }, { storage, applicationId: 'app-1' })
    await back.ready
    expect(back.outbox.map((m) => m.kind)).toEqual(['create', 'delete'])
    await back.flush()
    expect(one.events().map((e) => e.readable)).toEqual(['app-1 only', 'event b'])
  })
})

/** Timers that run short delays for real and hold the long ones until the test fires them. */
function manualTimers(): { timers: Timers; fire(ms: number): void } {
  const held = new Map<symbol, { callback: () => void; ms: number }>()
  return {
    timers: {
      setTimeout(callback, ms) {
        if (ms < 1000) return globalThis.setTimeout(callback, ms)
        const handle = Symbol('held timer')
        held.set(handle, { callback, ms })
        return handle
      },
      clearTimeout(handle) {
        if (typeof handle === 'symbol') held.delete(handle)
        else globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>)
      },
    },
    fire(ms) {
      for (const [handle, timer] of held) {
        if (timer.ms !== ms) continue
        held.delete(handle)
        timer.callback()
      }
    },
  }
}
