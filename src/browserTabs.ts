import { globalTimers, type Timers } from './environment'
import { WorkstreamSyncError } from './errors'
import { soloCoordinator, type TabCoordinator, type TabMessage } from './tabs'

/** Options of {@link browserTabCoordinator}. Every default reads the globals when the coordinator is made. */
export interface BrowserTabOptions {
  /** The Web Locks manager. Default: `navigator.locks`. */
  locks?: LockManager
  /** Opens the channel the tabs talk on. Default: `new BroadcastChannel(name)`. */
  channel?: (name: string) => BroadcastChannel
  /**
   * How often the leader says it is alive. A follower that hears nothing for about three
   * intervals takes the lock over, because a frozen tab keeps its lock. Default `2000`.
   */
  heartbeatMs?: number
  /** Default: the global `setTimeout`/`clearTimeout`, read at call time. */
  timers?: Timers
  /** The clock. Default `Date.now`. */
  now?: () => number
  /** Spreads the followers' takeover deadlines, so that they do not all take over at once. Default `Math.random`. */
  random?: () => number
}

const DEFAULT_HEARTBEAT_MS = 2000
const MISSED_BEATS = 3

/** What goes over the channel: a store's message, or the leader's heartbeat that stores never see. */
type Envelope = { readonly heartbeat: true } | { readonly message: TabMessage }

/**
 * Tabs of one origin that share `namespace` elect one leader with the Web Locks API and talk
 * over a BroadcastChannel. Where either API is missing (older browsers, Node), the store is
 * alone and always the leader.
 */
export function browserTabCoordinator(namespace: string, options: BrowserTabOptions = {}): TabCoordinator {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  if (!(heartbeatMs > 0)) throw new WorkstreamSyncError('invalid-input', `heartbeatMs must be more than 0 milliseconds, got ${String(options.heartbeatMs)}.`)
  const locks = options.locks ?? (typeof navigator !== 'undefined' ? (navigator.locks as LockManager | undefined) : undefined)
  const open = options.channel ?? (typeof BroadcastChannel === 'function' ? (name: string) => new BroadcastChannel(name) : undefined)
  if (!locks || !open) return soloCoordinator()
  const name = `workstream-sync:${namespace}`
  let channel: BroadcastChannel
  try {
    channel = open(name)
  } catch {
    // Opaque origins (sandboxed frames, file: pages) refuse a channel: such a page is alone anyway.
    return soloCoordinator()
  }
  return new BrowserTabCoordinator({
    locks,
    channel,
    lockName: name,
    heartbeatMs,
    timers: options.timers ?? globalTimers,
    now: options.now ?? (() => Date.now()),
    random: options.random ?? Math.random,
  })
}

interface CoordinatorParts {
  locks: LockManager
  channel: BroadcastChannel
  lockName: string
  heartbeatMs: number
  timers: Timers
  now: () => number
  random: () => number
}

class BrowserTabCoordinator implements TabCoordinator {
  readonly #p: CoordinatorParts
  readonly #leadershipListeners = new Set<(isLeader: boolean) => void>()
  readonly #messageListeners = new Set<(message: TabMessage) => void>()
  #leader = false
  #closed = false
  /** Bumped by every lock request; the outcome of an older one is ignored. */
  #attempt = 0
  /** Ends the held lock's callback, which lets the lock go. */
  #release: (() => void) | undefined
  #abortQueued: AbortController | undefined
  #heartbeat: unknown
  #watchdog: unknown
  #watchdogArmedAt = 0
  #watchdogMs = 0
  readonly elected: Promise<void>

