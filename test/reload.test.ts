import { describe, expect, it, vi } from 'vitest'
import { IDBFactory } from 'fake-indexeddb'
import { firstValueFrom } from 'rxjs'
import { indexedDbStorage, memoryStorage } from '../src/storage'
import type { EventChanges, TabCoordinator, TabMessage } from '../src/index'
import { makeStore, serverWithCache, startServer, switchableOnline, until } from './support/harness'
import { makeEvent, makeSeed } from './support/events'
import { closingPage } from './support/storageGates'
import { heldReads } from './support/heldReads'
import { soloCoordinator } from '../src/tabs'

const initial = [makeEvent('a', 1), makeEvent('b', 2), makeEvent('c', 3)]

/** A server with `events`, and a storage whose cache a first store filled from it and left. */
async function filledCache(name: string, events = initial) {
  const server = await startServer({ events })
  const storage = indexedDbStorage({ name, indexedDB: new IDBFactory() })
  const first = makeStore(server, { storage })
  await first.refresh()
  await first.dispose()
  return { server, storage, first }
}

describe('reload safety (fake-indexeddb)', () => {
  it('shows the cached view at once after a reload, before any network response', async () => {
    const { server, storage, first } = await filledCache('reload-view')
    server.faults.add('snapshot', { type: 'latency', ms: 10_000 })
    const second = makeStore(server, { storage })
    await second.ready
    expect(second.events.map((e) => e.id)).toEqual(['a', 'b', 'c'])
    expect(second.status.lastSyncedAt).toBe(first.status.lastSyncedAt)
    expect(server.requests.count('snapshot')).toBe(1)
  })

  it('parses no unchanged event on the first poll after a reload, and keeps every cached event', async () => {
    const events = [
      ...initial,
      makeEvent('unicode', 4, { readable: 'Grüße, 東京 🚀 "quoted" {braces} [brackets] \\ back\nslash' }),
      makeEvent('d', 5),
    ]
    const { server, storage, first } = await filledCache('reload-seed', events)
    server.update('b', { readable: 'changed while the app was closed' })

    const second = makeStore(server, { storage })
    await second.ready
    const cached = new Map(second.events.map((e) => [e.id, e]))
    const parse = vi.spyOn(JSON, 'parse')
    try {
      await second.refresh()
      // The envelope's keys and the one changed event: nothing else is parsed.
      const parsedEvents = parse.mock.calls.filter(([text]) => typeof text === 'string' && text.startsWith('{"'))
      expect(parsedEvents.map(([text]) => (JSON.parse.call(JSON, text as string) as { id: string }).id)).toEqual(['b'])
    } finally {
      parse.mockRestore()
    }
    expect(second.get('b')?.readable).toBe('changed while the app was closed')
    for (const event of second.events) if (event.id !== 'b') expect(event).toBe(cached.get(event.id))
    await second.dispose()
  })

  it('keeps what the cache held out of the view when clear() is called before it has loaded', async () => {
    const { server, storage, first } = await filledCache('reload-clear-early')

    const second = makeStore(server, { storage })
    const clearing = second.clear()
    await second.ready
    await clearing
    expect(second.events).toEqual([])
    expect(second.status.lastSyncedAt).toBeUndefined()
    await second.dispose()
    const third = makeStore(server, { storage })
    await third.ready
    expect(third.events).toEqual([])
    await third.dispose()
  })

  it('leaves no unreadable cache behind when clear() comes while the cache loads (bug: the meta record still listed the wiped segments)', async () => {
    const { server, storage } = await filledCache('reload-clear-early-meta')
    const second = makeStore(server, { storage })
    // The cache's read is issued first, so the wipe lands after it has read the events.
    const clearing = second.clear()
    await second.ready
    await clearing
    await second.refresh()
    await second.dispose()
    server.faults.add('snapshot', { type: 'latency', ms: 10_000 })
    const third = makeStore(server, { storage })
    await third.ready
    expect(third.errors).toEqual([])
    expect(third.events.map((e) => e.id)).toEqual(['a', 'b', 'c'])
  })

  it('keeps the next user’s create when clear() comes while the cache loads (bug: it was written without a meta record, and the next reload discarded it)', async () => {
    const server = await startServer({ events: initial })
    const storage = indexedDbStorage({ name: 'reload-clear-early-create', indexedDB: new IDBFactory() })
    const offline = switchableOnline(false)
    // The last user never synced: the cache has no events, only an outbox.
    const first = makeStore(server, { storage, online: offline })
    await first.ready
    first.create(makeSeed('the last user’s, offline')).confirmed.catch(() => {})
    await first.dispose()
    const second = makeStore(server, { storage, online: offline })
    const clearing = second.clear()
    await second.ready
    await clearing
    const { event, confirmed } = second.create(makeSeed('the next user’s first event'))
    confirmed.catch(() => {})
    await second.dispose()
    const third = makeStore(server, { storage, online: offline })
    await third.ready
    expect(third.errors).toEqual([])
    expect(third.outbox.map((m) => m.eventId)).toEqual([event.id])
  })

  it('forgets the cache and the last body when the tab stops leading, and keeps the leader’s objects after', async () => {
    const { server, storage, first } = await filledCache('reload-seed-leadership')
    server.update('b', { readable: 'changed by another tab’s poll' })

    let leader = true
    const leadership = new Set<(isLeader: boolean) => void>()
    const inbox = new Set<(message: TabMessage) => void>()
    const tabs: TabCoordinator = {
      get isLeader() {
        return leader
      },
      onLeadership: (listener) => (leadership.add(listener), () => leadership.delete(listener)),
      post: () => {},
      onMessage: (listener) => (inbox.add(listener), () => inbox.delete(listener)),
      close: () => {},
    }
    const store = makeStore(server, { storage, tabs })
    await store.ready
    // The lock moves to another tab, whose state (with b changed) arrives here.
    leader = false
    for (const listener of leadership) listener(false)
    const full: TabMessage = { type: 'state', from: 'other tab', server: { full: structuredClone(server.events()) }, version: 1, records: [], lastSyncedAt: 1, settled: [] }
    for (const listener of inbox) listener(full)
    const shown = new Map(store.events.map((e) => [e.id, e]))
    expect(shown.get('b')?.readable).toBe('changed by another tab’s poll')
    // It comes back to this tab: the first poll must compare with what it shows, not with the old cache.
    leader = true
    for (const listener of leadership) listener(true)
    const changes: EventChanges[] = []
    store.changes$.subscribe((c) => changes.push(c))
    await store.refresh()
    expect(changes).toEqual([])
    for (const event of store.events) expect(event).toBe(shown.get(event.id))
    await store.dispose()
  })

  it('sends every queued mutation exactly once after a reload and converges on the server', async () => {
    const server = await startServer({ events: initial })
    const storage = indexedDbStorage({ name: 'reload-outbox', indexedDB: new IDBFactory() })
    const online = switchableOnline(false)
    const first = makeStore(server, { storage, online })
    await first.ready
    // Offline: everything queues. The cache is empty, so the deletes target server ids blind.
    const created = first.create(makeSeed('made offline')).event
    first.delete('a')
    const doomed = first.create(makeSeed('created then deleted')).event
    first.delete(doomed.id)
    expect(first.outbox.map((m) => m.kind)).toEqual(['create', 'delete'])
    await first.dispose()

    const second = makeStore(server, { storage })
    await second.ready
    expect(second.get(created.id)?.readable).toBe('made offline')
    expect(second.outbox.map((m) => [m.kind, m.eventId])).toEqual([['create', created.id], ['delete', 'a']])
    await second.flush()
    await second.refresh()
    expect(server.requests.count('create')).toBe(1)
    expect(server.requests.count('delete')).toBe(1)
    expect(server.events().map((e) => e.id).sort()).toEqual(['b', 'c', created.id].sort())
    expect(second.events.map((e) => e.id).sort()).toEqual(['b', 'c', created.id].sort())
    expect(second.outbox).toEqual([])
  })

  it('resolves a create that was on the wire at reload through a snapshot instead of sending it twice', async () => {
    const server = await startServer({ events: initial })
    const storage = indexedDbStorage({ name: 'reload-inflight', indexedDB: new IDBFactory() })
    const first = makeStore(server, { storage })
    await first.ready
    server.faults.add('create', { type: 'latency', ms: 300 })
    const { event } = first.create(makeSeed('in flight at reload'))
    await until(first.outbox$, (o) => o[0]?.state === 'sending')
    await first.dispose()
    const second = makeStore(server, { storage, pollIntervalMs: 20 })
    await second.ready
    expect(second.outbox).toMatchObject([{ kind: 'create', ambiguous: true }])
    second.start()
    await until(second.outbox$, (o) => o.length === 0)
    await second.refresh()
    expect(server.events().filter((e) => e.readable === 'in flight at reload')).toHaveLength(1)
    expect(second.get(event.id)).toBeDefined()
  })

  it('neither sends a create again nor undoes its delete when the page closes as the snapshot that found the create is saved', async () => {
    // The server gives events ids of its own: the snapshot finds the create by fingerprint, and
    // the delete, queued under the client id, is remapped to the server's.
    const server = await startServer({ events: initial, honourInternalIdentifier: false })
    const storage = indexedDbStorage({ name: 'reload-atomic', indexedDB: new IDBFactory() })
    const page = closingPage(storage)
    const first = makeStore(server, { storage: page.storage })
    await first.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    const { event, confirmed } = first.create(makeSeed('created, then deleted'))
    confirmed.catch(() => {})
    await until(first.outbox$, (o) => o[0]?.ambiguous === true)
    first.delete(event.id).catch(() => {})
    // Saved: the delete's record, and the removal of the follower's copy that it supersedes, last.
    await page.landed(`f:${first.outbox[1]!.id}`)
    // The write of the snapshot settles the create and remaps its delete; the page closes after it.
    page.closeAfter(1)
    await first.refresh()
    await first.dispose()

    // The next page load, a minute later (the create's grace period is over). A delete of the
    // event goes out at once; its snapshots wait for the answer, so that the create's check sees
    // the server without the event, as it can when the delete is quicker.
    let deleteAnswered!: () => void
    const answered = new Promise<void>((resolve) => (deleteAnswered = resolve))
    const second = makeStore(server, {
      storage,
      now: () => Date.now() + 60_000,
      fetch: async (input, init) => {
        if ((init?.method ?? 'GET') === 'GET') await answered
        const response = await fetch(input, init)
        if (String(input).endsWith('/delete')) deleteAnswered()
        return response
      },
    })
    await second.ready
    await second.flush()
    await second.refresh()
    expect(server.requests.count('create')).toBe(1)
    expect(server.events().filter((e) => e.readable === 'created, then deleted')).toEqual([])
    expect(second.events.filter((e) => e.readable === 'created, then deleted')).toEqual([])
  })

  it('keeps mutations persisted across dispose while their promises reject with aborted', async () => {
    const server = await startServer({ events: initial })
    const storage = indexedDbStorage({ name: 'reload-aborted', indexedDB: new IDBFactory() })
    const first = makeStore(server, { storage, online: switchableOnline(false) })
    await first.ready
    const done = first.delete('b')
    await first.dispose()
    await expect(done).rejects.toMatchObject({ kind: 'aborted' })
    const second = makeStore(server, { storage })
    await second.ready
    expect(second.outbox.map((m) => m.eventId)).toEqual(['b'])
  })

  it('lets a snapshot that lands during hydration win over the cache', async () => {
    const { server, storage, first } = await filledCache('reload-race')
    server.delete('a')
    const second = makeStore(server, { storage })
    const refreshed = second.refresh()
    await refreshed
    expect(second.events.map((e) => e.id)).toEqual(['b', 'c'])
    await second.dispose()
    const third = makeStore(server, { storage })
    await third.ready
    expect(third.events.map((e) => e.id)).toEqual(['b', 'c'])
  })

  it('keeps the caches of two base URLs or application ids apart in one storage', async () => {
    const one = await startServer({ events: initial })
    const two = await startServer({ events: [makeEvent('other')] })
    const storage = indexedDbStorage({ name: 'namespaces', indexedDB: new IDBFactory() })
    const a = makeStore(one, { storage })
    const b = makeStore(two, { storage })
    const c = makeStore(one, { storage, applicationId: 'another-app' })
    await Promise.all([a.refresh(), b.refresh()])
    await Promise.all([a.dispose(), b.dispose()])
    await c.ready
    expect(c.events).toEqual([])
    const a2 = makeStore(one, { storage })
    const b2 = makeStore(two, { storage })
    await Promise.all([a2.ready, b2.ready])
    expect(a2.events.map((e) => e.id)).toEqual(['a', 'b', 'c'])
    expect(b2.events.map((e) => e.id)).toEqual(['other'])
    expect(await firstValueFrom(b2.events$)).toHaveLength(1)
  })
})

