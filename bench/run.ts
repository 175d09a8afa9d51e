/*
 * `npm run bench`: one table per snapshot size (1k, 10k, 50k events), the memory at 10k, and the
 * scaling from 10k to 50k, printed as markdown. `npm run bench:smoke`: 200 events only, for CI,
 * which checks that the bench still runs and that its correctness checks hold, not its timings.
 *
 *   --smoke            200 events, 3 runs (the memory is measured at min(10k, largest size))
 *   --sizes=1000,10000 the tables to measure
 *   --runs=9           runs per table (default 7: the medians of a shared machine move less than with 5)
 *   --quick            leaves the official client, TanStack and the BehaviorSubject out above 10k
 *                      (every table has every peer by default: some 8 minutes in all)
 *
 * Exits 1 when a correctness check fails (identity, delta, zero emissions or writes); a missed
 * target only prints MISS.
 */
import { spawn } from 'node:child_process'
import { getHeapStatistics } from 'node:v8'
import { runBench, type BenchOptions } from './bench'
import { resolveGc } from './harness'
import { formatReport } from './report'

/** The 50k table keeps about 3 GB alive (the bodies, a parsed copy, the store, the cache in fake-indexeddb). */
const HEAP_MB = 12_288
const CHILD_FLAG = 'WORKSTREAM_SYNC_BENCH_CHILD'

function parseArgs(argv: readonly string[]): BenchOptions & { smoke: boolean } {
  const smoke = argv.includes('--smoke')
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const sizes = value('sizes')?.split(',').map(Number) ?? (smoke ? [200] : [1000, 10_000, 50_000])
  if (sizes.some((n) => !Number.isInteger(n) || n < 10)) throw new Error(`--sizes takes whole numbers of at least 10, got ${value('sizes')}`)
  const runs = value('runs') === undefined ? undefined : Number(value('runs'))
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs takes a whole number, got ${value('runs')}`)
  return {
    smoke,
    sizes,
    runs: () => runs ?? (smoke ? 3 : 7),
    allPeersUpTo: argv.includes('--quick') ? 10_000 : Infinity,
    memoryCount: Math.min(10_000, Math.max(...sizes)),
    gc: resolveGc(),
    progress: (message) => process.stderr.write(`bench: ${message}\n`),
  }
}

/** Large sizes need a larger heap than Node's default, which only a new process can have. */
function needsLargerHeap(sizes: readonly number[]): boolean {
  return Math.max(...sizes) > 10_000 && getHeapStatistics().heap_size_limit < HEAP_MB * 0.9 * 1024 * 1024 && process.env[CHILD_FLAG] === undefined
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2))
  if (needsLargerHeap(options.sizes)) {
    const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', `--max-old-space-size=${HEAP_MB}`, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [CHILD_FLAG]: '1' },
    })
    return new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        if (signal !== null) process.stderr.write(`bench: the measuring process was ended by ${signal}\n`)
        resolve(code ?? 1)
      }),
    )
  }
  const report = await runBench(options)
  process.stdout.write(`${formatReport(report)}\n`)
  return report.checks.failures.length === 0 ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
