import { parseArgs } from 'node:util'
import {
  createWorkstreamStore,
  DEFAULT_BASE_URL,
  memoryStorage,
  WorkstreamSyncError,
  type EventChanges,
  type LogLevel,
  type LogSink,
  type WorkstreamEvent,
  type WorkstreamEventTrigger,
  type WorkstreamStore,
} from './index'
import type { CommandIo } from './server/index'
import { integerOption } from './server/integerOption'

/** The help text of `workstream-sync watch`. */
export const WATCH_USAGE = `Usage: workstream-sync watch [--url URL] [options]

Prints the workstream events of a Pieces OS (or of "workstream-sync serve") as they
change: first how many there are, then one line per event added (+), updated (~) or
removed (-). Errors go to stderr; polling goes on. Stops on Ctrl+C (SIGINT) or SIGTERM.

Options:
  --url URL        the server's base URL (default: ${DEFAULT_BASE_URL}, Pieces OS)
  --interval MS    milliseconds between polls (default: 2000)
  --app-id ID      sent as the X-Application-ID header
  --log LEVEL      trace the store on stderr: off, error, warn, info or debug (default: off)
  -h, --help       show this help
`

/** What a watch line shows before the event: added, updated or removed. */
export type WatchSign = '+' | '~' | '-'

/** What tests inject into {@link runWatchCommand}. */
export interface WatchCommandOptions {
  /** The clock of the time column. Default `Date.now`. */
  now?: () => number
}

const DEFAULT_INTERVAL_MS = 2000
const LOG_LEVELS: readonly LogLevel[] = ['off', 'error', 'warn', 'info', 'debug']
const TITLE_WIDTH = 72

/**
 * `workstream-sync watch`: a terminal feed of a server's events. Resolves with the exit code:
 * 0 once stopped through `io.signal`, 1 when the first snapshot cannot be read (with a message
 * that says what to check), 2 for bad arguments.
 */
export async function runWatchCommand(argv: readonly string[], io: CommandIo, options: WatchCommandOptions = {}): Promise<number> {
  let parsed: WatchArguments | 'help'
  try {
    parsed = parseWatchArguments(argv)
  } catch (error) {
    io.stderr(`workstream-sync watch: ${messageOf(error)}\n\n${WATCH_USAGE}`)
    return 2
  }
  if (parsed === 'help') {
    io.stdout(WATCH_USAGE)
    return 0
  }

  const now = options.now ?? Date.now
  const { url, intervalMs, applicationId, logLevel } = parsed
  let store: WorkstreamStore
  try {
    store = createWorkstreamStore({
      baseUrl: url,
      ...(applicationId === undefined ? {} : { applicationId }),
      storage: memoryStorage(),
      tabs: false,
      pollIntervalMs: intervalMs,
      // After a failed poll, the first retry comes about one interval later, as the next poll would have.
      retry: { baseDelayMs: intervalMs, maxDelayMs: Math.max(intervalMs, 30_000) },
      timeoutMs: 10_000,
      logger: { level: logLevel, sink: stderrSink(io) },
    })
  } catch (error) {
    // What the store refuses of an argument (an --app-id that cannot be a header, a --url with a query).
    if (!(error instanceof WorkstreamSyncError && error.kind === 'invalid-input')) throw error
    io.stderr(`workstream-sync watch: ${error.message}\n\n${WATCH_USAGE}`)
    return 2
  }
  const stopped = aborted(io.signal)
  try {
    const first = store.refresh()
    // A first snapshot that fails after a stop has nobody left to tell.
    first.catch(() => {})
    try {
      // Stopping while the first snapshot is on its way ends the command at once.
      await Promise.race([first, stopped])
    } catch (error) {
      if (io.signal.aborted) return 0
      io.stderr(`workstream-sync watch: ${firstSnapshotProblem(url, error)}\n`)
      return 1
    }
    if (io.signal.aborted) return 0

    const count = store.events.length
    io.stdout(`${count} event${count === 1 ? '' : 's'} at ${url}; watching every ${intervalMs} ms. Press Ctrl+C to stop.\n`)

    // One line per distinct failure, not one per retry; "back in sync" only after the sync failed
    // (an unreadable event is reported, but the sync goes on).
    let printed: string | undefined
    let failed = false
    const subscriptions = [
      store.changes$.subscribe((changes) => io.stdout(formatChanges(changes, now()))),
      store.errors$.subscribe((error) => {
        if (error.message === printed) return
        printed = error.message
        io.stderr(`${formatClock(now())}  ! ${error.message}\n`)
      }),
      store.status$.subscribe((status) => {
        if (status.phase === 'error') failed = true
        if (status.phase !== 'synced' || !failed) return
        failed = false
        printed = undefined
        io.stderr(`${formatClock(now())}  ! back in sync (${store.events.length} events)\n`)
      }),
    ]
    store.start()
    await stopped
    for (const subscription of subscriptions) subscription.unsubscribe()
    io.stdout('Stopped.\n')
    return 0
  } finally {
    await store.dispose()
  }
}

