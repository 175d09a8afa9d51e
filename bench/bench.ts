import { cpus, loadavg } from 'node:os'
import { buildFixture } from './fixture'
import { createChecks, measureInterleaved, median } from './harness'
import { createInjectedFetch } from './injectedFetch'
import { measureMemory } from './memory'
import { peerRows } from './peerRows'
import type { BenchReport, TableResult } from './report'
import { storeRows } from './storeRows'

export interface BenchOptions {
  /** Snapshot sizes, one table each. */
  sizes: readonly number[]
  /** Runs per table (at least 5 for medians worth reading). */
  runs: (count: number) => number
  /** The size the memory is measured at. */
  memoryCount: number
  /** Above this size a table has only the reference peers (baseline, reader floor, JSON.parse) and this store. */
  allPeersUpTo: number
  gc: () => void
  /** Progress lines (the report itself is returned, not printed). */
  progress?: (message: string) => void
}

/** Measures the memory, then every table; never throws on a missed target, only on a broken bench. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const began = performance.now()
  const elapsed = (): string => `${((performance.now() - began) / 1000).toFixed(0)} s`
  const machine = {
    date: new Date().toISOString(),
    node: process.versions.node,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    loadAverage: loadavg(),
  }
  const checks = createChecks()
  const progress = options.progress
  const say = (message: string): void => progress?.(`${elapsed()}, ${(process.memoryUsage().rss / 1e9).toFixed(1)} GB: ${message}`)

  // First, while the heap holds nothing else.
  say(`memory: ${options.memoryCount} events`)
  const memory = await measureMemory(buildFixture(options.memoryCount).bodyA, options.memoryCount, options.gc)

  const tables: TableResult[] = []
  for (const count of options.sizes) {
    say(`${count} events: generating the snapshots`)
    const fixture = buildFixture(count)
    const injected = createInjectedFetch(fixture.bodyA)
    const allPeers = count <= options.allPeersUpTo
    const peers = peerRows({ fixture, injected, checks, allPeers })
    say(`${count} events: syncing the store and filling the IndexedDB cache`)
    const store = await storeRows({ fixture, injected, checks })
    const rows = [...peers.rows, ...store.rows]
    const runs = options.runs(count)
    const samples = await measureInterleaved(rows, { runs, gc: options.gc, progress: (m) => say(`${count} events: ${m}`) })
    const facts = [...store.facts(), ...peers.facts()]
    await store.dispose()
    await peers.dispose()
    tables.push({
      count,
      allPeers,
      facts,
      bodyBytes: fixture.bodyA.byteLength,
      runs,
      rows: rows.map((row) => {
        const values = samples.get(row.key) ?? []
        return { key: row.key, label: row.label, median: median(values.map((v) => v.wall)), cpuMedian: median(values.map((v) => v.cpu)), gcMedian: median(values.map((v) => v.gc ?? Number.NaN)), samples: values }
      }),
    })
  }
  return { machine, tables, memory, checks: { count: checks.count, failures: checks.failures }, seconds: (performance.now() - began) / 1000 }
}
