import { BehaviorSubject, Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { manualSource, type Timers } from '../src/environment'
import { memoryStorage } from '../src/storage'
import type { TabCoordinator, TabMessage } from '../src/tabs'
import { VISIBILITY_REFRESH_MS, VISIBILITY_TTL_MS } from '../src/tabVisibility'
import { makeStore, startServer, until } from './support/harness'
import { memoryTabs } from './support/memoryTabs'
import { twoTabs } from './support/twoTabs'
import { makeEvent, makeSeed } from './support/events'

const initial = [makeEvent('a', 1), makeEvent('b', 2)]

describe('several tabs', () => {
  it('makes a leader store with a coordinator that hands a new listener the messages it holds at once (bug: createWorkstreamStore threw a TypeError)', async () => {
    const server = await startServer({ events: initial })
    const posted: TabMessage[] = []
    // A coordinator built on a replaying subject: nothing in TabCoordinator.onMessage says a listener is called later.
    const tabs: TabCoordinator = {
      isLeader: true,
      elected: Promise.resolve(),
      onLeadership: () => () => {},
      post: (message) => posted.push(message),
      onMessage(listener) {
        listener({ type: 'hello', from: 'a follower' })
        return () => {}
      },
      close() {},
    }
    const store = makeStore(server, { tabs })
    await store.ready
    await store.refresh()
    expect(store.events.map((e) => e.id)).toEqual(['a', 'b'])
    // The hello came before the cache was read: the leader says it leads once it has, and the follower asks again.
    expect(posted.some((m) => m.type === 'leader')).toBe(true)
  })

  it('has exactly one leader, and only the leader polls', async () => {
    const { server, leader, follower, followerRequests } = await twoTabs(10)
    leader.start()
    follower.start()
    await until(follower.events$, (events) => events.length === 2)
    const polls = server.requests.count('snapshot')
    await until(leader.status$, () => server.requests.count('snapshot') >= polls + 3)
    expect(leader.status.isLeader).toBe(true)
    expect(follower.status.isLeader).toBe(false)
    expect(followerRequests()).toBe(0)
    expect(follower.status.phase).toBe('synced')
  })

  it('shows a follower’s create at once, sends it once through the leader, and settles the follower’s promise', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    const { event, confirmed } = follower.create(makeSeed('from the follower'))
    expect(follower.get(event.id)).toBe(event)
    const real = await confirmed
    expect(real.id).toBe(event.id)
    expect(server.requests.count('create')).toBe(1)
    await until(leader.events$, (events) => events.some((e) => e.id === event.id))
    expect(leader.events.map((e) => e.id)).toEqual(follower.events.map((e) => e.id))
  })

  it('deletes from a follower through the leader', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    const done = follower.delete('a')
    expect(follower.get('a')).toBeUndefined()
    await done
    expect(server.events().map((e) => e.id)).toEqual(['b'])
    expect(server.requests.count('delete')).toBe(1)
  })

  it('cancels a follower’s create and delete in the leader when nothing was sent yet', async () => {
    const { server, leader, follower } = await twoTabs()
    server.faults.add('create', { type: 'latency', ms: 50 })
    await leader.refresh()
    const blocker = leader.create(makeSeed('keeps the outbox busy'))
    const { event, confirmed } = follower.create(makeSeed('short lived'))
    const deleted = follower.delete(event.id)
    await blocker.confirmed
    await deleted
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    expect(server.events().some((e) => e.readable === 'short lived')).toBe(false)
    expect(server.requests.count('create')).toBe(1)
  })

  it('hands over when the leader closes, and sends what the old leader had not confirmed exactly once', async () => {
    const { server, hub, leader, follower } = await twoTabs(10)
    void hub
    await leader.refresh()
    server.faults.add('create', { type: 'status', status: 503 }, { times: Infinity })
    const { event } = follower.create(makeSeed('survives the leader'))
    await until(leader.outbox$, (o) => o.some((m) => m.eventId === event.id && m.attempts > 0))
    await leader.dispose()
    server.faults.clear()
    await until(follower.status$, (s) => s.isLeader)
    follower.start()
    await until(follower.outbox$, (o) => o.length === 0)
    await follower.refresh()
    expect(server.events().filter((e) => e.readable === 'survives the leader')).toHaveLength(1)
    expect(follower.get(event.id)).toBeDefined()
  })

  it('takes over from a crashed leader whose create was on the wire, without sending it twice', async () => {
    const { server, leader, follower, leaderTabs } = await twoTabs(10)
    await leader.refresh()
    server.faults.add('create', { type: 'latency', ms: 100 })
    const { event } = follower.create(makeSeed('on the wire'))
    await until(leader.outbox$, (o) => o.some((m) => m.state === 'sending'))
    leaderTabs.crash()
    await until(follower.status$, (s) => s.isLeader)
    follower.start()
    await until(follower.outbox$, (o) => o.length === 0)
    await follower.refresh()
    expect(server.events().filter((e) => e.readable === 'on the wire')).toHaveLength(1)
    expect(follower.get(event.id)).toBeDefined()
  })
})

