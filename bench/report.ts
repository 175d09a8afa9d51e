import type { Sample } from './harness'
import type { MemoryResult } from './memory'

/** One table's results: every row's samples, measured in the same run. */
export interface TableResult {
  readonly count: number
  /** False when the table has only the reference peers. */
  readonly allPeers: boolean
  /** What the runs showed besides times (emissions, writes, identity). */
  readonly facts: readonly string[]
  readonly bodyBytes: number
  readonly runs: number
  /** `median` is of the wall-clock times, which the targets are judged on; `cpuMedian` of the CPU times; `gcMedian` of the GC pauses inside them. */
  readonly rows: ReadonlyArray<{ key: string; label: string; median: number; cpuMedian: number; gcMedian: number; samples: readonly Sample[] }>
}

export interface Machine {
  readonly date: string
  readonly node: string
  readonly cpu: string
  readonly cores: number
  readonly loadAverage: readonly number[]
}

export interface BenchReport {
  readonly machine: Machine
  readonly tables: readonly TableResult[]
  readonly memory: MemoryResult
  readonly checks: { readonly count: number; readonly failures: readonly string[] }
  readonly seconds: number
}

export const BASELINE_KEY = 'naive'
/** The targets, as ratios to the baseline at 10k events (checked at every size). */
export const RATIO_TARGETS: Readonly<Record<string, number>> = { 'store-unchanged': 0.1, 'store-2pct': 0.2, 'store-cold': 0.8 }
export const MEMORY_TARGET = 2
export const SCALING_TARGET = 5.5
export const TARGET_COUNT = 10_000
const SCALING_FROM = 10_000
const SCALING_TO = 50_000
const SCALED_KEYS = ['store-unchanged', 'store-2pct', 'store-cold', 'store-create']
const REFERENCE_KEYS = [BASELINE_KEY, 'parse', 'reader']

/** The whole report as markdown, ready to paste into the README. */
export function formatReport(report: BenchReport): string {
  const { machine } = report
  const lines: string[] = [
    '## Benchmark',
    '',
    `${machine.date} · Node ${machine.node} · ${machine.cpu} × ${machine.cores} · load average at start ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')} · ${report.seconds.toFixed(0)} s in all`,
    '',
    'Every client reads the same injected `Response` (no network), so the times are the client\'s own work; its body arrives as over HTTP, in chunks of 64 kB, each a new buffer. ' +
      'Medians of interleaved runs; ratios are to the naive client in the same table. The targets are judged on wall-clock time; ' +
      'the CPU time (the process\'s, GC threads included) is shown beside it because it is steadier on a shared machine. ' +
      'GC pauses are the garbage-collection pauses inside the timed part (V8\'s incremental marking steps run inside JavaScript and are not counted).',
  ]
  for (const table of report.tables) lines.push('', ...formatTable(table))
  lines.push('', ...formatMemory(report.memory))
  lines.push('', ...formatScaling(report.tables))
  lines.push('', ...formatChecks(report.checks))
  return lines.join('\n')
}

function formatTable(table: TableResult): string[] {
  const baseline = table.rows.find((r) => r.key === BASELINE_KEY)
  const lines = [
    `### ${table.count.toLocaleString('en-US')} events (${(table.bodyBytes / 1e6).toFixed(1)} MB body), median of ${table.runs} runs`,
    '',
    ...(table.allPeers ? [] : ['The official client, TanStack and the BehaviorSubject are left out at this size (`--quick`).', '']),
    '| | median | × baseline | CPU time | CPU × baseline | GC pauses | target (on × baseline) |',
    '|---|---:|---:|---:|---:|---:|---|',
  ]
  for (const row of table.rows) {
    const ratio = row.median / (baseline?.median ?? Number.NaN)
    const cpuRatio = row.cpuMedian / (baseline?.cpuMedian ?? Number.NaN)
    const target = RATIO_TARGETS[row.key]
    const verdict = target === undefined ? '' : `≤ ${target} ${ratio <= target ? 'PASS' : 'MISS'}`
    // create() is reported in microseconds, as asked of it (it runs synchronously, inside one task).
    const time = row.key === 'store-create' ? formatUs : formatMs
    lines.push(`| ${row.label} | ${time(row.median)} | ${formatRatio(ratio)} | ${time(row.cpuMedian)} | ${formatRatio(cpuRatio)} | ${formatMs(row.gcMedian)} | ${verdict} |`)
  }
  if (table.facts.length) lines.push('', ...table.facts.map((fact) => `- ${fact}`))
  return lines
}

function formatMemory(memory: MemoryResult): string[] {
  const parsed = memory.parsed.total
  const rows: Array<[string, MemoryResult['parsed'], string]> = [
    ['`JSON.parse` result kept alive (the reference)', memory.parsed, ''],
    ['this store, synced (cache outside the heap, as IndexedDB)', memory.store, `≤ ${MEMORY_TARGET} ${memory.store.total / parsed <= MEMORY_TARGET ? 'PASS' : 'MISS'}`],
    ['this store with `memoryStorage()` (the cache in the heap too)', memory.storeWithMemoryCache, ''],
  ]
  return [
    `### Memory retained after GC, ${memory.count.toLocaleString('en-US')} events`,
    '',
    '| | heap | external | total | × parsed | target |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map(([label, r, verdict]) => `| ${label} | ${formatMb(r.heap)} | ${formatMb(r.external)} | ${formatMb(r.total)} | ${formatRatio(r.total / parsed)} | ${verdict} |`),
  ]
}

function formatScaling(tables: readonly TableResult[]): string[] {
  const from = tables.find((t) => t.count === SCALING_FROM)
  const to = tables.find((t) => t.count === SCALING_TO)
  const title = `### Scaling: ${SCALING_TO.toLocaleString('en-US')} / ${SCALING_FROM.toLocaleString('en-US')} events (the body is 5× larger)`
  if (!from || !to) return [title, '', `Not measured: this run had no ${SCALING_FROM} and ${SCALING_TO} tables.`]
  const lines = [title, '', '| | 10k | 50k | 50k / 10k | CPU 50k / 10k | target (on 50k / 10k) |', '|---|---:|---:|---:|---:|---|']
  for (const key of [...SCALED_KEYS, ...REFERENCE_KEYS]) {
    const a = from.rows.find((r) => r.key === key)
    const b = to.rows.find((r) => r.key === key)
    if (!a || !b) continue
    const ratio = b.median / a.median
    const verdict = SCALED_KEYS.includes(key) ? `≤ ${SCALING_TARGET} ${ratio <= SCALING_TARGET ? 'PASS' : 'MISS'}` : '(reference)'
    lines.push(`| ${a.label} | ${formatMs(a.median)} | ${formatMs(b.median)} | ${ratio.toFixed(2)} | ${(b.cpuMedian / a.cpuMedian).toFixed(2)} | ${verdict} |`)
  }
  return lines
}

function formatChecks(checks: BenchReport['checks']): string[] {
  if (checks.failures.length === 0) return [`Correctness: all ${checks.count} checks passed (zero emissions and writes on unchanged polls, exact deltas, identity kept).`]
  return [`Correctness: ${checks.failures.length} of ${checks.count} checks FAILED:`, '', ...checks.failures.map((f) => `- ${f}`)]
}

/** Milliseconds, or microseconds below one millisecond. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a'
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  return ms < 100 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`
}

function formatUs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms * 1000).toLocaleString('en-US')} µs` : 'n/a'
}

function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a'
  return ratio < 0.1 ? ratio.toFixed(3) : ratio.toFixed(2)
}

function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}
