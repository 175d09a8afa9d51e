import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { makeEvent } from '../support/events'
import { startApp, type BrowserApp } from './support/app'

const POLL_MS = 100
const HEARTBEAT_MS = 200

const snapshots = (page: Page): Promise<number> => page.evaluate(() => window.harness.fetches.snapshot)
const isLeader = (page: Page): Promise<boolean> => page.evaluate(() => window.harness.store.status.isLeader)

/** Waits until the page's store has made `more` further snapshot requests. */
async function pollsMore(page: Page, more: number): Promise<number> {
  const from = await snapshots(page)
  await page.waitForFunction((target) => window.harness.fetches.snapshot >= target, from + more)
  return snapshots(page)
}

/**
 * Makes the page's document say it is hidden (or visible again) and fires `visibilitychange`,
 * as a tab sent to the background does. Headless Chromium keeps every page visible, and no
 * DevTools command hides one, so the tests switch what the page reads.
 */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)
}

async function twoTabs(): Promise<{ app: BrowserApp; first: Page; second: Page }> {
  const app = await startApp({ events: [makeEvent('a', 1), makeEvent('b', 2)] })
  const first = await app.open({ poll: POLL_MS, heartbeat: HEARTBEAT_MS })
  await first.waitForFunction(() => window.harness.store.status.isLeader)
  const second = await app.open({ poll: POLL_MS, heartbeat: HEARTBEAT_MS })
  await second.waitForFunction(() => window.harness.rendered().length === 2)
  return { app, first, second }
}

describe('in Chromium, two tabs of one origin', () => {
  it('poll the server from one tab only', async () => {
    const { app, first, second } = await twoTabs()
    expect([await isLeader(first), await isLeader(second)]).toEqual([true, false])

    app.server.requests.reset()
    const from = await snapshots(first)
    const to = await pollsMore(first, 10)
    const served = app.server.requests.count('snapshot')

    expect(await snapshots(second)).toBe(0)
    // One tab's worth: the leader's polls, give or take the one in flight at either end.
    expect(served).toBeGreaterThanOrEqual(to - from - 1)
    expect(served).toBeLessThanOrEqual(to - from + 1)
    expect(await second.evaluate(() => window.harness.store.status.phase)).toBe('synced')
  })

  it('send a mutation made in the follower to the server exactly once, and show it in both', async () => {
    const { app, first, second } = await twoTabs()
    const id = await second.evaluate(() => window.harness.create('made in the follower'))
    expect(await second.evaluate((id) => window.harness.rendered().includes(id), id)).toBe(true)

    expect(await second.evaluate((id) => window.harness.confirmed(id), id)).toBe(id)
    await first.waitForFunction((id) => window.harness.rendered().includes(id), id)
    await pollsMore(first, 3)

    expect(app.server.requests.count('create')).toBe(1)
    expect(await first.evaluate(() => window.harness.fetches.create)).toBe(1)
    expect(await second.evaluate(() => window.harness.fetches.create)).toBe(0)
    expect(app.server.events().filter((e) => e.id === id)).toHaveLength(1)
    expect(await second.evaluate(() => window.harness.rendered())).toEqual(await first.evaluate(() => window.harness.rendered()))
  })

  it('refresh in the follower through the leader: the follower makes no request and shows what the leader fetched', async () => {
    const { app, second } = await twoTabs()
    app.server.create({ application: makeEvent('x').application, trigger: { copy: true }, readable: 'made elsewhere' })
    // refresh() joins a poll in flight, which the server may have answered before the create: the
    // second is requested after the first resolved, so after the create.
    await second.evaluate(() => window.harness.store.refresh())
    await second.evaluate(() => window.harness.store.refresh())
    expect(await second.evaluate(() => window.harness.rendered().length)).toBe(3)
    expect(await snapshots(second)).toBe(0)
  })

  it('hand over to the other tab when the leader tab closes, which then polls', async () => {
    const { app, first, second } = await twoTabs()
    expect(await isLeader(second)).toBe(false)
    expect(await snapshots(second)).toBe(0)
    await first.close()
    await second.waitForFunction(() => window.harness.store.status.isLeader)
    await pollsMore(second, 3)
    app.server.create({ application: makeEvent('x').application, trigger: { copy: true }, readable: 'made elsewhere' })
    await second.waitForFunction(() => window.harness.rendered().length === 3)
  })

  it('take over from a frozen leader tab, which steps down when it wakes', async () => {
    const { app, first, second } = await twoTabs()
    const frozen = await app.freeze(first)
    await second.waitForFunction(() => window.harness.store.status.isLeader)
    await pollsMore(second, 3)
    frozen.thaw()
    await first.waitForFunction(() => !window.harness.store.status.isLeader)

    // From then on only the new leader polls.
    const firstPolls = await snapshots(first)
    await pollsMore(second, 5)
    expect(await snapshots(first)).toBe(firstPolls)
  })

  it('resolve a create that the frozen leader had on the wire exactly once, and show it in both', async () => {
    const { app, first, second } = await twoTabs()
    // The server commits the create only after the leader froze; the leader never hears back in time.
    app.server.faults.add('create', { type: 'latency', ms: 2000 })
    const id = await second.evaluate(() => window.harness.create('on the wire when the leader froze'))
    await first.waitForFunction(() => window.harness.fetches.create === 1)
    const frozen = await app.freeze(first)
    await second.waitForFunction(() => window.harness.store.status.isLeader)

    expect(await second.evaluate((id) => window.harness.confirmed(id), id)).toBe(id)
    frozen.thaw()
    await first.waitForFunction(() => !window.harness.store.status.isLeader)
    await first.waitForFunction((id) => window.harness.rendered().includes(id), id)
    await pollsMore(second, 3)

    expect(app.server.requests.count('create')).toBe(1)
    expect(app.server.events().filter((e) => e.readable === 'on the wire when the leader froze')).toHaveLength(1)
    expect(await second.evaluate(() => window.harness.store.outbox.length)).toBe(0)
    expect(await first.evaluate(() => window.harness.rendered())).toEqual(await second.evaluate(() => window.harness.rendered()))
  })

  it('keep polling from a hidden leader tab while the other tab is visible', async () => {
    const { app, first, second } = await twoTabs()
    await setHidden(first, true)
    await pollsMore(first, 3)
    expect(await isLeader(first)).toBe(true)
    expect(await snapshots(second)).toBe(0)

    app.server.create({ application: makeEvent('x').application, trigger: { copy: true }, readable: 'made elsewhere' })
    await second.waitForFunction(() => window.harness.rendered().length === 3)
  })

  it('elect one leader with the store’s default options, no coordinator passed', async () => {
    const app = await startApp({ events: [makeEvent('a', 1)] })
    const first = await app.open({ poll: POLL_MS, tabs: 'default' })
    await first.waitForFunction(() => window.harness.store.status.isLeader)
    const second = await app.open({ poll: POLL_MS, tabs: 'default' })
    await second.waitForFunction(() => window.harness.rendered().length === 1)
    expect(await isLeader(second)).toBe(false)
    expect(await snapshots(second)).toBe(0)
  })
})
