import type { WorkstreamEvent } from '../src/models'
import type { WorkstreamServer } from '../src/server/index'
import { formatClock, formatWatchLine } from '../src/watchCommand'
import { FAULT_MODE_DESCRIPTIONS, type FaultMode } from './faultModes'

export interface TerminalFeedOptions {
  server: Pick<WorkstreamServer, 'events' | 'requests'>
  /** Receives each line, without its newline. */
  print(line: string): void
  /** How often to look for creates and deletes that came over HTTP. Default 1000 ms. */
  intervalMs?: number
  /** Default `Date.now`. */
  now?: () => number
}

export interface TerminalFeed {
  /** Reports a change the simulator made. */
  simulated(activity: { kind: 'created' | 'deleted'; event: WorkstreamEvent }): void
  /** Reports a switch of the server's fault mode. */
  faultMode(mode: FaultMode): void
  /** Looks for creates and deletes made over HTTP now; the timer does this every `intervalMs`. */
  check(): void
  stop(): void
}

/**
 * One line per thing that happens on the demo's server: the simulator's changes, the app's
 * creates and deletes (seen over HTTP), refused requests while the server fails, and fault
 * mode switches. Each event line ends with the server's request counts so far.
 */
export function startTerminalFeed(options: TerminalFeedOptions): TerminalFeed {
  const { server, print } = options
  const now = options.now ?? Date.now
  const known = new Map(server.events().map((event) => [event.id, event]))
  let seenWrites = writeCount()

  function writeCount(): number {
    return server.requests.count('create') + server.requests.count('delete')
  }

  function counts(): string {
    const { requests } = server
    return `[${requests.count('snapshot')} snapshots, ${requests.count('create')} creates, ${requests.count('delete')} deletes]`
  }

  function line(sign: '+' | '-', event: WorkstreamEvent, by: string): void {
    print(`${formatWatchLine(sign, event, now())}  (${by})  ${counts()}`)
  }

  function check(): void {
    const writes = writeCount()
    if (writes === seenWrites) return
    seenWrites = writes
    const current = server.events()
    const ids = new Set<string>()
    let changed = false
    for (const event of current) {
      ids.add(event.id)
      if (known.has(event.id)) continue
      known.set(event.id, event)
      line('+', event, 'app')
      changed = true
    }
    for (const [id, event] of known) {
      if (ids.has(id)) continue
      known.delete(id)
      line('-', event, 'app')
      changed = true
    }
    // Requests that changed nothing: refused while failing, or retries of what is already there.
    if (!changed) print(`${formatClock(now())}  requests ${counts()}`)
  }

  const timer = setInterval(check, options.intervalMs ?? 1000)
  timer.unref()

  return {
    simulated({ kind, event }) {
      // Deleted before the feed saw it: the app made it since the last look (the simulator's own are known).
      if (kind === 'deleted' && !known.has(event.id)) line('+', event, 'app')
      if (kind === 'created') known.set(event.id, event)
      else known.delete(event.id)
      line(kind === 'created' ? '+' : '-', event, 'simulator')
    },
    faultMode(mode) {
      print(`${formatClock(now())}  server mode ${FAULT_MODE_DESCRIPTIONS[mode]}`)
    },
    check,
    stop() {
      clearInterval(timer)
    },
  }
}
