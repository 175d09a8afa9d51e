import { memoryStorage } from '../../src/storage'
import { makeStore, startServer, switchableOnline, until } from './harness'
import { memoryTabs } from './memoryTabs'
import { makeEvent } from './events'

export const initial = [makeEvent('a', 1), makeEvent('b', 2)]

/**
 * A server, and two stores on one storage and one tab hub: the first leads, the second follows.
 * `online` is the leader's (the one that sends).
 */
export async function twoTabs(pollIntervalMs = 0, { leaderOnline = true } = {}) {
  const online = switchableOnline(leaderOnline)
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
  const leader = makeStore(server, { storage, tabs: leaderTabs, pollIntervalMs, online })
  await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
  const follower = makeStore(server, { storage, tabs: followerTabs, pollIntervalMs, fetch: countingFetch })
  await follower.ready
  return { server, hub, leader, follower, leaderTabs, followerTabs, storage, online, followerRequests: () => followerRequests }
}
