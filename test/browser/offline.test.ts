import { describe, expect, it } from 'vitest'
import { makeEvent } from '../support/events'
import { startApp } from './support/app'

describe('in Chromium, offline', () => {
  it('queues and shows creates and deletes while offline, then sends each exactly once when back online', async () => {
    const app = await startApp({ events: [makeEvent('a', 1), makeEvent('b', 2)] })
    const page = await app.open({ poll: 200 })
    await page.waitForFunction(() => window.harness.rendered().length === 2)

    await app.browser.context.setOffline(true)
    await page.waitForFunction(() => window.harness.store.status.phase === 'offline')
    const created = await page.evaluate(() => [window.harness.create('written offline'), window.harness.create('also offline')])
    await page.evaluate(() => {
      void window.harness.store.delete('a')
    })

    expect((await page.evaluate(() => window.harness.rendered())).sort()).toEqual([...created, 'b'].sort())
    expect(await page.evaluate(() => window.harness.store.outbox.map((m) => [m.kind, m.state]))).toEqual([
      ['create', 'queued'],
      ['create', 'queued'],
      ['delete', 'queued'],
    ])
    expect(await page.evaluate(() => window.harness.fetches)).toMatchObject({ create: 0, delete: 0 })
    expect(app.server.requests.count('create') + app.server.requests.count('delete')).toBe(0)

    await app.browser.context.setOffline(false)
    await page.evaluate(() => window.harness.store.flush())
    const confirmedIds = await page.evaluate((ids) => Promise.all(ids.map((id) => window.harness.confirmed(id))), created)
    expect(confirmedIds).toEqual(created)
    // A later poll changes nothing, and nothing goes out again.
    await page.evaluate(() => window.harness.store.refresh())

    expect(app.server.requests.count('create')).toBe(2)
    expect(app.server.requests.count('delete')).toBe(1)
    expect(await page.evaluate(() => window.harness.fetches)).toMatchObject({ create: 2, delete: 1 })
    const onServer = app.server.events().map((e) => e.id)
    expect(onServer.sort()).toEqual([...created, 'b'].sort())
    expect((await page.evaluate(() => window.harness.rendered())).sort()).toEqual(onServer.sort())
    expect(await page.evaluate(() => window.harness.store.status.pending)).toBe(0)
  })
})
