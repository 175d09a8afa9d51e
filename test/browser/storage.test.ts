import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { makeEvent } from '../support/events'
import { startApp, type BrowserApp } from './support/app'

/** The page's store still syncs both ways: it shows the server's events and its create lands once. */
async function expectSync(app: BrowserApp, page: Page): Promise<void> {
  await page.waitForFunction(() => window.harness.rendered().length === 1)
  const id = await page.evaluate(() => window.harness.create('without IndexedDB'))
  expect(await page.evaluate((id) => window.harness.confirmed(id), id)).toBe(id)
  expect(app.server.events().map((e) => e.id)).toContain(id)
  expect(app.server.requests.count('create')).toBe(1)
  expect(await page.evaluate(() => window.harness.store.status.phase)).toBe('synced')
}

describe('in Chromium, without a usable IndexedDB', () => {
  it('falls back to memory when indexedDB.open throws, reports a storage error, and still syncs', async () => {
    const app = await startApp({ events: [makeEvent('a', 1)] })
    await app.browser.context.addInitScript(() => {
      IDBFactory.prototype.open = () => {
        throw new DOMException('IndexedDB is disabled in this test.', 'InvalidStateError')
      }
    })
    const page = await app.open({ poll: 200 })
    await expectSync(app, page)
    const errors = await page.evaluate(() => window.harness.errors)
    expect(errors).toContainEqual(expect.objectContaining({ kind: 'storage', message: expect.stringContaining('IndexedDB is disabled in this test') }))
  })

  it('falls back to memory when the page has no indexedDB at all, and still syncs', async () => {
    const app = await startApp({ events: [makeEvent('a', 1)] })
    await app.browser.context.addInitScript(() => {
      Reflect.deleteProperty(window, 'indexedDB')
    })
    const page = await app.open({ poll: 200 })
    expect(await page.evaluate(() => typeof indexedDB)).toBe('undefined')
    await expectSync(app, page)
    expect(await page.evaluate(() => window.harness.errors.filter((e) => e.kind !== 'storage'))).toEqual([])
  })
})
