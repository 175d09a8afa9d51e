import { describe, expect, it } from 'vitest'
import { IDBFactory } from 'fake-indexeddb'
import { indexedDbStorage, memoryStorage, type SyncStorage, type SyncStorageArea } from '../src/storage'
import { Persistence, type SavedState } from '../src/persistence'
import { CACHE_FORMAT } from '../src/cacheFormat'
import { snapshotOf, type ServerSnapshot } from '../src/view'
import type { MutationRecord } from '../src/mutation'
import { countingStorage, makeStore, startServer } from './support/harness'
import { makeEvent, makeSeed } from './support/events'
import { cacheMeta, segmentOf } from './support/rawCache'
import { failingRead, heldReads } from './support/heldReads'
import { failingWritesTo } from './support/storageGates'
import { storeNamespace } from '../src/storeOptions'
import { createWorkstreamStore } from '../src/store'

const initial = [makeEvent('a', 1), makeEvent('b', 2)]

/** What save() takes, with no renames. */
function savedState(server: ServerSnapshot, records: readonly MutationRecord[], lastSyncedAt: number): SavedState {
  return { server, records, lastSyncedAt, renamed: new Map(), clientIdsHonoured: false }
}

/** A storage whose writes fail with the given DOMException name once `failing` is set. */
function failingWrites(name: string): SyncStorage & { failing: boolean } {
  const inner = memoryStorage()
  const storage = {
    kind: 'failing',
    failing: false,
    open(namespace: string) {
      const area = inner.open(namespace)
      const fail = async (): Promise<never> => {
        throw new DOMException('simulated', name)
      }
      return {
        ...area,
        setMany: (items: ReadonlyArray<readonly [string, unknown]>) => (storage.failing ? fail() : area.setMany(items)),
        delMany: (keys: readonly string[]) => (storage.failing ? fail() : area.delMany(keys)),
        write: (items: ReadonlyArray<readonly [string, unknown]>, keys: readonly string[]) => (storage.failing ? fail() : area.write!(items, keys)),
      }
    },
  }
  return storage
}

/**
 * A storage over a synchronous API (localStorage, say) written without `async`: once `broken` (the
 * quota full, storage disabled), its methods throw instead of rejecting.
 */
function throwingStorage(): SyncStorage & { broken: boolean } {
  const inner = memoryStorage()
  const storage = {
    kind: 'throwing',
    broken: false,
    open(namespace: string): SyncStorageArea {
      const area = inner.open(namespace)
      const check = (): void => {
        if (storage.broken) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      }
      return {
        entries: () => (check(), area.entries()),
        setMany: (items) => (check(), area.setMany(items)),
        delMany: (keys) => (check(), area.delMany(keys)),
        clear: () => (check(), area.clear()),
        close: () => area.close(),
      }
    },
  }
  return storage
}

