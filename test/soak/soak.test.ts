import { describe, expect, it } from 'vitest'
import { formatSummary, runSoak, violationCount } from './runSoak'

describe('soak (short; `npm run soak -- --ops 5000 --seed 1` for a long one)', () => {
  it('loses, duplicates and resurrects nothing over 300 random operations with faults and reloads', async () => {
    const summary = await runSoak({ ops: 300, seed: 7, checkpointEvery: 100 })
    const report = formatSummary(summary)
    expect(violationCount(summary), report).toBe(0)
    expect(summary.operations).toBeGreaterThanOrEqual(300)
    expect(summary.reloads, report).toBeGreaterThan(0)
    expect(Object.values(summary.faults).every((n) => n > 0), report).toBe(true)
  }, 60_000)

  it('holds as well on a server that ignores the client id, with 404 for unknown deletes, while polling', async () => {
    const summary = await runSoak({ ops: 300, seed: 8, checkpointEvery: 100, honourInternalIdentifier: false, unknownDeleteStatus: 404, pollIntervalMs: 10 })
    expect(violationCount(summary), formatSummary(summary)).toBe(0)
  }, 60_000)
})