  constructor(parts: CoordinatorParts) {
    this.#p = parts
    parts.channel.addEventListener('message', this.#receive)
    this.#armWatchdog()
    this.elected = new Promise((decided) => this.#request('free', decided))
  }

  get isLeader(): boolean {
    return this.#leader
  }

  onLeadership(listener: (isLeader: boolean) => void): () => void {
    this.#leadershipListeners.add(listener)
    return () => this.#leadershipListeners.delete(listener)
  }

  post(message: TabMessage): void {
    if (this.#closed) return
    this.#send({ message })
  }

  onMessage(listener: (message: TabMessage) => void): () => void {
    this.#messageListeners.add(listener)
    return () => this.#messageListeners.delete(listener)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#leader = false
    this.#stopHeartbeat()
    this.#stopWatchdog()
    this.#abortQueued?.abort()
    this.#abortQueued = undefined
    this.#release?.()
    this.#release = undefined
    this.#p.channel.removeEventListener('message', this.#receive)
    this.#p.channel.close()
    this.#leadershipListeners.clear()
    this.#messageListeners.clear()
  }

  /**
   * Asks for the lock: `free` takes it only if nobody holds or waits for it, and queues for it
   * otherwise; `queue` waits in line; `steal` takes it from a holder that stopped beating.
   * `decided` is called once this tab knows whether it holds the lock (a queued wait aside).
   */
  #request(how: 'free' | 'queue' | 'steal', decided: () => void = () => {}): void {
    const attempt = ++this.#attempt
    this.#abortQueued?.abort()
    this.#abortQueued = undefined
    let lockOptions: LockOptions
    if (how === 'free') {
      lockOptions = { mode: 'exclusive', ifAvailable: true }
    } else if (how === 'steal') {
      // The Web Locks API refuses `signal` together with `steal` or `ifAvailable`: neither is ever queued.
      lockOptions = { mode: 'exclusive', steal: true }
    } else {
      const queued = new AbortController()
      this.#abortQueued = queued
      lockOptions = { mode: 'exclusive', signal: queued.signal }
    }
    this.#p.locks
      .request(this.#p.lockName, lockOptions, (lock) => {
        if (this.#closed || attempt !== this.#attempt) return decided()
        if (lock === null) {
          // Held or waited for by another tab: wait in line.
          this.#request('queue')
          return decided()
        }
        this.#abortQueued = undefined
        return new Promise<void>((resolve) => {
          this.#release = resolve
          this.#gain()
          decided()
        })
      })
      .then(
        () => {},
        (error: unknown) => {
          this.#lost(attempt, error)
          decided()
        },
      )
  }

  #gain(): void {
    this.#stopWatchdog()
    this.#leader = true
    this.#beat()
    this.#notify(true)
  }

  /** The held lock was taken (AbortError), or the request failed. */
  #lost(attempt: number, error: unknown): void {
    if (this.#closed || attempt !== this.#attempt) return
    this.#release = undefined
    if (!isAbortError(error)) {
      // The lock manager refuses this page (for example an opaque origin): a page that cannot
      // take part in the election is alone, like a page without Web Locks.
      this.#stopWatchdog()
      if (!this.#leader) this.#gain()
      return
    }
    if (this.#leader) {
      this.#leader = false
      this.#stopHeartbeat()
      this.#notify(false)
    }
    this.#armWatchdog()
    this.#request('queue')
  }

  #beat(): void {
    this.#send({ heartbeat: true })
    this.#heartbeat = this.#p.timers.setTimeout(() => this.#beat(), this.#p.heartbeatMs)
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) this.#p.timers.clearTimeout(this.#heartbeat)
    this.#heartbeat = undefined
  }

  #armWatchdog(): void {
    this.#stopWatchdog()
    const { heartbeatMs, random } = this.#p
    this.#watchdogMs = heartbeatMs * MISSED_BEATS + random() * heartbeatMs
    this.#watchdogArmedAt = this.#p.now()
    this.#watchdog = this.#p.timers.setTimeout(() => this.#onSilence(), this.#watchdogMs)
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) this.#p.timers.clearTimeout(this.#watchdog)
    this.#watchdog = undefined
  }

  #onSilence(): void {
    this.#watchdog = undefined
    if (this.#closed || this.#leader) return
    const late = this.#p.now() - this.#watchdogArmedAt - this.#watchdogMs
    if (late > this.#p.heartbeatMs) {
      // This timer fired long after its time: this tab was frozen or throttled itself (a laptop
      // waking up), and the leader's beats may still be on their way. Give it one more window.
      this.#armWatchdog()
      return
    }
    this.#request('steal')
  }

  readonly #receive = (event: MessageEvent): void => {
    const data: unknown = event.data
    if (typeof data !== 'object' || data === null) return
    if ('heartbeat' in data) {
      if (!this.#leader && !this.#closed) this.#armWatchdog()
      return
    }
    if (!('message' in data) || !isTabMessage(data.message)) return
    for (const listener of [...this.#messageListeners]) call(listener, data.message)
  }

  #send(envelope: Envelope): void {
    this.#p.channel.postMessage(envelope)
  }

  #notify(isLeader: boolean): void {
    for (const listener of [...this.#leadershipListeners]) call(listener, isLeader)
  }
}

function isTabMessage(value: unknown): value is TabMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && typeof (value as { from?: unknown }).from === 'string'
}

function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError'
}

/**
 * A listener that throws must not stop the others, nor the election. Its error is reported the
 * way the platform reports an uncaught one: `reportError` in browsers, else an uncaught exception.
 */
function call<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value)
  } catch (error) {
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError
    if (typeof report === 'function') report(error)
    else
      queueMicrotask(() => {
        throw error
      })
  }
}
