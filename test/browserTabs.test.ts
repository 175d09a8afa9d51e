import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { browserTabCoordinator, type BrowserTabOptions } from '../src/browserTabs'
import type { Timers } from '../src/environment'
import { memoryStorage } from '../src/storage'
import type { TabCoordinator, TabMessage } from '../src/tabs'
import { fakeBroadcastHub, type FakeBroadcastHub } from './support/fakeBroadcastChannel'
import { fakeLockManager, type FakeLockManager } from './support/fakeLockManager'
import { countingStorage, makeStore, startServer, until } from './support/harness'
import { heldWrites } from './support/storageGates'
import { makeEvent, makeSeed } from './support/events'
import { storeNamespace } from '../src/storeOptions'

const NAMESPACE = 'http://127.0.0.1:1|'
const CHANNEL = `workstream-sync:${NAMESPACE}`
const BEAT = 100

const hello = (from: string): TabMessage => ({ type: 'hello', from })

/** One origin: tabs share its lock manager and its channels. */
function origin() {
  const locks = fakeLockManager()
  const hub = fakeBroadcastHub()
  const opened: TabCoordinator[] = []
  const tab = (options: BrowserTabOptions = {}) => {
    const tabs = browserTabCoordinator(NAMESPACE, { locks, channel: hub.channel, heartbeatMs: BEAT, random: () => 0, ...options })
    opened.push(tabs)
    return Object.assign(tabs, { leadership: record(tabs) })
  }
  return { locks, hub, tab, closeAll: () => opened.forEach((tabs) => tabs.close()) }
}

function record(tabs: TabCoordinator): boolean[] {
  const seen: boolean[] = []
  tabs.onLeadership((isLeader) => seen.push(isLeader))
  return seen
}

