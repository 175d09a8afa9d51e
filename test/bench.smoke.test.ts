import { describe, expect, it } from 'vitest'
import { runBench } from '../bench/bench'
import { buildFixture, serializeSnapshot } from '../bench/fixture'
import { resolveGc } from '../bench/harness'
import { formatReport } from '../bench/report'
import { createEventRepository } from '../src/server/eventRepository'
import { generateSampleEvents } from '../src/server/index'

describe('the benchmark fixture', () => {
  it('serialises a snapshot byte for byte as the embedded server does', () => {
    const events = generateSampleEvents({ count: 40, seed: 3 })
    const ours = serializeSnapshot(events.map((e) => e.id), events.map((e) => Buffer.from(JSON.stringify(e))))
    expect(Buffer.compare(ours, createEventRepository(events).snapshotBody(true))).toBe(0)
  })

  it('changes 2% of the events: 1% updated, 0.5% added at the front, 0.5% removed', () => {
    const fixture = buildFixture(400)
    const { delta } = fixture
    expect([delta.updated.size, delta.added.size, delta.removed.size]).toEqual([4, 2, 2])
    const before = JSON.parse(new TextDecoder().decode(fixture.bodyA)) as { iterable: Array<{ id: string }> }
    const after = JSON.parse(new TextDecoder().decode(fixture.bodyB)) as { iterable: Array<{ id: string }> }
    expect(before.iterable.map((e) => e.id)).toEqual(fixture.idsA)
    expect(after.iterable.map((e) => e.id)).toEqual(fixture.idsB)
    expect(fixture.idsB.slice(0, 2).every((id) => delta.added.has(id))).toBe(true)
    expect(fixture.idsB.some((id) => delta.removed.has(id))).toBe(false)
    const text = new TextDecoder().decode(fixture.bodyB)
    const byId = new Map(before.iterable.map((e) => [e.id, JSON.stringify(e)]))
    for (const id of fixture.idsA) {
      if (delta.removed.has(id)) continue
      // Unchanged events keep their exact bytes; updated ones do not.
      expect(text.includes(byId.get(id)!)).toBe(!delta.updated.has(id))
    }
  })
})

describe('the benchmark', () => {
  it('measures every row on a small snapshot and passes its correctness checks', async () => {
    const report = await runBench({ sizes: [100], runs: () => 1, memoryCount: 100, allPeersUpTo: 100, gc: resolveGc() })
    expect(report.checks.failures).toEqual([])
    const [table] = report.tables
    expect(table?.rows.map((r) => r.key)).toEqual([
      'naive', 'reader', 'parse', 'official', 'tanstack', 'tanstack-2pct', 'subject',
      'store-unchanged', 'store-2pct', 'store-cold', 'store-reload-poll', 'store-create',
    ])
    for (const row of table?.rows ?? []) expect(Number.isFinite(row.median), row.key).toBe(true)
    expect(report.memory.store.total).toBeGreaterThan(0)
    expect(formatReport(report)).toContain('| this store `refresh()`, unchanged poll |')
  })
})
