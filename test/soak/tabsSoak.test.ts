import { describe, expect, it } from 'vitest'
import { formatSummary, violationCount } from './runSoak'
import { runTabsSoak } from './runTabsSoak'

describe('tabs soak (short; `npm run soak -- --tabs 3 --ops 3000 --seed 1` for a long one)', () => {
  it('loses, duplicates and resurrects nothing over 300 random operations in 3 tabs with takeovers, crashes and faults', async () => {
    const summary = await runTabsSoak({ tabs: 3, ops: 300, seed: 11, checkpointEvery: 100 })
    const report = formatSummary(summary)
    expect(violationCount(summary), report).toBe(0)
    expect(summary.operations).toBeGreaterThanOrEqual(300)
    expect(summary.tabs!.takeovers, report).toBeGreaterThan(0)
    expect(summary.tabs!.leaderCloses + summary.tabs!.leaderCrashes, report).toBeGreaterThan(0)
    expect(Object.values(summary.faults).every((n) => n > 0), report).toBe(true)
  }, 60_000)
})
