import fc from 'fast-check'
import { describe, it } from 'vitest'
import { worldCommands } from './commands'
import { SyncWorld } from './syncWorld'

/*
 * Model-based: random interleavings of app creates and deletes, refreshes, flushes, changes by
 * another client, injected faults, offline spells and reloads, against the embedded server over
 * loopback. After the faults stop and the store converges, the audit must find nothing.
 *
 * A failure prints fast-check's seed and path. Reproduce it with
 *   MODEL_SEED=<seed> MODEL_PATH=<path> npx vitest run test/model
 * and widen a search with MODEL_RUNS=<n> (and another MODEL_SEED).
 */
const SEED = Number(process.env.MODEL_SEED ?? 20_261_128)
const RUNS = Number(process.env.MODEL_RUNS ?? 60)
const PATH = process.env.MODEL_PATH
const COMMANDS = Number(process.env.MODEL_COMMANDS ?? 40)

async function runProperty(honourInternalIdentifier: boolean): Promise<void> {
  const settings = fc.record({ unknownDeleteStatus: fc.constantFrom<404 | 500>(404, 500), pollIntervalMs: fc.constantFrom(0, 0, 10) })
  const property = fc.asyncProperty(settings, fc.commands(worldCommands(), { maxCommands: COMMANDS, size: 'medium' }), async (options, commands) => {
    const world = await SyncWorld.start({ honourInternalIdentifier, ...options })
    try {
      await fc.asyncModelRun(() => ({ model: {}, real: world }), commands)
      await world.converge()
      const audit = world.audit()
      if (audit.violations.length) throw new Error(`the audit found:\n  ${audit.violations.join('\n  ')}`)
    } finally {
      await world.close()
    }
  })
  await fc.assert(property, { seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH, endOnFailure: true } : {}) })
}

describe('model: the store converges on the server under faults, races and reloads', () => {
  it('loses, duplicates and resurrects nothing on a server that takes the client id', async () => {
    await runProperty(true)
  }, 120_000)

  it('loses, duplicates and resurrects nothing on a server that ignores the client id (fingerprints)', async () => {
    await runProperty(false)
  }, 120_000)
})
