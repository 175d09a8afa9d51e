import type { SignalSource, Timers } from './environment'

export interface PollerOptions {
  /** Milliseconds between the end of one fetch and the start of the next; 0: none (a fetch at start, when coming back, and on demand). */
  intervalMs: number
  /** Fetches and applies one snapshot; rejects when that failed. */
  fetch: () => Promise<void>
  /** The delay after `failures` failures in a row. */
  backoff: (failures: number) => number
  timers: Timers
  online: SignalSource
  visible: SignalSource
}

export interface Poller {
  /** Polls now and then every interval, while online and visible. */
  start(): void
  stop(): void
  /** Fetches now, or joins the fetch already in flight. */
  refresh(): Promise<void>
  /** A fetch that starts now or later, never one already in flight (which started too early to answer). */
  fresh(): Promise<void>
  readonly started: boolean
  /** Whether polling waits for the network or the page to come back. */
  readonly paused: boolean
  dispose(): void
}

/**
 * Schedules snapshot fetches. The next one is scheduled only when the last one settled, so
 * fetches never overlap however slow the server is; failures back off; going offline or hidden
 * pauses, and coming back fetches at once.
 */
export function createPoller(options: PollerOptions): Poller {
  const { timers } = options
  let started = false
  let disposed = false
  let inFlight: Promise<void> | undefined
  let timer: unknown
  let failures = 0
  let unsubscribe: (() => void) | undefined

  const canPoll = (): boolean => started && !disposed && options.online.get() && options.visible.get()

  function clearTimer(): void {
    if (timer !== undefined) timers.clearTimeout(timer)
    timer = undefined
  }

  function schedule(): void {
    clearTimer()
    // 0: no timed polls, and no retries either: a failed refresh() is the caller's to repeat.
    if (!canPoll() || inFlight || options.intervalMs <= 0) return
    const delay = failures > 0 ? options.backoff(failures) : options.intervalMs
    timer = timers.setTimeout(() => {
      timer = undefined
      run().catch(() => {})
    }, delay)
  }

  function run(): Promise<void> {
    if (inFlight) return inFlight
    clearTimer()
    const attempt = Promise.resolve().then(options.fetch).then(
      () => {
        failures = 0
      },
      (error: unknown) => {
        failures++
        throw error
      },
    )
    inFlight = attempt.finally(() => {
      inFlight = undefined
      schedule()
    })
    // The caller of run() handles the rejection; this copy only keeps the schedule going.
    inFlight.catch(() => {})
    return inFlight
  }

  function fresh(): Promise<void> {
    return inFlight ? inFlight.then(run, run) : run()
  }

  /** Back online: a request still out went before the network dropped, so a new one follows it. */
  function onOnline(value: boolean): void {
    if (value && canPoll()) fresh().catch(() => {})
    else if (!value) clearTimer()
  }

  function onVisible(value: boolean): void {
    if (value && canPoll()) run().catch(() => {})
    else if (!value) clearTimer()
  }

  return {
    start() {
      if (started || disposed) return
      started = true
      const offOnline = options.online.subscribe(onOnline)
      const offVisible = options.visible.subscribe(onVisible)
      unsubscribe = () => {
        offOnline()
        offVisible()
      }
      if (canPoll()) run().catch(() => {})
    },
    stop() {
      started = false
      clearTimer()
      unsubscribe?.()
      unsubscribe = undefined
    },
    refresh: run,
    fresh,
    get started() {
      return started
    },
    get paused() {
      return started && !(options.online.get() && options.visible.get())
    },
    dispose() {
      disposed = true
      this.stop()
    },
  }
}
