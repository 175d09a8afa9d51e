import { seededRandom } from '../../src/server/index'
import type { Audit } from '../model/audit'
import { SyncWorld } from '../model/syncWorld'
import type { TabStats } from '../model/tabsWorld'
import type { WorldBase } from '../model/worldBase'
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
  /** A soak of several tabs: how many at most, and what happened to them. */
  tabs?: TabStats & { count: number }
  creates: number
  deletes: number
  durationMs: number
  violations: string[]
}

export type Step<W> = (world: W, random: () => number) => void | Promise<void>
export type Steps<W> = ReadonlyArray<readonly [number, Step<W>]>

/** A number to choose among candidates with (an event, a tab). */
export const pick = (random: () => number): number => Math.floor(random() * 1000)

/** A route and a fault on it, drawn. */
export function drawFault(world: WorldBase, random: () => number): void {
  world.fault(ROUTES[Math.floor(random() * ROUTES.length)]!, FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)]!)
}

/** What happens around the app in every soak: the other client's changes and the server's faults. */
export const WORLD_STEPS: Steps<WorldBase> = [
  [5, (w) => w.otherCreate()],
  [4, (w, r) => w.otherDelete(pick(r))],
  [4, (w, r) => w.otherUpdate(pick(r))],
  [14, drawFault],
]

/** Weighted operations: app mutations, faults and pauses (which let the network interleave) most. */
const STEPS: Steps<SyncWorld> = [
  [14, (w, r) => w.create(r() < 0.2)],
  [8, (w, r) => w.deleteOwn(pick(r))],
  [4, (w, r) => w.deleteListed(pick(r))],
  [2, (w, r) => w.deleteGone(pick(r))],
  [2, (w, r) => w.deleteAgain(pick(r))],
  [8, (w) => w.refresh()],
  [5, (w) => w.flush()],
  ...WORLD_STEPS,
  [2, (w) => w.setOnline(false)],
  [3, (w) => w.setOnline(true)],
  [3, (w) => w.reload()],
  [15, (w, r) => w.pause(1 + Math.floor(r() * 20))],
]
/** One step of `steps`, drawn by weight. */
function drawStep<W>(steps: Steps<W>, random: () => number): Step<W> {
  const total = steps.reduce((sum, [weight]) => sum + weight, 0)
  let ticket = random() * total
  for (const [weight, step] of steps) {
    if ((ticket -= weight) < 0) return step
  }
  return steps[0]![1]
}

/** What the soak loop drives: a world of one store or of several tabs. */
export interface SoakWorld extends WorldBase {
  checkAlways(): void
  converge(): Promise<void>
  /** What to check once converged, between the operations. */
  checkpoint?(): void
  audit(): Audit
  close(): Promise<void>
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const world = await SyncWorld.start({ honourInternalIdentifier: options.honourInternalIdentifier ?? true, unknownDeleteStatus: options.unknownDeleteStatus ?? 500, pollIntervalMs: options.pollIntervalMs ?? 0 })
  return soakWorld(world, STEPS, options)
}

/**
 * Runs drawn steps on `world` until `options.ops` operations, converging (and checking) every
 * `checkpointEvery`, then converges once more, audits and closes the world.
 */
export async function soakWorld<W extends SoakWorld>(world: W, steps: Steps<W>, options: SoakOptions, tabs?: () => TabStats & { count: number }): Promise<SoakSummary> {
  const started = Date.now()
  const random = seededRandom(options.seed)
  const checkpointEvery = options.checkpointEvery ?? 250
  let checkpoints = 0
  try {
    let nextCheckpoint = checkpointEvery
    // Some draws find nothing to act on (no event to delete yet); the loop is bounded all the same.
    for (let draws = 0; world.stats.operations < options.ops && draws < options.ops * 4; draws++) {
      await drawStep(steps, random)(world, random)
      world.checkAlways()
      if (world.stats.operations >= nextCheckpoint) {
        nextCheckpoint += checkpointEvery
        checkpoints++
        await world.converge()
        world.checkpoint?.()
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
      ...(tabs ? { tabs: tabs() } : {}),
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
    `${summary.tabs ? `tabs soak (${summary.tabs.count} tabs, ` : 'soak ('}seed ${summary.seed}): ${summary.operations} operations in ${(summary.durationMs / 1000).toFixed(1)} s`,
    `  server and store:       ${summary.settings}`,
    `  app creates / deletes:  ${summary.creates} / ${summary.deletes}`,
    `  faults injected:        ${total} (${faults})`,
    `  reloads:                ${summary.reloads}`,
    ...(summary.tabs ? [`  tabs:                   ${summary.tabs.opened} opened, leader closed ${summary.tabs.leaderCloses} / crashed ${summary.tabs.leaderCrashes}, followers closed ${summary.tabs.followerCloses}, takeovers ${summary.tabs.takeovers}`] : []),
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