/** A tab's timers that stop firing while it is frozen, as a frozen page's do, and catch up on thaw. */
function freezableTimers(): Timers & { freeze(): void; thaw(): void } {
  let frozen = false
  const deferred: Array<() => void> = []
  return {
    setTimeout: (callback, ms) => setTimeout(() => (frozen ? deferred.push(callback) : callback()), ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    freeze: () => {
      frozen = true
    },
    thaw: () => {
      frozen = false
      deferred.splice(0).forEach((callback) => callback())
    },
  }
}

describe('browserTabCoordinator', () => {
  let world: ReturnType<typeof origin>

  beforeEach(() => {
    vi.useFakeTimers()
    world = origin()
  })

  afterEach(() => {
    world.closeAll()
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('is alone and always the leader where Web Locks are missing (Node 20 has no navigator.locks)', () => {
    const tabs = browserTabCoordinator(NAMESPACE)
    expect(tabs.isLeader).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    tabs.close()
  })

  it('is alone and always the leader where BroadcastChannel is missing', () => {
    vi.stubGlobal('BroadcastChannel', undefined)
    const tabs = browserTabCoordinator(NAMESPACE, { locks: world.locks })
    expect(tabs.isLeader).toBe(true)
    expect(world.locks.waiting(CHANNEL)).toBe(0)
    tabs.close()
  })

  it('refuses a heartbeatMs that is not positive, with an invalid-input error', () => {
    expect(() => browserTabCoordinator(NAMESPACE, { locks: world.locks, channel: world.hub.channel, heartbeatMs: 0 })).toThrow(
      expect.objectContaining({ kind: 'invalid-input' }),
    )
    expect(world.hub.open).toBe(0)
  })

  it('elects exactly one leader among the tabs of a namespace', async () => {
    const first = world.tab()
    const second = world.tab()
    const third = world.tab()
    await vi.advanceTimersByTimeAsync(0)
    expect([first.isLeader, second.isLeader, third.isLeader]).toEqual([true, false, false])
    expect(first.leadership).toEqual([true])
    expect(second.leadership).toEqual([])
  })

  it('knows at once whether a tab leads from the start: elected resolves with the lock held or queued for', async () => {
    const first = world.tab()
    const second = world.tab()
    await first.elected
    expect(first.isLeader).toBe(true)
    await second.elected
    expect(second.isLeader).toBe(false)
    expect(world.locks.waiting(CHANNEL)).toBe(2)
    first.close()
    await vi.advanceTimersByTimeAsync(0)
    expect(second.leadership).toEqual([true])
  })

  it('keeps namespaces apart: each has its own leader', async () => {
    const one = world.tab()
    const other = browserTabCoordinator('http://127.0.0.1:2|', { locks: world.locks, channel: world.hub.channel, heartbeatMs: BEAT })
    await vi.advanceTimersByTimeAsync(0)
    expect(one.isLeader).toBe(true)
    expect(other.isLeader).toBe(true)
    other.close()
  })

  it('hands the lead to the next tab in line when the leader closes', async () => {
    const first = world.tab()
    const second = world.tab()
    const third = world.tab()
    await vi.advanceTimersByTimeAsync(0)
    first.close()
    await vi.advanceTimersByTimeAsync(0)
    expect(second.isLeader).toBe(true)
    expect(second.leadership).toEqual([true])
    expect(third.isLeader).toBe(false)
    expect(first.isLeader).toBe(false)
  })

  it('hands the lead over when the leader’s tab crashes and its lock is released', async () => {
    const first = world.tab()
    const second = world.tab()
    await vi.advanceTimersByTimeAsync(0)
    world.locks.dropHolder(CHANNEL)
    await vi.advanceTimersByTimeAsync(0)
    expect(second.isLeader).toBe(true)
    first.close()
  })

  it('delivers a store’s messages to the other tabs, not back to itself', async () => {
    const first = world.tab()
    const second = world.tab()
    const toFirst: TabMessage[] = []
    const toSecond: TabMessage[] = []
    first.onMessage((m) => toFirst.push(m))
    second.onMessage((m) => toSecond.push(m))
    second.post(hello('second'))
    await vi.advanceTimersByTimeAsync(0)
    expect(toFirst).toEqual([hello('second')])
    expect(toSecond).toEqual([])
  })

  it('never passes heartbeats to the stores, though the leader sends them every heartbeatMs', async () => {
    world.tab()
    const follower = world.tab()
    const received: TabMessage[] = []
    follower.onMessage((m) => received.push(m))
    await vi.advanceTimersByTimeAsync(BEAT * 10)
    expect(world.hub.posted(CHANNEL).length).toBeGreaterThanOrEqual(10)
    expect(received).toEqual([])
  })

  it('ignores what is not its own envelope on the channel', async () => {
    const follower = world.tab()
    const received: TabMessage[] = []
    follower.onMessage((m) => received.push(m))
    const stranger = world.hub.channel(CHANNEL)
    stranger.postMessage('hello')
    stranger.postMessage({ message: { nope: true } })
    stranger.postMessage({ message: hello('stranger') })
    await vi.advanceTimersByTimeAsync(0)
    expect(received).toEqual([hello('stranger')])
    stranger.close()
  })

  it('does not take over while the leader keeps beating', async () => {
    const leader = world.tab()
    const follower = world.tab()
    await vi.advanceTimersByTimeAsync(BEAT * 50)
    expect(leader.isLeader).toBe(true)
    expect(follower.isLeader).toBe(false)
    expect(leader.leadership).toEqual([true])
    expect(follower.leadership).toEqual([])
  })

  it('takes over from a frozen leader after three missed heartbeats, and the frozen one steps down', async () => {
    const frozenTimers = freezableTimers()
    const leader = world.tab({ timers: frozenTimers })
    const follower = world.tab()
    await vi.advanceTimersByTimeAsync(BEAT * 5)
    frozenTimers.freeze()
    await vi.advanceTimersByTimeAsync(BEAT * 2)
    expect(follower.isLeader).toBe(false)
    await vi.advanceTimersByTimeAsync(BEAT * 2)
    expect(follower.isLeader).toBe(true)
    expect(leader.isLeader).toBe(false)
    expect(leader.leadership).toEqual([true, false])
  })

  it('queues the stepped-down leader again, so it leads once the new leader closes', async () => {
    const frozenTimers = freezableTimers()
    const leader = world.tab({ timers: frozenTimers })
    const follower = world.tab()
    await vi.advanceTimersByTimeAsync(0)
    frozenTimers.freeze()
    await vi.advanceTimersByTimeAsync(BEAT * 5)
    expect(follower.isLeader).toBe(true)
    frozenTimers.thaw()
    await vi.advanceTimersByTimeAsync(BEAT * 20)
    expect([leader.isLeader, follower.isLeader]).toEqual([false, true])
    follower.close()
    await vi.advanceTimersByTimeAsync(0)
    expect(leader.isLeader).toBe(true)
    expect(leader.leadership).toEqual([true, false, true])
  })

  it('gives the leader one more window when its own watchdog fired late, as after a laptop’s sleep', async () => {
    const leaderTimers = freezableTimers()
    const followerTimers = freezableTimers()
    let skew = 0
    const leader = world.tab({ timers: leaderTimers })
    const follower = world.tab({ timers: followerTimers, now: () => Date.now() + skew })
    await vi.advanceTimersByTimeAsync(BEAT)
    // Both tabs sleep for a minute; the follower's watchdog then fires at once, before any beat.
    leaderTimers.freeze()
    followerTimers.freeze()
    await vi.advanceTimersByTimeAsync(BEAT * 4)
    skew = 60_000
    followerTimers.thaw()
    expect(follower.isLeader).toBe(false)
    leaderTimers.thaw()
    await vi.advanceTimersByTimeAsync(BEAT * 20)
    expect(follower.isLeader).toBe(false)
    expect(leader.leadership).toEqual([true])
  })

  it('waits up to one more interval, at random, so that followers do not all take over at once', async () => {
    const frozenTimers = freezableTimers()
    world.tab({ timers: frozenTimers })
    const follower = world.tab({ random: () => 0.9 })
    await vi.advanceTimersByTimeAsync(0)
    frozenTimers.freeze()
    await vi.advanceTimersByTimeAsync(BEAT * 3.5)
    expect(follower.isLeader).toBe(false)
    await vi.advanceTimersByTimeAsync(BEAT * 0.5)
    expect(follower.isLeader).toBe(true)
  })

  it('acts alone when the lock manager refuses the page, instead of asking again and again', async () => {
    let requests = 0
    const refusing = {
      request: () => {
        requests++
        return Promise.reject(new DOMException('not allowed here', 'SecurityError'))
      },
      query: () => Promise.resolve({ held: [], pending: [] }),
    } as unknown as LockManager
    const tabs = world.tab({ locks: refusing })
    await vi.advanceTimersByTimeAsync(BEAT * 20)
    expect(tabs.isLeader).toBe(true)
    expect(tabs.leadership).toEqual([true])
    expect(requests).toBe(1)
  })

  it('keeps electing and notifying when a leadership listener throws, and reports the error', async () => {
    const reported: unknown[] = []
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error))
    const tabs = world.tab()
    const seen: boolean[] = []
    tabs.onLeadership(() => {
      throw new Error('a broken listener')
    })
    tabs.onLeadership((isLeader) => seen.push(isLeader))
    await vi.advanceTimersByTimeAsync(BEAT * 5)
    expect(tabs.isLeader).toBe(true)
    expect(seen).toEqual([true])
    expect(reported).toEqual([new Error('a broken listener')])
  })

  it('stops every timer and gives up its lock and channel on close', async () => {
    const leader = world.tab()
    const follower = world.tab()
    await vi.advanceTimersByTimeAsync(BEAT * 3)
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    const posted = world.hub.posted(CHANNEL).length
    leader.close()
    follower.close()
    await vi.advanceTimersByTimeAsync(BEAT * 10)
    expect(vi.getTimerCount()).toBe(0)
    expect(world.locks.waiting(CHANNEL)).toBe(0)
    expect(world.hub.open).toBe(0)
    follower.post(hello('after close'))
    expect(world.hub.posted(CHANNEL).length).toBe(posted)
  })
})

describe('browserTabCoordinator over Node’s real BroadcastChannel', () => {
  it('carries store messages between two coordinators and filters the heartbeats', async () => {
    const locks: FakeLockManager = fakeLockManager()
    const leader = browserTabCoordinator(NAMESPACE, { locks, heartbeatMs: 5 })
    const follower = browserTabCoordinator(NAMESPACE, { locks, heartbeatMs: 5 })
    try {
      const received: TabMessage[] = []
      const first = new Promise<TabMessage>((resolve) => follower.onMessage(resolve))
      follower.onMessage((m) => received.push(m))
      const elected = new Promise<boolean>((resolve) => leader.onLeadership(resolve))
      expect(await elected).toBe(true)
      leader.post(hello('leader'))
      expect(await first).toEqual(hello('leader'))
      expect(received).toEqual([hello('leader')])
      expect(follower.isLeader).toBe(false)
    } finally {
      leader.close()
      follower.close()
    }
  })
})

describe('stores coordinated by browserTabCoordinator', () => {
  let hub: FakeBroadcastHub
  let locks: FakeLockManager

  beforeEach(() => {
    hub = fakeBroadcastHub()
    locks = fakeLockManager()
  })

  it('sends a follower’s create once, through the leader, and shows it in both', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const storage = memoryStorage()
    // Beats far apart: this test is about the messages, and must not wait on timers.
    const tabs = (namespace: string) => browserTabCoordinator(namespace, { locks, channel: hub.channel, heartbeatMs: 60_000 })
    const leader = makeStore(server, { storage, tabs: tabs(storeNamespace(server.url)) })
    await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    const follower = makeStore(server, { storage, tabs: tabs(storeNamespace(server.url)) })
    await follower.ready
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 1)
    expect(follower.status.isLeader).toBe(false)
    const { event, confirmed } = follower.create(makeSeed('from the follower'))
    expect(follower.get(event.id)).toBe(event)
    await confirmed
    await until(leader.events$, (events) => events.some((e) => e.id === event.id))
    expect(server.requests.count('create')).toBe(1)
    expect(server.requests.count('snapshot')).toBe(1)
  })

  it('writes its last changes of the cache before it gives up the lead when disposed (bug: they were dropped as no longer the leader’s)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const cache = memoryStorage()
    const writes = heldWrites(cache)
    const tabs = browserTabCoordinator(storeNamespace(server.url), { locks, channel: hub.channel, heartbeatMs: 60_000 })
    const store = makeStore(server, { storage: writes.storage, tabs })
    await until(store.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    await store.refresh()
    await store.flush()
    // The disk is slow: the first change's write is still out when the second change is queued behind it.
    writes.hold()
    server.create(makeSeed('first change'))
    await store.refresh()
    const last = server.create(makeSeed('last change'))
    await store.refresh()
    const disposing = store.dispose()
    writes.release()
    await disposing
    const reloaded = makeStore(server, { storage: cache, tabs: false, online: { get: () => false, subscribe: () => () => {} } })
    await reloaded.ready
    expect(reloaded.get(last.id)).toBeDefined()
  })

  it('reads the cache once in a tab that leads from the start, and compares its first poll with it instead of parsing every event', async () => {
    const server = await startServer({ events: [makeEvent('a', 1), makeEvent('b', 2)] })
    const storage = countingStorage(memoryStorage())
    const earlier = makeStore(server, { storage, tabs: false })
    await earlier.refresh()
    const ids = earlier.events.map((e) => e.id)
    await earlier.dispose()
    const readsBefore = storage.reads
    const lines: string[] = []
    const sink = { error: () => {}, warn: () => {}, info: (m: string) => lines.push(m), debug: (m: string) => lines.push(m) }
    const tabs = (namespace: string) => browserTabCoordinator(namespace, { locks, channel: hub.channel, heartbeatMs: 60_000 })
    const leader = makeStore(server, { storage, tabs: tabs(storeNamespace(server.url)), logger: { level: 'debug', sink } })
    await leader.ready
    await until(leader.status$, (s) => s.isLeader)
    expect(leader.events.map((e) => e.id)).toEqual(ids)
    expect(storage.reads - readsBefore).toBe(1)
    await leader.refresh()
    expect(lines.filter((line) => line.includes('snapshot #1 applied'))).toEqual([expect.stringContaining('snapshot #1 applied (slices')])
    // A tab that follows reads the cache to show it at once; it reads again only when it takes over.
    const follower = makeStore(server, { storage, tabs: tabs(storeNamespace(server.url)) })
    await follower.ready
    expect(storage.reads - readsBefore).toBe(2)
    await leader.dispose()
    await until(follower.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    await until(follower.status$, () => storage.reads - readsBefore === 3)
    expect(follower.events.map((e) => e.id)).toEqual(ids)
  })
})
