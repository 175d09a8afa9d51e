import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/** Debian's chromium; `CHROMIUM_PATH` points elsewhere. Playwright cannot download browsers here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface LaunchedBrowser {
  /** One profile: its pages share IndexedDB, Web Locks and BroadcastChannels, as tabs do. Waits time out after 15 s. */
  readonly context: BrowserContext
  /** Uncaught errors and `console.error` lines of every page, for a test to assert on or print. */
  readonly pageErrors: readonly string[]
  /** Opens a tab at `url` and waits for its load event. */
  newPage(url: string): Promise<Page>
  /** Closes the browser and deletes its profile. Safe to call more than once. */
  close(): Promise<void>
}

/** Starts headless Chromium with a fresh profile of its own, in a temporary directory. */
export async function launchBrowser(): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}. Install it with \`apt-get install -y chromium\`, or set CHROMIUM_PATH.`)
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'workstream-sync-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS })
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true })
    throw error
  }
  // Shorter than the tests' own timeouts, so that a condition that never comes names itself.
  context.setDefaultTimeout(15_000)
  const pageErrors: string[] = []
  const watch = (page: Page): void => {
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`${page.url()}: ${message.text()}`)
    })
  }
  context.pages().forEach(watch)
  context.on('page', watch)
  // The profile opens with one blank tab: the first newPage() uses it, so tab counts stay exact.
  let blank: Page | undefined = context.pages()[0]
  let closed: Promise<void> | undefined
  return {
    context,
    pageErrors,
    async newPage(url) {
      const page = blank && !blank.isClosed() ? blank : await context.newPage()
      blank = undefined
      await page.goto(url)
      return page
    },
    close() {
      closed ??= (async () => {
        try {
          await context.close()
        } finally {
          await rm(userDataDir, { recursive: true, force: true })
        }
      })()
      return closed
    },
  }
}