describe('mutations made while the cache loads', () => {
  /** A cache of `initial`, and the next page load's store, offline, whose read of it is held (a large cache, a slow disk). */
  async function loadingStore() {
    const storage = memoryStorage()
    const server = await serverWithCache(storage, { events: initial })
    const slow = heldReads(storage)
    slow.hold()
    const offline = switchableOnline(false)
    const store = makeStore(server, { storage: slow.storage, online: offline })
    await slow.reading
    return { server, storage, offline, slow, store }
  }

  it('keeps a create made while the cache loads when the tab closes before the load ends (bug: it was written only once the cache had loaded)', async () => {
    const { server, storage, offline, slow, store } = await loadingStore()
    const { event, confirmed } = store.create(makeSeed('made during the cold start'))
    confirmed.catch(() => {})
    // The tab closes now, and the next page load reads what storage holds.
    const reloaded = makeStore(server, { storage, online: offline })
    await reloaded.ready
    expect(reloaded.outbox.map((m) => m.eventId)).toEqual([event.id])
    expect(reloaded.get(event.id)?.readable).toBe('made during the cold start')
    await reloaded.dispose()
    // Had the tab lived on, its cache's save supersedes that copy: the create is there once.
    slow.release()
    await store.ready
    expect(store.outbox.map((m) => m.eventId)).toEqual([event.id])
    await store.dispose()
    const again = makeStore(server, { storage, online: offline })
    await again.ready
    expect(again.outbox.map((m) => m.eventId)).toEqual([event.id])
    expect(again.errors).toEqual([])
  })

  it('leaves nothing to send after a reload when a create and its delete both come while the cache loads', async () => {
    const { server, storage, offline, slow, store } = await loadingStore()
    const { event, confirmed } = store.create(makeSeed('made and deleted during the cold start'))
    await store.delete(event.id)
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    const reloaded = makeStore(server, { storage, online: offline })
    await reloaded.ready
    expect(reloaded.outbox).toEqual([])
    expect(reloaded.get(event.id)).toBeUndefined()
    await reloaded.dispose()
    slow.release()
    await store.ready
    expect(store.outbox).toEqual([])
  })

  it('does not bring back a create cancelled by its delete while the cache loads, when the cache read its copy', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const slow = heldReads(storage)
    slow.hold()
    // The tab learns that it leads before it reads the cache, as with Web Locks.
    let elect!: () => void
    const elected = new Promise<void>((resolve) => (elect = resolve))
    const store = makeStore(server, { storage: slow.storage, online: switchableOnline(false), tabs: { ...soloCoordinator(), elected } })
    const { event, confirmed } = store.create(makeSeed('made before the cache was read'))
    confirmed.catch(() => {})
    elect()
    await slow.reading
    await store.delete(event.id)
    slow.release()
    await store.ready
    expect(store.outbox).toEqual([])
    expect(store.get(event.id)).toBeUndefined()
    await store.dispose()
    const reloaded = makeStore(server, { storage, online: switchableOnline(false) })
    await reloaded.ready
    expect(reloaded.outbox).toEqual([])
  })
})