describe('persistence', () => {
  it('stores the events in segments, and a change as one more segment with only the delta', async () => {
    const server = await startServer({ events: initial })
    const idb = new IDBFactory()
    const storage = indexedDbStorage({ name: 'delta', indexedDB: idb })
    const store = makeStore(server, { storage })
    await store.refresh()
    server.update('a', { readable: 'changed' })
    server.delete('b')
    await store.refresh()
    await store.dispose()
    const area = storage.open(storeNamespace(server.url))
    const stored = new Map(await area.entries())
    expect([...stored.keys()].sort()).toEqual(['meta', 's:0', 's:1'])
    expect(stored.get('meta')).toMatchObject({ segments: [0, 1], base: 1 })
    expect(stored.get('s:0')).toMatchObject({ ids: ['a', 'b'].sort(), removed: [] })
    expect(stored.get('s:1')).toMatchObject({ ids: ['a'], removed: ['b'] })
    area.close()
    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(reloaded.events.map((e) => e.readable)).toEqual(['changed'])
  })

  it('keeps the renames of creates the server named otherwise, and writes them again only when they change', async () => {
    const storage = countingStorage(memoryStorage())
    const first = new Persistence({ storage, namespace: 'n', onError: () => {} })
    const snapshot = snapshotOf([makeEvent('a', 1)])
    first.save({ ...savedState(snapshot, [], 1), renamed: new Map([['client-1', 'server-1']]) })
    await first.flush()
    const second = new Persistence({ storage, namespace: 'n', onError: () => {} })
    const loaded = await second.load()
    expect(loaded.renamed).toEqual([['client-1', 'server-1']])
    const writes = storage.writes
    // The same renames in another map (the state's, made when it hydrated) are no change.
    second.save({ ...savedState(loaded.snapshot!, [], 1), renamed: new Map(loaded.renamed) })
    await second.flush()
    expect(storage.writes).toBe(writes)
    second.save({ ...savedState(loaded.snapshot!, [], 1), renamed: new Map([...loaded.renamed!, ['client-2', 'server-2']]) })
    await second.flush()
    expect((await new Persistence({ storage, namespace: 'n', onError: () => {} }).load()).renamed).toEqual([
      ['client-1', 'server-1'],
      ['client-2', 'server-2'],
    ])
  })

  it('writes everything again, meta record included, after a load that found the storage emptied by another tab', async () => {
    const storage = memoryStorage()
    const first = new Persistence({ storage, namespace: 'n', onError: () => {} })
    const snapshot = snapshotOf([makeEvent('a', 1)])
    first.save(savedState(snapshot, [], 1))
    await first.flush()
    // A second tab's cache read it; then the storage was wiped under it (the first tab's clear()).
    const second = new Persistence({ storage, namespace: 'n', onError: () => {} })
    const loaded = await second.load()
    await storage.open('n').clear()
    expect(await second.load()).toMatchObject({ snapshot: undefined })
    second.save(savedState(loaded.snapshot!, [], 1))
    await second.flush()
    const errors: string[] = []
    const reread = await new Persistence({ storage, namespace: 'n', onError: (e) => errors.push(e.message) }).load()
    expect(errors).toEqual([])
    expect(reread.snapshot?.events.map((e) => e.id)).toEqual(['a'])
  })

  it('writes everything into memory after a write that failed while the cache loaded (bug: it wrote a delta against the storage it gave up, and a read of memory lost the cached mutation)', async () => {
    const inner = memoryStorage()
    const cached: MutationRecord = { id: 'm1', kind: 'delete', eventId: 'a', state: 'queued', attempts: 0, queuedAt: 1, queuedSeq: 0 }
    const earlier = new Persistence({ storage: inner, namespace: 'n', onError: () => {} })
    earlier.save(savedState(snapshotOf([makeEvent('a', 1)]), [cached], 1))
    await earlier.flush()
    const reads = heldReads(inner)
    reads.hold()
    const writes = { failing: true }
    const persistence = new Persistence({ storage: failingWritesTo(reads.storage, writes), namespace: 'n', onError: () => {} })
    const loading = persistence.load()
    await reads.reading
    // A mutation made while the cache loads is written at once, and its write fails: memory from now on.
    const made: MutationRecord = { ...cached, id: 'm2', eventId: 'b', queuedAt: 2 }
    persistence.putRecord(made)
    await persistence.flush()
    reads.release()
    const loaded = await loading
    persistence.save(savedState(loaded.snapshot!, [...loaded.records, made], 1))
    await persistence.flush()
    // Read again from memory, as a takeover by this tab would.
    const reread = await persistence.load(true)
    expect(reread.records.map((r) => r.id).sort()).toEqual(['m1', 'm2'])
    expect(reread.snapshot?.events.map((e) => e.id)).toEqual(['a'])
  })

  it('leaves storage to the new leader when a takeover read failed and the lead was lost meanwhile (only its owner wipes it)', async () => {
    const inner = memoryStorage()
    const saved: MutationRecord = { id: 'm1', kind: 'delete', eventId: 'a', state: 'queued', attempts: 0, queuedAt: 1, queuedSeq: 0 }
    const leader = new Persistence({ storage: inner, namespace: 'n', onError: () => {} })
    leader.save(savedState(snapshotOf([makeEvent('a', 1)]), [saved], 1))
    await leader.flush()
    let owns = true
    const flaky = failingRead(inner)
    const taking = new Persistence({ storage: flaky.storage, namespace: 'n', onError: () => {}, ownsStorage: () => owns })
    const loading = taking.load(true)
    await flaky.reading
    flaky.fail()
    await loading
    owns = false
    taking.dropCopiesLeftBehind()
    const reread = await new Persistence({ storage: inner, namespace: 'n', onError: () => {} }).load()
    expect(reread.records.map((r) => r.id)).toEqual(['m1'])
  })

  it('reads a follower’s copy of a mutation only until the leader has saved its own version', async () => {
    const storage = memoryStorage()
    const queued: MutationRecord = { id: 'm1', kind: 'delete', eventId: 'a', state: 'queued', attempts: 0, queuedAt: 1, queuedSeq: 0, origin: 'follower' }
    const sending: MutationRecord = { ...queued, state: 'sending', attempts: 1 }
    const follower = new Persistence({ storage, namespace: 'n', onError: () => {} })
    follower.putRecord(queued)
    await follower.flush()
    // The leader never saved it (its tab closed first): the follower's copy is the mutation.
    expect((await new Persistence({ storage, namespace: 'n', onError: () => {} }).load()).records).toEqual([queued])
    const leader = new Persistence({ storage, namespace: 'n', onError: () => {} })
    await leader.load()
    leader.save(savedState(snapshotOf([]), [sending], 1))
    await leader.flush()
    // The follower's write of the older version lands last, as it can across two connections.
    follower.putRecord(queued)
    await follower.flush()
    expect((await new Persistence({ storage, namespace: 'n', onError: () => {} }).load()).records).toEqual([sending])
  })

  it('leaves the events and the meta record to the leader once this tab no longer leads, writes it queued before included', async () => {
    const storage = memoryStorage()
    let leads = true
    const persistence = new Persistence({ storage, namespace: 'n', onError: () => {}, ownsStorage: () => leads })
    persistence.save(savedState(snapshotOf([makeEvent('a')]), [], 1))
    // Another tab took the lead before the queued write went out (this one was frozen).
    leads = false
    await persistence.flush()
    expect(await storage.open('n').entries()).toEqual([])
  })

  it('writes what a snapshot says changed from the one it saved, and compares everything otherwise', async () => {
    const written: Array<[string, unknown]> = []
    const inner = memoryStorage()
    const storage: SyncStorage = {
      kind: 'recording',
      open(namespace) {
        const area = inner.open(namespace)
        return { ...area, write: (items, keys) => (written.push(...(items as Array<[string, unknown]>)), area.write!(items, keys)) }
      },
    }
    const persistence = new Persistence({ storage, namespace: 'n', onError: (error) => expect.unreachable(error.message) })
    const [a, b, c] = [makeEvent('a'), makeEvent('b'), makeEvent('c')]
    const first = snapshotOf([a, b])
    persistence.save(savedState(first, [], 1))
    await persistence.flush()
    written.length = 0
    // The delta names c and b; a is the same object, so no full comparison is needed to skip it.
    const byId = new Map([['a', a], ['c', c]])
    persistence.save(savedState({ events: [a, c], byId, changedFrom: { from: first.stamp!, ids: ['c', 'b'] } }, [], 2))
    await persistence.flush()
    expect(written.map(([key]) => key).sort()).toEqual(['meta', 's:1'])
    expect(written.find(([key]) => key === 's:1')?.[1]).toMatchObject({ ids: ['c'], removed: ['b'] })
    written.length = 0
    // A delta from a map this cache never saved is ignored: the full comparison finds the change.
    const a2 = makeEvent('a', 0, { readable: 'changed' })
    persistence.save(savedState({ events: [a2, c], byId: new Map([['a', a2], ['c', c]]), changedFrom: { from: first.stamp!, ids: [] } }, [], 3))
    await persistence.flush()
    expect(written.find(([key]) => key === 's:2')?.[1]).toMatchObject({ ids: ['a'], removed: [] })
    const loaded = await new Persistence({ storage, namespace: 'n', onError: () => {} }).load()
    expect(loaded.snapshot?.events.map((e) => e.readable).sort()).toEqual(['changed', 'event c'])
  })

  it('falls back to memory on a quota error, reports it, and keeps syncing and queueing', async () => {
    const server = await startServer({ events: initial })
    const storage = failingWrites('QuotaExceededError')
    const store = makeStore(server, { storage })
    await store.refresh()
    storage.failing = true
    const { confirmed } = store.create(makeSeed('after the quota'))
    await confirmed
    await store.refresh()
    expect(store.errors.some((e) => e.kind === 'storage' && /quota/i.test(e.message))).toBe(true)
    expect(store.events.some((e) => e.readable === 'after the quota')).toBe(true)
  })

  it('falls back to memory, reports it and keeps sending when the storage’s methods throw instead of rejecting', async () => {
    const server = await startServer({ events: initial })
    const storage = throwingStorage()
    const store = makeStore(server, { storage })
    await store.refresh()
    storage.broken = true
    const first = store.create(makeSeed('after the storage broke'))
    const second = store.create(makeSeed('and another'))
    await Promise.all([first.confirmed, second.confirmed])
    await store.flush()
    expect(store.errors.filter((e) => e.kind === 'storage').map((e) => e.message)).toEqual([expect.stringMatching(/in memory.*QuotaExceededError/)])
    expect(store.outbox).toEqual([])
    await store.dispose()
  })

  it('reports a storage that throws as soon as the store reads it, to errors$ subscribed right after the store was made (bug: it was reported before anyone could listen)', async () => {
    const server = await startServer({ events: initial })
    const storage = throwingStorage()
    storage.broken = true
    const store = createWorkstreamStore({ baseUrl: server.url, storage, tabs: false, pollIntervalMs: 0 })
    const kinds: string[] = []
    store.errors$.subscribe((error) => kinds.push(error.kind))
    await store.ready
    expect(kinds).toEqual(['storage'])
    await store.refresh()
    expect(store.events.map((e) => e.id)).toEqual(['a', 'b'])
    await store.dispose()
  })

  it('keeps a follower’s own copy of its mutation in memory when the storage throws instead of rejecting', async () => {
    const storage = throwingStorage()
    const errors: string[] = []
    const follower = new Persistence({ storage, namespace: 'n', onError: (error) => errors.push(error.message), ownsStorage: () => false })
    storage.broken = true
    const record: MutationRecord = { id: 'm1', kind: 'delete', eventId: 'a', state: 'queued', attempts: 0, queuedAt: 1, queuedSeq: 0, origin: 'follower' }
    follower.putRecord(record)
    await follower.flush()
    expect(errors).toEqual([expect.stringMatching(/in memory.*QuotaExceededError/)])
    expect((await follower.load()).records).toEqual([record])
  })

  it('falls back to memory when IndexedDB is missing', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { storage: indexedDbStorage({ name: 'missing', indexedDB: undefined as never }) })
    const saved = globalThis.indexedDB
    expect(saved).toBeUndefined()
    await store.ready
    await store.refresh()
    expect(store.events).toHaveLength(2)
    expect(store.errors.some((e) => e.kind === 'storage' && /not available/.test(e.message))).toBe(true)
  })

  it('falls back to memory when opening IndexedDB fails', async () => {
    const server = await startServer({ events: initial })
    const broken = { open: () => { throw new DOMException('denied', 'SecurityError') } } as unknown as IDBFactory
    const store = makeStore(server, { storage: indexedDbStorage({ name: 'broken', indexedDB: broken }) })
    await store.ready
    await store.refresh()
    expect(store.events).toHaveLength(2)
    expect(store.errors.some((e) => e.kind === 'storage' && /SecurityError/.test(e.message))).toBe(true)
  })

  it('discards a cache of another format version with a warning', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const namespace = storeNamespace(server.url)
    await storage.open(namespace).setMany([['meta', { format: CACHE_FORMAT + 1, namespace }], ['e:zzz', JSON.stringify(makeEvent('zzz'))]])
    const store = makeStore(server, { storage })
    await store.ready
    expect(store.events).toEqual([])
    expect(store.errors.some((e) => e.kind === 'storage' && /format/.test(e.message))).toBe(true)
    expect((await storage.open(namespace).entries())).toEqual([])
  })

  it('drops corrupted or wrongly shaped entries and keeps the good ones', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const namespace = storeNamespace(server.url)
    const texts: Array<[string, string]> = [
      ['good', JSON.stringify(makeEvent('good'))],
      ['broken', '{"id": "broken", '],
      ['shape', JSON.stringify({ id: 'shape' })],
      ['other', JSON.stringify(makeEvent('mismatch'))],
    ]
    await storage.open(namespace).setMany([
      ['meta', cacheMeta(namespace, [0, 1])],
      ['s:0', segmentOf(texts)],
      ['s:1', { ids: ['x'], lengths: [3], text: 'too long for its lengths', removed: [] }],
      ['m:bad', { kind: 'create', id: 'bad' }],
    ])
    const store = makeStore(server, { storage })
    await store.ready
    expect(store.events.map((e) => e.id)).toEqual(['good'])
    expect(store.outbox).toEqual([])
    expect(store.errors.find((e) => e.kind === 'storage')?.message).toMatch(/5 unreadable cache entries \(m:bad, s:1, event "other", …\)/)
    // What is unreadable is gone from storage once the next snapshot is saved.
    await store.refresh()
    await store.dispose()
    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(reloaded.errors).toEqual([])
    expect(reloaded.events.map((e) => e.id).sort()).toEqual(['a', 'b'])
  })

  it('reads a meta record whose lastSyncedAt is not a time as never synced, and keeps its events', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const namespace = storeNamespace(server.url)
    await storage.open(namespace).setMany([
      ['meta', { ...cacheMeta(namespace, [0]), lastSyncedAt: 'yesterday' }],
      ['s:0', segmentOf([['good', JSON.stringify(makeEvent('good'))]])],
    ])
    const store = makeStore(server, { storage, online: { get: () => false, subscribe: () => () => {} } })
    await store.ready
    expect(store.events.map((e) => e.id)).toEqual(['good'])
    expect(store.status.lastSyncedAt).toBeUndefined()
    await store.dispose()
  })

  it('wipes the cache and the outbox on clear()', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const store = makeStore(server, { storage, online: { get: () => false, subscribe: () => () => {} } })
    await store.ready
    const { confirmed } = store.create(makeSeed('queued'))
    await store.clear()
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    expect(store.events).toEqual([])
    // Nothing but a meta record naming the clear, for a tab that takes over unaware of it.
    const namespace = storeNamespace(server.url)
    expect(await storage.open(namespace).entries()).toEqual([['meta', { format: CACHE_FORMAT, namespace, segments: [], base: 0, clearedBy: expect.any(String) }]])
  })

  it('keeps durable a create made while clear() is still wiping storage', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const offline = { get: () => false, subscribe: () => () => {} }
    const store = makeStore(server, { storage, online: offline })
    await store.ready
    store.create(makeSeed('queued before the logout'))
    const clearing = store.clear()
    const { event } = store.create(makeSeed('the next user’s first event'))
    await clearing
    // dispose() waits for the writes queued so far.
    await store.dispose()
    const reloaded = makeStore(server, { storage, online: offline })
    await reloaded.ready
    expect(reloaded.outbox.map((m) => m.eventId)).toEqual([event.id])
  })

  it('sends nothing that clear() rejected, even a create that was about to go out', async () => {
    const server = await startServer({ events: initial })
    const posts: string[] = []
    const recording: typeof fetch = (input, init) => {
      if (init?.method === 'POST') posts.push(String(input))
      return fetch(input, init)
    }
    const store = makeStore(server, { fetch: recording })
    await store.ready
    // Online: create() starts the send at once; it goes out when the outbox is durable.
    const { confirmed } = store.create(makeSeed('written just before logout'))
    await store.clear()
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    // A snapshot's round trip: a send left running would have gone out before it ends.
    await store.refresh()
    expect(posts).toEqual([])
    expect(server.requests.count('create')).toBe(0)
    expect(store.events.map((e) => e.id).sort()).toEqual(initial.map((e) => e.id).sort())
  })

  it('aborts a create that is on the wire when clear() is called', async () => {
    const server = await startServer({ events: initial })
    server.faults.add('create', { type: 'latency', ms: 2000 })
    let markPosted!: (signal: AbortSignal | undefined) => void
    const posted = new Promise<AbortSignal | undefined>((resolve) => (markPosted = resolve))
    const recording: typeof fetch = (input, init) => {
      if (init?.method === 'POST') markPosted(init.signal ?? undefined)
      return fetch(input, init)
    }
    const store = makeStore(server, { fetch: recording, timeoutMs: 10_000 })
    await store.ready
    const { confirmed } = store.create(makeSeed('on the wire at logout'))
    const signal = await posted
    expect(signal?.aborted).toBe(false)
    await store.clear()
    expect(signal?.aborted).toBe(true)
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    await store.flush()
    expect(store.outbox).toEqual([])
    expect(store.status.pending).toBe(0)
  })
})
