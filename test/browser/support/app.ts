import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Page } from 'playwright-core'
import { afterEach } from 'vitest'
import type { WorkstreamEvent } from '../../../src/models'
import { startWorkstreamServer, type WorkstreamServer } from '../../../src/server/index'
import { launchBrowser, type LaunchedBrowser } from './chromium'
import type { PageConfig } from './pageHarness'

const PAGE_ENTRY = fileURLToPath(new URL('./page.ts', import.meta.url))

const HTML = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>workstream-sync browser test</title>
<link rel="icon" href="data:,">
<p id="status"></p>
<ul id="events"></ul>
<script type="module" src="/page.js"></script>
</html>
`

let bundle: Promise<string> | undefined

/** The page's script and the library, rxjs and idb-keyval included, as one ES module (built once). */
function pageBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [PAGE_ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text)
  return bundle
}

export interface BrowserApp {
  /** The embedded Pieces-compatible server the pages talk to. */
  readonly server: WorkstreamServer
  readonly browser: LaunchedBrowser
  /** The page's address; the page's origin is the static server on 127.0.0.1. */
  url(config?: Partial<Omit<PageConfig, 'server'>>): string
  /** Opens a tab with the page and waits until its store has read the cache. */
  open(config?: Partial<Omit<PageConfig, 'server'>>): Promise<Page>
  /**
   * Hangs the page's main thread in a synchronous request that the static server holds, as a
   * frozen or hung tab: no timers, no messages, and its Web Lock stays held. `thaw` answers it.
   */
  freeze(page: Page): Promise<{ thaw(): void }>
}

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** The embedded server, a static server for the page, and Chromium with a fresh profile; all closed after the test. */
export async function startApp(options: { events?: WorkstreamEvent[] } = {}): Promise<BrowserApp> {
  const script = await pageBundle()
  const server = await startWorkstreamServer({ events: options.events ?? [] })
  cleanups.push(() => server.close())
  const site = await serveStatic({ '/': { type: 'text/html', body: HTML }, '/page.js': { type: 'text/javascript', body: script } })
  let freezes = 0
  cleanups.push(site.close)
  const browser = await launchBrowser()
  cleanups.push(async () => {
    await browser.close()
    // A page that failed in a way no assertion looked at still fails the test.
    if (browser.pageErrors.length > 0) throw new Error(`The pages reported errors:\n${browser.pageErrors.join('\n')}`)
  })
  const url = (config: Partial<Omit<PageConfig, 'server'>> = {}): string => {
    const query = new URLSearchParams({ server: server.url, poll: String(config.poll ?? 0), heartbeat: String(config.heartbeat ?? 2000), tabs: config.tabs ?? 'browser' })
    return `${site.url}/?${query}`
  }
  return {
    server,
    browser,
    url,
    async open(config) {
      const page = await browser.newPage(url(config))
      await waitForStore(page)
      return page
    },
    async freeze(page) {
      const path = `/freeze/${++freezes}`
      const arrived = site.hold(path)
      // The evaluation ends only once the page thaws; its outcome is not this test's business.
      page
        .evaluate((path) => {
          const request = new XMLHttpRequest()
          request.open('GET', path, false)
          request.send()
        }, path)
        .catch(() => {})
      return { thaw: await arrived }
    },
  }
}

/** Waits until the page's script has run and its store has read the cache. */
export async function waitForStore(page: Page): Promise<void> {
  await page.waitForFunction(() => window.harness !== undefined)
  await page.evaluate(() => window.harness.store.ready)
}

interface StaticFile {
  type: string
  body: string
}

interface StaticServer {
  readonly url: string
  /** Holds the next request to `path` open; resolves, once it arrived, with the function that answers it. */
  hold(path: string): Promise<() => void>
  close(): Promise<void>
}

async function serveStatic(files: Record<string, StaticFile>): Promise<StaticServer> {
  const held = new Map<string, (release: () => void) => void>()
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    const onHold = held.get(path)
    if (onHold) {
      held.delete(path)
      onHold(() => {
        if (!response.writableEnded) response.writeHead(204, { 'cache-control': 'no-store' }).end()
      })
      return
    }
    const file = files[path]
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    response.writeHead(200, { 'content-type': `${file.type}; charset=utf-8`, 'cache-control': 'no-store' }).end(file.body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (path) => new Promise((resolve) => held.set(path, resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
