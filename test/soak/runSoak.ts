import { seededRandom } from '../../src/server/index'
import { SyncWorld } from '../model/syncWorld'
import { FAULT_KINDS, ROUTES, type FaultKind } from '../model/worldFaults'

/*
 * The soak: thousands of random operations of the app, the network and another client against
 * the embedded server over loopback, with faults and reloads, converging now and then, then
 * audited. The operations are drawn from a seeded generator; the network's timing is real.
 */

export interface SoakOptions {
  /** Operations to run (app mutations, refreshes, faults, reloads, changes by the other client...). */
  ops: number
  seed: number
  /** Default true, as Pieces OS does; false exercises the fingerprint path. */
  honourInternalIdentifier?: boolean
  /** Default 500, as Pieces OS may answer for an unknown id. */
  unknownDeleteStatus?: 404 | 500
  /** Automatic polls, racing with everything else. Default 0: refresh() and the outbox's own snapshots only. */
  pollIntervalMs?: number
  /** Stop the faults and converge every this many operations. Default 250. */
  checkpointEvery?: number
  /** Progress lines. Default: none. */
  log?: (line: string) => void
}

export interface SoakSummary {
  operations: number
  seed: number
  /** The server's behaviour and the polling, in words. */
  settings: string
  faults: Record<FaultKind, number>
  reloads: number
  checkpoints: number
  finalEvents: number
  duplicates: number
  lostMutations: number
  resurrected: number
  wrongOutcomes: number
  stuck: number
  peakOutbox: number
  creates: number
  deletes: number
  durationMs: number
  violations: string[]
}

type Step = (world: SyncWorld, random: () => number) => void | Promise<void>

const pick = (random: () => number): number => Math.floor(random() * 1000)

/** Weighted operations: app mutations, faults and pauses (which let the network interleave) most. */
const STEPS: ReadonlyArray<readonly [number, Step]> = [
  [14, (w, r) => w.create(r() < 0.2)],
  [8, (w, r) => w.deleteOwn(pick(r))],
  [4, (w, r) => w.deleteListed(pick(r))],
  [2, (w, r) => w.deleteGone(pick(r))],
  [2, (w, r) => w.deleteAgain(pick(r))],
  [8, (w) => w.refresh()],
  [5, (w) => w.flush()],
  [5, (w) => w.otherCreate()],
  [4, (w, r) => w.otherDelete(pick(r))],
  [4, (w, r) => w.otherUpdate(pick(r))],
  [14, (w, r) => w.fault(ROUTES[Math.floor(r() * ROUTES.length)]!, FAULT_KINDS[Math.floor(r() * FAULT_KINDS.length)]!)],
  [2, (w) => w.setOnline(false)],
  [3, (w) => w.setOnline(true)],
  [3, (w) => w.reload()],
  [15, (w, r) => w.pause(1 + Math.floor(r() * 20))],
]
const TOTAL_WEIGHT = STEPS.reduce((sum, [weight]) => sum + weight, 0)

function drawStep(random: () => number): Step {
  let ticket = random() * TOTAL_WEIGHT
  for (const [weight, step] of STEPS) {
    if ((ticket -= weight) < 0) return step
  }
  return STEPS[0]![1]
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const started = Date.now()
  const random = seededRandom(options.seed)
  const checkpointEvery = options.checkpointEvery ?? 250
  const world = await SyncWorld.start({ honourInternalIdentifier: options.honourInternalIdentifier ?? true, unknownDeleteStatus: options.unknownDeleteStatus ?? 500, pollIntervalMs: options.pollIntervalMs ?? 0 })
  let checkpoints = 0
  try {
    let nextCheckpoint = checkpointEvery
    // Some draws find nothing to act on (no event to delete yet); the loop is bounded all the same.
    for (let draws = 0; world.stats.operations < options.ops && draws < options.ops * 4; draws++) {
      await drawStep(random)(world, random)
      world.checkAlways()
      if (world.stats.operations >= nextCheckpoint) {
        nextCheckpoint += checkpointEvery
        checkpoints++
        await world.converge()
        options.log?.(`soak: ${world.stats.operations} operations, ${world.server.events().length} events, ${world.violations.length} findings so far`)
      }
    }
    await world.converge()
    checkpoints++
    const audit = world.audit()
    const { honourInternalIdentifier, unknownDeleteStatus, pollIntervalMs } = world.options
    return {
      operations: world.stats.operations,
      seed: options.seed,
      settings: `${honourInternalIdentifier ? 'client ids honoured' : 'client ids ignored (fingerprints)'}, unknown deletes answered ${unknownDeleteStatus}, ${pollIntervalMs > 0 ? `polling every ${pollIntervalMs} ms` : 'no polling'}`,
      faults: { ...world.stats.faults },
      reloads: world.stats.reloads,
      checkpoints,
      finalEvents: audit.finalEvents,
      duplicates: audit.duplicates,
      lostMutations: audit.lost,
      resurrected: audit.resurrected,
      wrongOutcomes: audit.wrongOutcomes,
      stuck: audit.stuck,
      peakOutbox: world.stats.peakOutbox,
      creates: world.creates.length,
      deletes: world.deletes.length,
      durationMs: Date.now() - started,
      violations: audit.violations,
    }
  } finally {
    await world.close()
  }
}

/** The number of broken promises: every one of these must be 0. */
export function violationCount(summary: SoakSummary): number {
  return summary.duplicates + summary.lostMutations + summary.resurrected + summary.wrongOutcomes + summary.stuck
}

export function formatSummary(summary: SoakSummary): string {
  const faults = FAULT_KINDS.map((kind) => `${kind} ${summary.faults[kind]}`).join(', ')
  const total = FAULT_KINDS.reduce((sum, kind) => sum + summary.faults[kind], 0)
  const lines = [
    `soak (seed ${summary.seed}): ${summary.operations} operations in ${(summary.durationMs / 1000).toFixed(1)} s`,
    `  server and store:       ${summary.settings}`,
    `  app creates / deletes:  ${summary.creates} / ${summary.deletes}`,
    `  faults injected:        ${total} (${faults})`,
    `  reloads:                ${summary.reloads}`,
    `  convergence checks:     ${summary.checkpoints}`,
    `  final event count:      ${summary.finalEvents}`,
    `  peak outbox length:     ${summary.peakOutbox}`,
    `  duplicates:             ${summary.duplicates}`,
    `  lost mutations:         ${summary.lostMutations}`,
    `  resurrected events:     ${summary.resurrected}`,
    `  wrong promise outcomes: ${summary.wrongOutcomes}`,
    `  stuck (outbox left, view differs from server): ${summary.stuck}`,
    `  result: ${violationCount(summary) === 0 ? 'PASS' : 'FAIL'}`,
  ]
  if (summary.violations.length) lines.push('  findings:', ...summary.violations.map((v) => `    - ${v}`))
  return lines.join('\n')
}
