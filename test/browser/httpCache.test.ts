import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { makeEvent, makeSeed } from '../support/events'
import { startApp, waitForStore } from './support/app'

const closing: Array<() => void> = []
afterEach(() => {
  while (closing.length) closing.pop()!()
})

/** A proxy in front of `target` that lets browsers cache every GET answer for an hour, as a misconfigured server or gateway may. */
async function cachingProxy(target: string): Promise<string> {
  const proxy = createServer((request, response) => {
    const headers = new Headers()
    for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && name !== 'host') headers.set(name, value)
    fetch(target + (request.url ?? '/'), { method: request.method ?? 'GET', headers }).then(async (answer) => {
      const out: Record<string, string> = Object.fromEntries(answer.headers)
      delete out['content-length']
      delete out['content-encoding']
      if ((request.method ?? 'GET') === 'GET') Object.assign(out, { 'cache-control': 'max-age=3600', 'last-modified': new Date(0).toUTCString() })
      response.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()))
    }, () => response.writeHead(502).end())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  closing.push(() => proxy.close())
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
}

describe('in Chromium, a server whose answers may be cached', () => {
  it('polls the server, not the browser’s HTTP cache: a change shows (bug: the cached snapshot came back)', async () => {
    const app = await startApp({ events: [makeEvent('a', 1)] })
    const proxy = await cachingProxy(app.server.url)
    const url = new URL(app.url({ poll: 0 }))
    url.searchParams.set('server', proxy)
    const page = await app.browser.newPage(url.toString())
    await waitForStore(page)
    await page.evaluate(() => window.harness.store.refresh())
    const created = app.server.create(makeSeed('made after the first poll'))
    const before = app.server.requests.count('snapshot')
    await page.evaluate(() => window.harness.store.refresh())
    expect(await page.evaluate(() => window.harness.rendered())).toContain(created.id)
    expect(app.server.requests.count('snapshot')).toBe(before + 1)
  })
})
