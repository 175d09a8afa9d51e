import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { makeEvent } from '../support/events'
import { startApp, waitForStore, type BrowserApp } from './support/app'

// No timed polls (pollIntervalMs 0): after the logout, the only snapshots are the ones a step of
// the test sets off (refresh(), the network coming back, a tab taking over). So anything of the
// last user a tab shows in between can only come from the store's memory, another tab or storage.
const POLL_MS = 0
const HEARTBEAT_MS = 200

/** What the last user saw: the server's events, by id and by text. */
const SERVER_EVENTS = [makeEvent('a', 1), makeEvent('b', 2)]
const LAST_USER_TEXTS = SERVER_EVENTS.map((e) => e.readable!)

async function twoTabs(): Promise<{ app: BrowserApp; leader: Page; follower: Page }> {
  const app = await startApp({ events: SERVER_EVENTS })
  const leader = await app.open({ poll: POLL_MS, heartbeat: HEARTBEAT_MS })
  await leader.waitForFunction(() => window.harness.store.status.isLeader && window.harness.rendered().length === 2)
  const follower = await app.open({ poll: POLL_MS, heartbeat: HEARTBEAT_MS })
  await follower.waitForFunction(() => window.harness.rendered().length === 2)
  expect(await follower.evaluate(() => window.harness.store.status.isLeader)).toBe(false)
  // The last user's events are in IndexedDB, as a reload would read them.
  await leader.evaluate(() => window.harness.waitForCachedEvents(2))
  return { app, leader, follower }
}

/** Logs out in `page`: what the page shows right after clear() returned, before its promise settles. */
function logOut(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const cleared = window.harness.store.clear()
    const shown = window.harness.rendered()
    await cleared
    return shown
  })
}

/** What a store shows, as the README describes a cleared one: no events, an empty outbox, and no sync yet. */
function shownState(page: Page) {
  return page.evaluate(() => {
    const { store } = window.harness
    const { pending, dead, lastSyncedAt } = store.status
    return { rendered: window.harness.rendered(), events: store.events.length, outbox: store.outbox.length, pending, dead, lastSyncedAt }
  })
}
const CLEARED = { rendered: [], events: 0, outbox: 0, pending: 0, dead: 0, lastSyncedAt: undefined }

/** The renders, each list of ids once where it repeats (a list emits again when one of its events changes). */
const distinct = (renders: string[][]): string[][] => renders.filter((ids, i) => i === 0 || ids.join() !== renders[i - 1]!.join())

const renderCount = (page: Page): Promise<number> => page.evaluate(() => window.harness.renders.length)
/** The renders of the page from the `from`th on. */
const rendersSince = (page: Page, from: number): Promise<string[][]> => page.evaluate((from) => window.harness.renders.slice(from).map((r) => [...r]), from)

/** Whatever of `marks` (texts, or ids long enough to be unique) the page's IndexedDB still holds anywhere, as `[key, mark]`. */
async function storedMarks(page: Page, marks: readonly string[]): Promise<Array<[string, string]>> {
  const entries = await page.evaluate(() => window.harness.storedEntries())
  return entries.flatMap(([key, value]) => marks.filter((mark) => key.includes(mark) || value.includes(mark)).map((mark): [string, string] => [key, mark]))
}

