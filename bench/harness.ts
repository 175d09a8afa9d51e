import { PerformanceObserver } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * One measurement, in milliseconds: wall-clock time, and the CPU time of the process (all its
 * threads, so GC helpers too). On a shared, busy machine the CPU time is the steadier of the two.
 */
export interface Sample {
  readonly wall: number
  readonly cpu: number
  /** When the sample started and ended (performance.now()), to find the GC pauses inside it. */
  readonly start?: number
  readonly end?: number
  /** The garbage-collection pauses inside the sample (not the incremental marking steps, which V8 runs inside JavaScript). */
  readonly gc?: number
}

export interface Stopwatch {
  /** The time since the stopwatch started. */
  lap(): Sample
}

export function startStopwatch(): Stopwatch {
  const cpu = process.cpuUsage()
  const wall = performance.now()
  return {
    lap() {
      const now = performance.now()
      const used = process.cpuUsage(cpu)
      return { wall: now - wall, cpu: (used.user + used.system) / 1000, start: wall, end: now }
    },
  }
}

/** One row of a table: something measured several times, interleaved with the other rows. */
export interface Row {
  /** Stable across sizes, so that the scaling table can pair a row's 10k and 50k results. */
  readonly key: string
  readonly label: string
  /**
   * One measurement. Setup and checks around the timed part are not counted; `settle` (a full GC)
   * is called after the setup, just before the timed part, so that no row pays for garbage or
   * external memory (a new response's body) that its setup or another row left behind.
   */
  measure(settle: () => void): Promise<Sample>
}

/** What a row reports when the emission it waits for never came (a check fails too). */
export const NOT_EMITTED: Sample = { wall: Number.NaN, cpu: Number.NaN }

/** The rows of one group (the peers, or this store), set up for one snapshot size. */
export interface RowSet {
  readonly rows: readonly Row[]
  /** What the runs showed besides times (emissions, writes, identity), printed under the table. */
  facts(): string[]
  dispose(): Promise<void>
}

/** Correctness checks: a failure does not stop the bench, but makes it exit non-zero. */
export interface Checks {
  readonly failures: readonly string[]
  /** How many checks ran, failed or not. */
  readonly count: number
  /** Records `message` as a failure when `condition` is false; returns `condition`. */
  expect(condition: boolean, message: string): boolean
}

export function createChecks(): Checks {
  const failures: string[] = []
  let count = 0
  return {
    failures,
    get count() {
      return count
    },
    expect(condition, message) {
      count++
      if (!condition && !failures.includes(message)) failures.push(message)
      return condition
    },
  }
}

export interface InterleaveOptions {
  runs: number
  /** A full garbage collection: each row runs it (twice) just before its timed part. */
  gc: () => void
  progress?: (message: string) => void
}

/**
 * Measures every row `runs` times. Each run measures every row once, starting one row further
 * along each time, so that a slow phase of a shared, noisy machine spreads over all the rows
 * instead of landing on one of them.
 */
export async function measureInterleaved(rows: readonly Row[], options: InterleaveOptions): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(rows.map((row) => [row.key, []]))
  // Twice: after one full collection V8 still frees array buffers and sweeps pages on background
  // threads, and a row that allocates then waits for the garbage of the row before it (measured:
  // create() at 50k took 5-14 ms after an unchanged poll or a reload with one, 0.9-1.8 ms with two).
  const settle = (): void => {
    options.gc()
    options.gc()
  }
  const pauses: Array<{ start: number; duration: number }> = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, duration: entry.duration })
  })
  observer.observe({ entryTypes: ['gc'] })
  try {
    for (let run = 0; run < options.runs; run++) {
      options.progress?.(`run ${run + 1}/${options.runs}`)
      for (let i = 0; i < rows.length; i++) {
        const row = rows[(run + i) % rows.length]!
        samples.get(row.key)!.push(await row.measure(settle))
      }
    }
    // GC entries are delivered some turns of the event loop later: pair them up at the end.
    await new Promise((resolve) => setTimeout(resolve, 100))
  } finally {
    observer.disconnect()
  }
  const within = ({ start, end }: Sample): number =>
    start === undefined || end === undefined ? Number.NaN : pauses.filter((p) => p.start >= start && p.start < end).reduce((sum, p) => sum + p.duration, 0)
  for (const [key, list] of samples) samples.set(key, list.map((sample) => ({ ...sample, gc: within(sample) })))
  return samples
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** `global.gc` when node runs with --expose-gc, else the same function obtained through V8's flags. */
export function resolveGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return exposed
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
