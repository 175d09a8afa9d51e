import type { WorkstreamEvent } from '../src/models'
import { generateSampleSeed, type WorkstreamServer } from '../src/server/index'

/** Timers the simulator schedules itself with; injectable so that tests step through it. */
export interface SimulatorTimers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface ActivitySimulatorOptions {
  server: Pick<WorkstreamServer, 'create' | 'delete' | 'events'>
  /** Called after every change the simulator made. */
  onActivity?: (activity: { kind: 'created' | 'deleted'; event: WorkstreamEvent }) => void
  /** Milliseconds between two changes, drawn uniformly. Default `[3000, 8000]`. */
  delayMs?: readonly [number, number]
  /** The server's event count the simulator steers towards. Default: the count at start. */
  target?: number
  /** Default `Math.random`. */
  random?: () => number
  /** Default: the global timers, unref'd so that they never keep Node alive on their own. */
  timers?: SimulatorTimers
}

export interface ActivitySimulator {
  stop(): void
}

const nodeTimers: SimulatorTimers = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms)
    handle.unref?.()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * Creates and deletes events now and then, as the apps Pieces OS watches do, by calling the
 * server directly: to the app these are changes made elsewhere that its polls pick up. It
 * creates more often than it deletes while below the target count, and the other way round.
 */
export function startActivitySimulator(options: ActivitySimulatorOptions): ActivitySimulator {
  const { server } = options
  const random = options.random ?? Math.random
  const timers = options.timers ?? nodeTimers
  const [minDelay, maxDelay] = options.delayMs ?? [3000, 8000]
  const target = options.target ?? server.events().length
  let seedIndex = 0
  let timer: unknown
  let stopped = false

  function step(): void {
    // Read afresh each time: the app creates and deletes too.
    const events = server.events()
    const createChance = events.length < target ? 0.8 : events.length > target ? 0.2 : 0.5
    if (events.length === 0 || random() < createChance) {
      const event = server.create(generateSampleSeed(random, seedIndex++))
      options.onActivity?.({ kind: 'created', event })
      return
    }
    // Among the newest ten, where a person watching the feed will see it go.
    const victim = events[Math.floor(random() * Math.min(events.length, 10))]
    if (victim !== undefined && server.delete(victim.id)) options.onActivity?.({ kind: 'deleted', event: victim })
  }

  function schedule(): void {
    if (stopped) return
    timer = timers.setTimeout(() => {
      timer = undefined
      step()
      schedule()
    }, minDelay + Math.floor(random() * (maxDelay - minDelay)))
  }

  schedule()
  return {
    stop() {
      stopped = true
      if (timer !== undefined) timers.clearTimeout(timer)
      timer = undefined
    },
  }
}
