import type { Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bundleApp, type AppBundle } from '../../examples/appBundle'
import { startDemo, type Demo, type DemoOptions } from '../../examples/demoServer'
import { makeSeed } from '../support/events'
import { launchBrowser, type LaunchedBrowser } from './support/chromium'

let bundle: Promise<AppBundle>
let browser: LaunchedBrowser
const cleanups: Array<() => Promise<void>> = []

// One Chromium for the file, a tab per test: each demo has its own server port, so the tabs'
// caches (namespaced by base URL) never meet.
beforeAll(async () => {
  bundle = bundleApp()
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
})

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** The demo without its simulator (so that only the test changes events), open in a new tab. */
async function openDemo(options: DemoOptions = {}): Promise<{ demo: Demo; page: Page; feed: Locator; pageErrors(): string[] }> {
  const demo = await startDemo({ simulator: false, bundle, pollIntervalMs: 300, ...options })
  cleanups.push(() => demo.close())
  const errorsBefore = browser.pageErrors.length
  const page = await browser.newPage(demo.appUrl)
  cleanups.push(() => page.close())
  const feed = page.getByRole('list', { name: 'Live feed' })
  await feed.getByRole('listitem').first().waitFor()
  return { demo, page, feed, pageErrors: () => browser.pageErrors.slice(errorsBefore) }
}

async function createThroughForm(page: Page, text: string): Promise<void> {
  await page.getByLabel('What happened').fill(text)
  await page.getByRole('button', { name: 'Create event' }).click()
}

async function switchServer(page: Page, mode: 'Normal' | 'Fail (503)', hint: RegExp): Promise<void> {
  await page.getByRole('radio', { name: mode }).check()
  await page.getByTestId('fault-mode-hint').filter({ hasText: hint }).waitFor()
}

function onServer(demo: Demo, text: string): number {
  return demo.server.events().filter((event) => event.readable === text).length
}

describe('the demo app in Chromium', () => {
  it('shows the live feed with application, trigger, title and relative time, and the sync status', async () => {
    const { demo, page, feed, pageErrors } = await openDemo({ events: 6 })
    const newest = demo.server.events()[0]!

    await page.getByRole('status').filter({ hasText: 'Synced' }).waitFor()

    expect(await feed.getByRole('listitem').count()).toBe(6)
    const first = feed.getByRole('listitem').first()
    expect(await first.getAttribute('data-event-id')).toBe(newest.id)
    const text = await first.textContent()
    expect(text).toContain(newest.readable)
    expect(text).toMatch(/just now|\d+ s ago|\d+ min ago/)
    const status = await page.getByRole('region', { name: 'Sync status' }).textContent()
    expect(status).toMatch(/Leader tab.*Online.*Last synced.*0 pending/)

    const elsewhere = demo.server.create(makeSeed('Made in another app'))
    await feed.locator(`li[data-event-id="${elsewhere.id}"]`, { hasText: 'Made in another app' }).waitFor()
    expect(await feed.getByRole('listitem').count()).toBe(7)
    expect(pageErrors()).toEqual([])
  })

  it('creates an event through the form: shown at once, then on the server exactly once', async () => {
    const { demo, page, feed, pageErrors } = await openDemo()
    const text = `Read the RxJS docs ${Date.now()}`

    await createThroughForm(page, text)
    const item = feed.getByRole('listitem').filter({ hasText: text })
    await item.waitFor()
    await item.locator('.mark').waitFor({ state: 'detached' })
    await page.getByTestId('pending-count').filter({ hasText: '0 pending' }).waitFor()

    expect(onServer(demo, text)).toBe(1)
    expect(demo.server.requests.count('create')).toBe(1)
    expect(await feed.getByRole('listitem').filter({ hasText: text }).count()).toBe(1)
    expect(await page.getByLabel('What happened').inputValue()).toBe('')
    expect(pageErrors()).toEqual([])
  })

  it('deletes an event with its button: gone from the feed at once, then from the server', async () => {
    const { demo, page, feed, pageErrors } = await openDemo({ events: 5 })
    const target = demo.server.events()[2]!
    const item = feed.locator(`li[data-event-id="${target.id}"]`)

    await item.getByRole('button', { name: /^Delete/ }).click()
    await item.waitFor({ state: 'detached' })
    await page.getByTestId('pending-count').filter({ hasText: '0 pending' }).waitFor()

    expect(demo.server.events().map((event) => event.id)).not.toContain(target.id)
    expect(demo.server.requests.count('delete')).toBe(1)
    expect(await feed.getByRole('listitem').count()).toBe(4)
    expect(pageErrors()).toEqual([])
  })

  it('keeps a create pending while the server fails and confirms it once the switch turns failing off', async () => {
    const { demo, page, feed } = await openDemo({ retry: { baseDelayMs: 200, maxDelayMs: 400, maxAttempts: 1000 } })
    const text = `Written while the server fails ${Date.now()}`

    await switchServer(page, 'Fail (503)', /Every request gets 503/)
    expect(demo.faultMode).toBe('fail')
    await createThroughForm(page, text)
    const item = feed.getByRole('listitem').filter({ hasText: text })
    await item.locator('.mark').waitFor()
    await item.locator('.mark', { hasText: 'Failed (503), retrying' }).waitFor()
    await page.getByRole('list', { name: 'Outbox' }).getByRole('listitem').filter({ hasText: text }).waitFor()
    await page.getByRole('status').filter({ hasText: 'Server unreachable' }).waitFor()
    expect(await page.getByTestId('pending-count').textContent()).toBe('1 pending')
    expect(onServer(demo, text)).toBe(0)

    await switchServer(page, 'Normal', /The server answers every request/)
    await item.locator('.mark').waitFor({ state: 'detached' })
    await page.getByTestId('pending-count').filter({ hasText: '0 pending' }).waitFor()

    expect(demo.faultMode).toBe('normal')
    expect(onServer(demo, text)).toBe(1)
    expect(await page.getByText('Nothing waiting').count()).toBe(1)
  })

  it('turns a create that keeps failing into a dead letter that can be retried or discarded', async () => {
    const { demo, page, feed } = await openDemo({ retry: { baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 2 } })
    const kept = `Kept after all ${Date.now()}`
    const dropped = `Dropped after all ${Date.now()}`

    await switchServer(page, 'Fail (503)', /Every request gets 503/)
    await createThroughForm(page, kept)
    await createThroughForm(page, dropped)
    for (const text of [kept, dropped]) {
      await feed.getByRole('listitem').filter({ hasText: text }).locator('.mark', { hasText: 'Dead letter' }).waitFor()
    }
    await switchServer(page, 'Normal', /The server answers every request/)

    await page.getByRole('button', { name: `Retry: create “${kept}”` }).click()
    await page.getByRole('button', { name: `Discard: create “${dropped}”` }).click()
    await feed.getByRole('listitem').filter({ hasText: dropped }).waitFor({ state: 'detached' })
    await feed.getByRole('listitem').filter({ hasText: kept }).locator('.mark').waitFor({ state: 'detached' })

    expect(onServer(demo, kept)).toBe(1)
    expect(onServer(demo, dropped)).toBe(0)
    expect(await page.getByText('Nothing waiting').count()).toBe(1)
  })
})
