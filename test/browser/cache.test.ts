import { describe, expect, it } from 'vitest'
import { makeEvent } from '../support/events'
import { startApp, waitForStore } from './support/app'

const events = [makeEvent('a', 1), makeEvent('b', 2), makeEvent('c', 3)]

describe('in Chromium, the IndexedDB cache', () => {
  it('paints the cached events after a reload, before any snapshot response arrives, reading the cache once', async () => {
    const app = await startApp({ events })
    const page = await app.open({ poll: 60_000 })
    await page.waitForFunction(() => window.harness.rendered().length === 3)
    await page.evaluate(() => window.harness.waitForCachedEvents(3))

    // The reloaded page's snapshot is held back far longer than the test waits for the paint.
    app.server.faults.add('snapshot', { type: 'latency', ms: 30_000 })
    const snapshotsBefore = app.server.requests.count('snapshot')
    await page.reload()
    await waitForStore(page)
    await page.waitForFunction(() => window.harness.rendered().length === 3, undefined, { timeout: 10_000 })
    await page.waitForFunction(() => window.harness.fetches.snapshot === 1)

    expect(await page.evaluate(() => window.harness.firstPaint)).toEqual({ ids: ['a', 'b', 'c'], snapshotResponsesBefore: 0 })
    expect(await page.evaluate(() => window.harness.fetches.snapshotResponses)).toBe(0)
    expect(app.server.requests.count('snapshot')).toBe(snapshotsBefore + 1)
    expect(app.server.faults.pending('snapshot')).toBe(0)
    // The tab leads from the start: it reads the cache once, not again to take over.
    expect(await page.evaluate(() => window.harness.store.status.isLeader)).toBe(true)
    expect(await page.evaluate(() => window.harness.cacheReads())).toBe(1)
  })
})