/** Timers on a clock that moves only when the test advances it, so that a frozen tab is a clock nobody advances. */
function manualClock() {
  let now = 0
  let last = 0
  const pending = new Map<number, { at: number; ms: number; callback: () => void }>()
  const changed = new BehaviorSubject(0)
  const timers: Timers = {
    setTimeout(callback, ms) {
      pending.set(++last, { at: now + ms, ms, callback })
      changed.next(last)
      return last
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
  }
  const count = (ms: number): number => [...pending.values()].filter((t) => t.ms === ms).length
  return {
    timers,
    /** How many timers of `ms` milliseconds wait to fire. */
    count,
    /** Resolves once a timer of `ms` milliseconds waits to fire. */
    scheduled: (ms: number) => until(changed, () => count(ms) > 0),
    /** Fires the timers of `ms` milliseconds now, without moving the clock (so that nothing else falls due). */
    fire(ms: number): void {
      for (const [id, timer] of [...pending]) {
        if (timer.ms !== ms) continue
        pending.delete(id)
        timer.callback()
      }
    },
    /** Moves the clock, firing the timers that fall due on the way, in order. */
    advance(ms: number): void {
      const end = now + ms
      for (;;) {
        let next: [number, { at: number; callback: () => void }] | undefined
        for (const entry of pending) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry
        if (!next) break
        pending.delete(next[0])
        now = next[1].at
        next[1].callback()
      }
      now = end
    },
  }
}

/** A coordinator that reports each message after its store has handled it. */
function observed(tabs: TabCoordinator): { tabs: TabCoordinator; handled: Subject<TabMessage> } {
  const handled = new Subject<TabMessage>()
  return {
    handled,
    tabs: {
      get isLeader() {
        return tabs.isLeader
      },
      onLeadership: (listener) => tabs.onLeadership(listener),
      post: (message) => tabs.post(message),
      onMessage: (listener) =>
        tabs.onMessage((message) => {
          listener(message)
          handled.next(message)
        }),
      close: () => tabs.close(),
    },
  }
}

const saidVisible = (visible: boolean) => (m: TabMessage) => m.type === 'visibility' && m.visible === visible

// Longer than the visibility expiry, so that moving a leader's clock past it fires no poll.
const POLL_MS = 2 * VISIBILITY_TTL_MS

/** A hidden leader that was asked to poll, and a hidden follower; both on clocks the test moves. */
async function hiddenLeader(leaderVisible = false) {
  const server = await startServer({ events: initial })
  const hub = memoryTabs()
  const storage = memoryStorage()
  const leaderClock = manualClock()
  const followerClock = manualClock()
  const leaderTabs = observed(hub.join())
  const leaderPage = manualSource(leaderVisible)
  const followerPage = manualSource(false)
  const leader = makeStore(server, { storage, tabs: leaderTabs.tabs, pollIntervalMs: POLL_MS, timers: leaderClock.timers, visible: leaderPage })
  await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
  leader.start()
  const follower = makeStore(server, { storage, tabs: hub.join(), pollIntervalMs: POLL_MS, timers: followerClock.timers, visible: followerPage })
  await follower.ready
  follower.start()
  /** Resolves once the leader has handled the next visibility message saying `visible`. */
  const leaderHears = (visible: boolean) => until(leaderTabs.handled, saidVisible(visible))
  /** Shows the follower's page and waits until the leader has polled for it. */
  async function showFollower(): Promise<void> {
    const heard = leaderHears(true)
    followerPage.set(true)
    await heard
    await leaderClock.scheduled(POLL_MS)
  }
  return { server, hub, storage, leader, follower, leaderClock, followerClock, leaderPage, followerPage, leaderHears, showFollower }
}

describe('a hidden leader tab', () => {
  it('polls while a follower’s page is visible', async () => {
    const { server, leaderClock, showFollower } = await hiddenLeader()
    expect(server.requests.count('snapshot')).toBe(0)

    await showFollower()
    expect(server.requests.count('snapshot')).toBe(1)

    leaderClock.fire(POLL_MS)
    await leaderClock.scheduled(POLL_MS)
    expect(server.requests.count('snapshot')).toBe(2)
  })

  it('keeps polling when its own page hides while a follower’s page is visible', async () => {
    const { server, leaderPage, leaderClock, showFollower } = await hiddenLeader(true)
    await showFollower()
    leaderPage.set(false)
    expect(leaderClock.count(POLL_MS)).toBe(1)

    leaderClock.fire(POLL_MS)
    await leaderClock.scheduled(POLL_MS)
    expect(server.requests.count('snapshot')).toBe(2)
  })

  it('stops polling when the follower’s page hides', async () => {
    const { server, followerPage, leaderClock, leaderHears, showFollower } = await hiddenLeader()
    await showFollower()

    const hidden = leaderHears(false)
    followerPage.set(false)
    await hidden
    expect(leaderClock.count(POLL_MS)).toBe(0)
    leaderClock.advance(10 * POLL_MS)
    expect(server.requests.count('snapshot')).toBe(1)
  })

  it('stops polling when the visible follower is disposed', async () => {
    const { server, follower, leaderClock, leaderHears, showFollower } = await hiddenLeader()
    await showFollower()

    const gone = leaderHears(false)
    await follower.dispose()
    await gone
    expect(leaderClock.count(POLL_MS)).toBe(0)
    leaderClock.advance(10 * POLL_MS)
    expect(server.requests.count('snapshot')).toBe(1)
  })

  it('stops polling for a frozen follower once its visibility expires, and not before', async () => {
    const { leaderClock, showFollower } = await hiddenLeader()
    await showFollower()

    // The follower's clock never moves: it is frozen and repeats nothing.
    leaderClock.advance(VISIBILITY_TTL_MS - 1)
    expect(leaderClock.count(POLL_MS)).toBe(1)
    leaderClock.advance(1)
    expect(leaderClock.count(POLL_MS)).toBe(0)
  })

  it('keeps polling past the expiry for a follower that keeps saying it is visible', async () => {
    const { followerClock, leaderClock, leaderHears, showFollower } = await hiddenLeader()
    await showFollower()

    leaderClock.advance(VISIBILITY_REFRESH_MS)
    const repeated = leaderHears(true)
    followerClock.advance(VISIBILITY_REFRESH_MS)
    await repeated
    leaderClock.advance(VISIBILITY_TTL_MS - 1)
    expect(leaderClock.count(POLL_MS)).toBe(1)
    leaderClock.advance(1)
    expect(leaderClock.count(POLL_MS)).toBe(0)
  })

  it('is replaced by a new leader that polls for the visible follower', async () => {
    const { server, hub, storage, leader, follower, followerClock, leaderClock, leaderHears } = await hiddenLeader()
    // A third tab, visible from the start: it tells the leader once it has said hello. Its clock
    // stands still, so that only telling the new leader at once, not a later repeat, can pass.
    const heard = leaderHears(true)
    const visibleTab = makeStore(server, { storage, tabs: hub.join(), pollIntervalMs: POLL_MS, timers: manualClock().timers, visible: manualSource(true) })
    await visibleTab.ready
    visibleTab.start()
    await heard
    await leaderClock.scheduled(POLL_MS)
    const polls = server.requests.count('snapshot')

    // The hidden follower takes over; only the old leader had heard from the visible tab.
    await leader.dispose()
    await until(follower.status$, (s) => s.isLeader)
    await followerClock.scheduled(POLL_MS)
    expect(server.requests.count('snapshot')).toBe(polls + 1)
    expect(visibleTab.status.isLeader).toBe(false)
  })
})
