import { describe, expect, it } from 'vitest'
import { browserTabCoordinator } from '../src/browserTabs'
import type { TabCoordinator, TabMessage } from '../src/tabs'
import type { WorkstreamServer } from '../src/server/index'
import { memoryStorage, type SyncStorage } from '../src/storage'
import { storeNamespace } from '../src/storeOptions'
import { makeEvent, makeSeed } from './support/events'
import { gatedFetch, makeStore, serverWithCache, startServer, until } from './support/harness'
import { fakeBroadcastHub } from './support/fakeBroadcastChannel'
import { fakeLockManager } from './support/fakeLockManager'
import { heldReads } from './support/heldReads'
import { memoryTabs } from './support/memoryTabs'
import { twoTabs } from './support/twoTabs'

/* refresh() in a follower tab, and how a leader makes itself known. */

describe('refresh() in a follower tab', () => {
  it('has the leader fetch for a follower’s refresh(): the follower sends no request, and an event made elsewhere shows once and stays (bug: it showed, hid and showed)', async () => {
    const { server, leader, follower, followerRequests } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    const removed: string[] = []
    follower.changes$.subscribe((changes) => removed.push(...changes.removed.map((e) => e.id)))
    const made = server.create(makeSeed('made in another app'))
    await follower.refresh()
    expect(follower.get(made.id)).toBeDefined()
    expect(leader.get(made.id)).toBeDefined()
    await leader.refresh()
    await follower.refresh()
    expect(removed).toEqual([])
    expect(followerRequests()).toBe(0)
  })

  it.each([
    ['fetches for itself when it then leads', 'follower'],
    ['asks the next leader again when another tab leads', 'third'],
  ] as const)('%s, after the leader went away before answering', async (_, asking) => {
    const gate = gatedFetch()
    const { server, hub, leader, follower, leaderTabs, storage } = await twoTabs(0, { leaderOptions: { fetch: gate.fetch } })
    const third = makeStore(server, { storage, tabs: hub.join() })
    await third.ready
    const tab = asking === 'follower' ? follower : third
    gate.hold()
    const refreshed = tab.refresh()
    await gate.arrived
    const made = server.create(makeSeed('made while the leader was stuck'))
    leaderTabs.crash()
    await refreshed
    // The next in line leads: the follower, which joined before the third tab.
    expect([follower.status.isLeader, third.status.isLeader]).toEqual([true, false])
    expect(tab.get(made.id)).toBeDefined()
    await gate.release()
    await leader.dispose()
    await third.dispose()
  })

  it('asks again a leader that leads again, which did not take the refresh while it had lost the lead', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const hub = memoryTabs()
    // A leader played by the test: it says what a tab whose lock was taken and given back says.
    const leader = hub.join()
    const asked: Array<Extract<TabMessage, { type: 'refresh' }>> = []
    let heard: () => void = () => {}
    leader.onMessage((message) => {
      if (message.type === 'refresh') asked.push(message)
      heard()
    })
    const askedTimes = (n: number) => new Promise<void>((resolve) => (heard = () => asked.length >= n && resolve()))
    const follower = makeStore(server, { storage: memoryStorage(), tabs: hub.join() })
    await follower.ready
    const first = askedTimes(1)
    const refreshed = follower.refresh()
    await first
    // It leads again, and says so twice (a stolen lock given back): the refresh is asked again each time.
    const again = askedTimes(3)
    leader.post({ type: 'leader', from: 'L' })
    leader.post({ type: 'leader', from: 'L' })
    await again
    expect(new Set(asked.map((m) => m.id)).size).toBe(1)
    leader.post({ type: 'state', from: 'L', server: { full: [] }, version: 1, records: [], lastSyncedAt: undefined, settled: [] })
    leader.post({ type: 'refreshed', from: 'L', to: asked[0]!.from, id: asked[0]!.id, version: 1 })
    await refreshed
    await follower.dispose()
  })

  it('rejects with an aborted error when the follower is disposed while it waits', async () => {
    const gate = gatedFetch()
    const { follower } = await twoTabs(0, { leaderOptions: { fetch: gate.fetch } })
    gate.hold()
    const refreshed = follower.refresh()
    await gate.arrived
    await follower.dispose()
    await expect(refreshed).rejects.toMatchObject({ kind: 'aborted' })
    await gate.release()
  })
})

describe('status$ in a follower tab', () => {
  it('says the sync is failing while the leader’s snapshots fail, and synced again once one succeeds (bug: it said synced, even right after its own refresh() failed)', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    expect(follower.status.phase).toBe('synced')

    // Pieces OS stops answering: every snapshot fails from now on.
    server.faults.add('snapshot', { type: 'status', status: 503 }, { times: Infinity })
    await expect(follower.refresh()).rejects.toMatchObject({ kind: 'http', status: 503 })
    expect(leader.status.phase).toBe('error')
    expect(follower.status).toMatchObject({ phase: 'error', error: { kind: 'http', status: 503 } })

    server.faults.clear()
    await leader.refresh()
    await until(follower.status$, (status) => status.phase === 'synced')
    expect(follower.status.error).toBeUndefined()

    // The leader's own poll fails: the follower shows it without having asked.
    server.faults.add('snapshot', { type: 'status', status: 503 })
    await expect(leader.refresh()).rejects.toMatchObject({ status: 503 })
    await until(follower.status$, (status) => status.phase === 'error' && status.error?.status === 503)
  })
})

