import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../src/storage'
import { makeStore, startServer, until } from './support/harness'
import { memoryTabs } from './support/memoryTabs'
import { makeEvent, makeSeed } from './support/events'

const initial = [makeEvent('a', 1), makeEvent('b', 2)]

async function twoTabs(pollIntervalMs = 0) {
  const server = await startServer({ events: initial })
  let followerRequests = 0
  const countingFetch: typeof fetch = (input, init) => {
    followerRequests++
    return fetch(input, init)
  }
  const hub = memoryTabs()
  const storage = memoryStorage()
  const leaderTabs = hub.join()
  const followerTabs = hub.join()
  const leader = makeStore(server, { storage, tabs: leaderTabs, pollIntervalMs })
  await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
  const follower = makeStore(server, { storage, tabs: followerTabs, pollIntervalMs, fetch: countingFetch })
  await follower.ready
  return { server, hub, leader, follower, leaderTabs, followerTabs, storage, followerRequests: () => followerRequests }
}

describe('several tabs', () => {
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
