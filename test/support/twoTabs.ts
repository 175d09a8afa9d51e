import { memoryStorage, type SyncStorage } from '../../src/storage'
import type { StoreOptions } from '../../src/storeOptions'
import type { TabCoordinator } from '../../src/tabs'
import { makeStore, startServer, switchableOnline, until } from './harness'
import { memoryTabs } from './memoryTabs'
import { makeEvent } from './events'

export const initial = [makeEvent('a', 1), makeEvent('b', 2)]

export interface TwoTabsOptions {
  /** The leader's online source starts with this; default true. */
  leaderOnline?: boolean
  leaderOptions?: StoreOptions
  /** Wraps the follower's coordinator, to hold or inspect what it receives. */
  wrapFollowerTabs?: (tabs: TabCoordinator) => TabCoordinator
  /** The storage both share. Default: a new memoryStorage(). */
  storage?: SyncStorage
  /** The follower's view of it, when it differs (a connection of its own that fails, say). */
  followerStorage?: SyncStorage
  followerOptions?: StoreOptions
}

/**
 * A server, and two stores on one storage and one tab hub: the first leads, the second follows.
 * `online` is the leader's (the one that sends).
 */
export async function twoTabs(pollIntervalMs = 0, options: TwoTabsOptions = {}) {
  const { leaderOnline = true, leaderOptions = {}, wrapFollowerTabs = (tabs) => tabs, storage = memoryStorage(), followerStorage = storage, followerOptions = {} } = options
  const online = switchableOnline(leaderOnline)
  const server = await startServer({ events: initial })
  let followerRequests = 0
  const countingFetch: typeof fetch = (input, init) => {
    followerRequests++
    return fetch(input, init)
  }
  const hub = memoryTabs()
  const leaderTabs = hub.join()
  const followerTabs = wrapFollowerTabs(hub.join())
  const leader = makeStore(server, { storage, tabs: leaderTabs, pollIntervalMs, online, ...leaderOptions })
  await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
  const follower = makeStore(server, { storage: followerStorage, tabs: followerTabs, pollIntervalMs, fetch: countingFetch, ...followerOptions })
  await follower.ready
  return { server, hub, leader, follower, leaderTabs, followerTabs, storage, online, followerRequests: () => followerRequests }
}