/** The lines of one applied change, each ending in a newline. */
export function formatChanges(changes: EventChanges, at: number): string {
  const lines = [
    ...changes.added.map((event) => formatWatchLine('+', event, at)),
    ...changes.updated.map((event) => formatWatchLine('~', event, at)),
    ...changes.removed.map((event) => formatWatchLine('-', event, at)),
  ]
  return lines.map((line) => `${line}\n`).join('')
}

/** `14:30:02  + VS_CODE  file_open  Edited store.ts in workstream-sync…`: local time, sign, app, trigger, title. */
export function formatWatchLine(sign: WatchSign, event: WorkstreamEvent, at: number): string {
  return `${formatClock(at)}  ${sign} ${event.application.name}  ${triggerName(event.trigger)}  ${shortTitle(event)}`
}

/** The trigger flags that are set, for example `file_close+application_switch`; `-` when none is. */
export function triggerName(trigger: WorkstreamEventTrigger): string {
  const set = Object.entries(trigger)
    .filter(([key, value]) => key !== 'schema' && value === true)
    .map(([key]) => key)
  return set.length === 0 ? '-' : set.join('+')
}

/** The event's readable text, else its window title, else its URL, else its id, on one line and cut to `width`. */
export function shortTitle(event: WorkstreamEvent, width = TITLE_WIDTH): string {
  const text = (event.readable || event.windowTitle || event.browserUrl || event.id).replace(/\s+/g, ' ').trim()
  const characters = [...text]
  return characters.length <= width ? text : `${characters.slice(0, width - 1).join('')}…`
}

/** The local time of `at` as `HH:MM:SS`, the first column of every watch line. */
export function formatClock(at: number): string {
  const date = new Date(at)
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

function firstSnapshotProblem(url: string, error: unknown): string {
  const detail = messageOf(error)
  const wrongServer = error instanceof WorkstreamSyncError && (error.kind === 'http' || error.kind === 'validation')
  const hint = wrongServer
    ? 'Check --url: it must be the base URL of Pieces OS or of "workstream-sync serve", without /workstream_events.'
    : 'Check --url.'
  return `cannot read the events at ${url}.\n${detail}\n${hint}`
}

interface WatchArguments {
  url: string
  intervalMs: number
  applicationId: string | undefined
  logLevel: LogLevel
}

function parseWatchArguments(argv: readonly string[]): WatchArguments | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      interval: { type: 'string' },
      'app-id': { type: 'string' },
      log: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help === true) return 'help'
  const url = baseUrl(values.url ?? DEFAULT_BASE_URL)
  const intervalMs = integerOption('--interval', values.interval, DEFAULT_INTERVAL_MS, 10, 3_600_000)
  if (values['app-id'] === '') throw new Error('--app-id needs an id')
  const logLevel = values.log ?? 'off'
  if (!isLogLevel(logLevel)) throw new Error(`--log must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`)
  return { url, intervalMs, applicationId: values['app-id'], logLevel }
}

function baseUrl(text: string): string {
  let parsed: URL | undefined
  try {
    parsed = new URL(text)
  } catch {
    // Reported below with the example of a good value.
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new Error(`--url must be an http or https URL such as ${DEFAULT_BASE_URL}, got ${JSON.stringify(text)}`)
  }
  return text.replace(/\/+$/, '')
}

function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text)
}

function stderrSink(io: CommandIo): LogSink {
  const line = (message: string, ...details: unknown[]): void => {
    io.stderr(`${[message, ...details.map((detail) => (detail instanceof Error ? detail.message : String(detail)))].join(' ')}\n`)
  }
  return { error: line, warn: line, info: line, debug: line }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