describe('a leader that is still reading its cache', () => {
  /**
   * A leader elected at start whose read of `cache` is held (the browser's coordinator: it reads
   * as the leader and no takeover follows), and a follower on `followerCache` that has said hello.
   * Release the read with `held.release()`; `state` resolves when the follower hears the leader's state.
   */
  async function helloWhileReading(server: WorkstreamServer, cache: SyncStorage, followerCache: SyncStorage) {
    const held = heldReads(cache)
    held.hold()
    const locks = fakeLockManager()
    const channels = fakeBroadcastHub()
    const tabs = () => browserTabCoordinator(storeNamespace(server.url), { locks, channel: channels.channel, heartbeatMs: 60_000 })
    const leaderTabs = tabs()
    const leader = makeStore(server, { storage: held.storage, tabs: leaderTabs })
    // Heard after the leader's own listener has taken the hello.
    const hello = new Promise<void>((resolve) => leaderTabs.onMessage((message) => message.type === 'hello' && resolve()))
    await held.reading
    const followerTabs = tabs()
    const follower = makeStore(server, { storage: followerCache, tabs: followerTabs })
    const state = new Promise<void>((resolve) => followerTabs.onMessage((message) => message.type === 'state' && resolve()))
    const lengths: number[] = []
    follower.events$.subscribe((events) => lengths.push(events.length))
    await follower.ready
    await hello
    return { held, leader, follower, state, lengths }
  }

  it('does not answer a follower’s hello with an empty state, and asks it to say hello again once it has read it (bug: the follower’s list went blank)', async () => {
    const cache = memoryStorage()
    const server = await serverWithCache(cache, { events: [makeEvent('a', 1), makeEvent('b', 2)] })
    const { held, leader, follower, state, lengths } = await helloWhileReading(server, cache, cache)
    held.release()
    await state
    expect(follower.events.map((e) => e.id).sort()).toEqual(['a', 'b'])
    expect(lengths.slice(lengths.indexOf(2))).not.toContain(0)
    await leader.dispose()
    await follower.dispose()
  })

  it('keeps a follower’s list when the follower makes a mutation meanwhile (bug: the leader broadcast its empty, unread state, and the list went blank)', async () => {
    const cache = memoryStorage()
    const server = await serverWithCache(cache, { events: [makeEvent('a', 1), makeEvent('b', 2)] })
    const { held, leader, follower, lengths } = await helloWhileReading(server, cache, cache)
    expect(follower.events.map((e) => e.id).sort()).toEqual(['a', 'b'])

    // The app records an event as the follower's page opens; the leader queues it as it reads.
    follower.create(makeSeed('opened')).confirmed.catch(() => {})
    await until(leader.outbox$, (outbox) => outbox.length === 1)
    held.release()
    await until(follower.events$, (events) => events.length === 3)
    // What the leader said before it had read its cache came first: the list never lost a and b.
    expect(Math.min(...lengths.slice(lengths.indexOf(2)))).toBe(2)
    await leader.dispose()
    await follower.dispose()
  })

  it('settles a follower’s create and delete that it cancelled meanwhile, once it has read its cache', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const { held, leader, follower } = await helloWhileReading(server, memoryStorage(), memoryStorage())
    const { event, confirmed } = follower.create(makeSeed('opened'))
    const deleted = follower.delete(event.id)
    await until(leader.outbox$, (outbox) => outbox.length === 1)
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    held.release()
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    await expect(deleted).resolves.toBeUndefined()
    expect(server.requests.count('create')).toBe(0)
    await leader.dispose()
    await follower.dispose()
  })

  it('tells the followers once it has read an empty cache, which changes nothing to broadcast, so that a hello it did not answer is asked again', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const { held, leader, follower, state } = await helloWhileReading(server, memoryStorage(), memoryStorage())
    held.release()
    await state
    expect(follower.status.isLeader).toBe(false)
    await leader.dispose()
    await follower.dispose()
  })
})

/** A coordinator whose lead can be taken away, as a stolen Web Lock takes a frozen tab's. */
function demotable(inner: TabCoordinator): { tabs: TabCoordinator; demote(): void } {
  let demoted = false
  const listeners = new Set<(leads: boolean) => void>()
  inner.onLeadership((leads) => listeners.forEach((listener) => listener(leads && !demoted)))
  return {
    tabs: {
      get isLeader() {
        return inner.isLeader && !demoted
      },
      onLeadership(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      onMessage: (listener) => inner.onMessage(listener),
      post: (message) => inner.post(message),
      close: () => inner.close(),
    },
    demote() {
      demoted = true
      listeners.forEach((listener) => listener(false))
    },
  }
}

describe('refresh() in a leader that stops leading', () => {
  it('makes no request as a follower when a clear() drops the answer it waited for', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const gate = gatedFetch()
    const { tabs, demote } = demotable(memoryTabs().join())
    const store = makeStore(server, { fetch: gate.fetch, tabs })
    await until(store.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    await store.refresh()
    gate.hold()
    const refreshed = store.refresh()
    await gate.arrived
    demote()
    await store.clear()
    const before = server.requests.count('snapshot')
    await gate.release()
    await refreshed
    expect(server.requests.count('snapshot')).toBe(before)
  })
})
