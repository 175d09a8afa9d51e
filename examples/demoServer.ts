import { generateSampleEvents, startWorkstreamServer, type WorkstreamServer } from '../src/server/index'
import { startActivitySimulator, type ActivitySimulator } from './activitySimulator'
import { bundleApp, type AppBundle } from './appBundle'
import type { DemoAppConfig } from './app/demoConfig'
import { renderAppPage } from './appPage'
import { CONTROL_PATH, startAppServer, type AppServer } from './appServer'
import { applyFaultMode, type FaultMode } from './faultModes'
import { startTerminalFeed, type TerminalFeed } from './terminalFeed'

export interface DemoOptions {
  /** The web app's port. Default 0: a free one. */
  port?: number
  /** The embedded server's port. Default 0: a free one. */
  apiPort?: number
  /** Both listen on this address. Default `'127.0.0.1'`. */
  host?: string
  /** Sample events the server starts with. Default 40. */
  events?: number
  /** Whether the activity simulator creates and deletes events now and then. Default true. */
  simulator?: boolean
  /** Milliseconds between the simulator's changes, drawn uniformly. Default `[3000, 8000]`. */
  simulatorDelayMs?: readonly [number, number]
  /** The app's store settings. Defaults: polls every 2000 ms; retries after 1 s, doubling up to 5 s, 6 attempts. */
  pollIntervalMs?: number
  retry?: DemoAppConfig['retry']
  /** The app, bundled already (tests share one). Default: bundled now with {@link bundleApp}. */
  bundle?: Promise<AppBundle>
  /** Receives the terminal feed, a line at a time. Default: no feed. */
  print?: (line: string) => void
}

/** A running demo: the web app, the embedded server behind it, and the simulator. */
export interface Demo {
  /** Open this in a browser. */
  readonly appUrl: string
  /** The embedded server's base URL; `npx workstream-sync watch --url` it, too. */
  readonly apiUrl: string
  readonly server: WorkstreamServer
  /** The server's fault mode, as the app's switch last set it. */
  readonly faultMode: FaultMode
  setFaultMode(mode: FaultMode): void
  /** Stops the simulator, the feed, the web app and the server. Safe to call more than once. */
  close(): Promise<void>
}

const DEFAULT_RETRY: DemoAppConfig['retry'] = { baseDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 6 }

/**
 * Starts the demo: the embedded server with sample events (recent ones, so that relative
 * times read well), the activity simulator, and a web server for the app, which is bundled
 * in memory and talks to the embedded server from its own origin.
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1'
  const bundle = options.bundle ?? bundleApp()
  const server = await startWorkstreamServer({
    host,
    port: options.apiPort ?? 0,
    events: generateSampleEvents({ count: options.events ?? 40, seed: 7, now: Date.now() }),
  })

  let mode: FaultMode = 'normal'
  let feed: TerminalFeed | undefined
  let simulator: ActivitySimulator | undefined
  let app: AppServer | undefined
  const setFaultMode = (next: FaultMode): void => {
    applyFaultMode(server.faults, next)
    if (next !== mode) feed?.faultMode(next)
    mode = next
  }

  try {
    const config: DemoAppConfig = {
      apiUrl: server.url,
      controlUrl: CONTROL_PATH,
      pollIntervalMs: options.pollIntervalMs ?? 2000,
      retry: options.retry ?? DEFAULT_RETRY,
    }
    app = await startAppServer({
      host,
      port: options.port ?? 0,
      page: renderAppPage(config),
      bundle: await bundle,
      faultMode: () => mode,
      setFaultMode,
    })
  } catch (error) {
    await server.close()
    throw error
  }

  if (options.print !== undefined) feed = startTerminalFeed({ server, print: options.print })
  if (options.simulator ?? true) {
    simulator = startActivitySimulator({
      server,
      ...(options.simulatorDelayMs === undefined ? {} : { delayMs: options.simulatorDelayMs }),
      onActivity: (activity) => feed?.simulated(activity),
    })
  }

  const appServer = app
  let closed: Promise<void> | undefined
  return {
    appUrl: appServer.url,
    apiUrl: server.url,
    server,
    get faultMode() {
      return mode
    },
    setFaultMode,
    close() {
      closed ??= (async () => {
        simulator?.stop()
        feed?.stop()
        await appServer.close()
        await server.close()
      })()
      return closed
    },
  }
}