describe('in Chromium, logging out with two tabs open', () => {
  it('in the follower tab: both tabs drop the last user’s events at once and for good, storage keeps none of them, and the next user’s create lands once', async () => {
    const { app, leader, follower } = await twoTabs()
    const leaderFrom = await renderCount(leader)
    const followerFrom = await renderCount(follower)

    // The tab that logs out shows nothing as soon as clear() returns; the other tab follows.
    expect(await logOut(follower)).toEqual([])
    await leader.waitForFunction(() => window.harness.rendered().length === 0)
    expect(await shownState(follower)).toEqual(CLEARED)
    expect(await shownState(leader)).toEqual(CLEARED)
    // The follower wiped storage before clear() resolved; nothing of the last user is left there.
    expect(await follower.evaluate(() => window.harness.cachedEventIds())).toEqual([])
    expect(await storedMarks(follower, LAST_USER_TEXTS)).toEqual([])

    // The next user creates an event in the follower: the leader sends it once, and it resolves.
    const next = await follower.evaluate(() => window.harness.create('the next user’s first event'))
    expect(await follower.evaluate(() => window.harness.rendered())).toEqual([next])
    expect(await follower.evaluate((id) => window.harness.confirmed(id), next)).toBe(next)
    await leader.waitForFunction((id) => window.harness.rendered().includes(id), next)
    expect(app.server.requests.count('create')).toBe(1)
    expect(await leader.evaluate(() => window.harness.fetches.create)).toBe(1)
    expect(await follower.evaluate(() => window.harness.fetches.create)).toBe(0)
    expect(app.server.events().filter((e) => e.readable === 'the next user’s first event').map((e) => e.id)).toEqual([next])

    // No tab showed the last user's events again since the logout (no snapshot was asked for).
    // (A list emits again when its event changes: the optimistic create, then the server's answer.)
    expect(distinct(await rendersSince(follower, followerFrom))).toEqual([[], [next]])
    expect(distinct(await rendersSince(leader, leaderFrom))).toEqual([[], [next]])
    expect(await leader.evaluate(() => window.harness.rendered())).toEqual([next])
    // Nor does the leader's storage: by now it carried out the clear, and wrote since.
    expect(await storedMarks(leader, LAST_USER_TEXTS)).toEqual([])

    // A reloaded tab shows what storage and the leader hold: the next user's event, nothing of the last user's.
    const snapshotsBefore = app.server.requests.count('snapshot')
    await follower.reload()
    await waitForStore(follower)
    await follower.waitForFunction((id) => window.harness.rendered().includes(id), next)
    expect(distinct(await rendersSince(follower, 0))).toEqual([[], [next]])
    expect(await follower.evaluate(() => window.harness.store.status.lastSyncedAt)).toBeUndefined()
    expect(app.server.requests.count('snapshot')).toBe(snapshotsBefore)

    // The first snapshot brings the server's events back: they are the server's, not the last user's cache.
    await follower.evaluate(() => window.harness.store.refresh())
    const onServer = app.server.events().map((e) => e.id).sort()
    expect(onServer).toEqual(['a', 'b', next].sort())
    expect((await follower.evaluate(() => window.harness.rendered())).sort()).toEqual(onServer)
    await leader.waitForFunction((n) => window.harness.rendered().length === n, onServer.length)
    expect((await leader.evaluate(() => window.harness.rendered())).sort()).toEqual(onServer)
    expect(app.server.requests.count('create')).toBe(1)
    expect(await follower.evaluate(() => window.harness.errors)).toEqual([])
    expect(await leader.evaluate(() => window.harness.errors)).toEqual([])
  })

  it('in the leader tab, with a create queued offline in the follower: that create is aborted and never sent, not when back online nor after both tabs reload', async () => {
    const { app, leader, follower } = await twoTabs()
    await app.browser.context.setOffline(true)
    await leader.waitForFunction(() => window.harness.store.status.phase === 'offline')
    await follower.waitForFunction(() => window.harness.store.status.phase === 'offline')
    const queued = await follower.evaluate(() => window.harness.create('queued offline by the last user'))
    const lastUserMarks = [queued, ...LAST_USER_TEXTS, 'queued offline by the last user']
    // The leader holds it, waiting for the network.
    await leader.waitForFunction((id) => window.harness.store.outbox.some((m) => m.eventId === id), queued)
    expect(await follower.evaluate(() => window.harness.store.outbox.map((m) => [m.kind, m.state]))).toEqual([['create', 'queued']])
    expect(await follower.evaluate((id) => window.harness.outcome(id), queued)).toBe('pending')
    const leaderFrom = await renderCount(leader)
    const followerFrom = await renderCount(follower)

    expect(await logOut(leader)).toEqual([])
    await follower.waitForFunction(() => window.harness.rendered().length === 0)
    await follower.waitForFunction((id) => window.harness.outcome(id) !== 'pending', queued)
    expect(await follower.evaluate((id) => window.harness.outcome(id), queued)).toBe('aborted')
    expect(await shownState(leader)).toEqual(CLEARED)
    expect(await shownState(follower)).toEqual(CLEARED)
    expect(await leader.evaluate(() => window.harness.cachedEventIds())).toEqual([])
    expect(await storedMarks(leader, lastUserMarks)).toEqual([])

    // Until the network comes back, neither tab shows anything again.
    expect(await rendersSince(leader, leaderFrom)).toEqual([[]])
    expect(await rendersSince(follower, followerFrom)).toEqual([[]])

    // Back online, the leader fetches: the server's events come back, the aborted create does not go out.
    await app.browser.context.setOffline(false)
    await leader.waitForFunction(() => window.harness.store.status.phase === 'synced' && window.harness.rendered().length === 2)
    await follower.waitForFunction(() => window.harness.rendered().length === 2)
    await leader.evaluate(() => window.harness.store.flush())
    const next = await follower.evaluate(() => window.harness.create('the next user’s first event'))
    expect(await follower.evaluate((id) => window.harness.confirmed(id), next)).toBe(next)
    await leader.evaluate(() => window.harness.store.flush())
    expect(app.server.requests.count('create')).toBe(1)
    expect(app.server.events().map((e) => e.id).sort()).toEqual(['a', 'b', next].sort())
    expect(await follower.evaluate((id) => window.harness.outcome(id), queued)).toBe('aborted')

    // Neither tab ever showed the aborted create again.
    expect((await rendersSince(leader, leaderFrom)).flat()).not.toContain(queued)
    expect((await rendersSince(follower, followerFrom)).flat()).not.toContain(queued)

    // Both tabs reload, one after the other: each time the other tab takes over and reads storage.
    await leader.reload()
    await waitForStore(leader)
    await follower.waitForFunction(() => window.harness.store.status.isLeader)
    await follower.reload()
    await waitForStore(follower)
    await leader.waitForFunction(() => window.harness.store.status.isLeader)
    const [newLeader, newFollower] = [leader, follower]
    await newLeader.waitForFunction(() => window.harness.fetches.snapshotResponses >= 1 && window.harness.store.status.phase === 'synced')
    await newLeader.evaluate(() => window.harness.store.flush())
    const onServer = app.server.events().map((e) => e.id).sort()
    for (const page of [newLeader, newFollower]) {
      await page.waitForFunction((n) => window.harness.rendered().length === n, onServer.length)
      expect((await page.evaluate(() => window.harness.rendered())).sort()).toEqual(onServer)
      expect((await page.evaluate(() => window.harness.renders.map((r) => [...r]))).flat()).not.toContain(queued)
      expect(await page.evaluate(() => window.harness.store.outbox.length)).toBe(0)
    }
    // The next user's next create goes out alone: the aborted one is not in the queue before it.
    const another = await newFollower.evaluate(() => window.harness.create('the next user’s second event'))
    expect(await newFollower.evaluate((id) => window.harness.confirmed(id), another)).toBe(another)
    await newLeader.evaluate(() => window.harness.store.flush())
    expect(app.server.requests.count('create')).toBe(2)
    expect(app.server.events().map((e) => e.id).sort()).toEqual(['a', 'b', next, another].sort())
    expect(await storedMarks(newLeader, [queued, 'queued offline by the last user'])).toEqual([])
  })
})
