import { WorkstreamSyncError } from '../../src/errors'
import { ENDED_UNHEARD } from '../../src/mutation'
import type { WorkstreamEvent } from '../../src/models'
import type { WorkstreamStore } from '../../src/workstreamStore'
import type { CreateTrack, DeleteTrack, FindingKind } from './tracks'
import { describeRejection, eventDifferences, sameEvents } from './worldTools'

/** A store the audit looks at, named for its findings ('' in a world of one store). */
export interface AuditedStore {
  readonly name: string
  readonly store: WorkstreamStore
}

/** What the audit reads from a world: the server, the record of the app's mutations, its open stores. */
export interface AuditedWorld {
  readonly server: { events(): WorkstreamEvent[] }
  readonly options: { readonly honourInternalIdentifier: boolean }
  readonly creates: readonly CreateTrack[]
  readonly deletes: readonly DeleteTrack[]
  readonly appDeleted: ReadonlySet<string>
  readonly otherDeleted: readonly string[]
  readonly violations: readonly string[]
  readonly findings: Readonly<Record<FindingKind, number>>
  /** The stores open now: each one's view must equal the server, each one's outbox must be empty. */
  openStores(): readonly AuditedStore[]
  /** Whether the store that the promises of `generation` belong to was disposed. */
  disposed(generation: number): boolean
  /** Whether the tab of that store was killed (a world of tabs). Default: never. */
  killed?(generation: number): boolean
}

/** What the audit found once the faults stopped and the store converged. Every count must be 0. */
export interface Audit {
  /** Server events beyond the first of each app create, and events shown twice. */
  duplicates: number
  /** App creates missing from the server that nobody deleted, and app deletes whose event is still there. */
  lost: number
  /** Deleted events that are back: on the server, or in the view. */
  resurrected: number
  /** Caller promises that ended the wrong way, or never. */
  wrongOutcomes: number
  /** Mutations left in the outbox, and a view that differs from the server. */
  stuck: number
  finalEvents: number
  /** Every finding, in words (violations seen during the run first). */
  violations: string[]
}

/** Checks the world against the rules of DESIGN §3. Call it after `converge()`. */
export function auditWorld(world: AuditedWorld): Audit {
  const audit: Audit = { duplicates: 0, lost: 0, resurrected: 0, wrongOutcomes: 0, stuck: 0, finalEvents: 0, violations: [] }
  const found = (kind: Exclude<keyof Audit, 'violations' | 'finalEvents'>, message: string): void => {
    audit[kind]++
    if (audit.violations.length < 50) audit.violations.push(message)
  }
  for (const kind of ['lost', 'resurrected', 'stuck', 'wrongOutcomes'] as const) audit[kind] += world.findings[kind]
  audit.violations.push(...world.violations.map((message) => `during the run: ${message}`))

  const server = world.server.events()
  const stores = world.openStores()
  audit.finalEvents = server.length
  const onServer = countBy(server.map((e) => e.readable ?? ''))
  const shown = stores.map(({ name, store }) => ({ where: name ? ` in ${name}` : '', inView: countBy(store.events.map((e) => e.readable ?? '')) }))
  const serverIds = new Set(server.map((e) => e.id))
  // A delete is done once its promise resolves (a cancel's, once its write landed): one whose tab
  // was killed before that may not have happened, and the event may stay or come back.
  const undecided = (deletes: readonly DeleteTrack[]): boolean => deletes.length > 0 && deletes.every((d) => d.outcome !== 'resolved' && world.killed?.(d.generation) === true)

  for (const track of world.creates) {
    const count = onServer.get(track.marker) ?? 0
    if (count > 1) found('duplicates', `${track.marker} is on the server ${count} times`)
    for (const { where, inView } of shown) {
      const times = inView.get(track.marker) ?? 0
      if (times > 1) found('duplicates', `${track.marker} is in the view${where} ${times} times`)
    }
    const deleted = track.deletedByApp && !undecided(world.deletes.filter((d) => d.create === track))
    if (deleted && count > 0) found('lost', `${track.marker} was deleted by the app but is still on the server`)
    else if (track.deletedByOther && count > 0) found('resurrected', `${track.marker} was deleted by the other client and is back on the server`)
    else if (!track.deletedByApp && !track.deletedByOther && count === 0) found('lost', `${track.marker} never reached the server`)
    checkCreateOutcome(world, track, server, found)
  }
  for (const id of world.appDeleted) {
    if (serverIds.has(id) && !undecided(world.deletes.filter((d) => d.id === id))) found('lost', `${id} was deleted by the app but is still on the server`)
  }
  for (const id of world.otherDeleted) {
    if (serverIds.has(id)) found('resurrected', `${id} was deleted by the other client and is back on the server`)
    for (const { name, store } of stores) if (store.get(id)) found('resurrected', `${id} was deleted by the other client and is back in the view${name ? ` in ${name}` : ''}`)
  }
  for (const track of world.deletes) checkDeleteOutcome(world, track, found)

  for (const { name, store } of stores) for (const problem of storeProblems(name, store, server, false)) found('stuck', problem)
  return audit
}

/**
 * What keeps a converged store from being done: mutations left in its outbox (dead letters
 * aside when `deadAllowed`), and a view that differs from the server's events.
 */
export function storeProblems(name: string, store: WorkstreamStore, server: readonly WorkstreamEvent[], deadAllowed: boolean): string[] {
  const where = name ? `${name}: ` : ''
  const problems: string[] = []
  for (const entry of store.outbox) {
    if (deadAllowed && entry.state === 'dead') continue
    problems.push(`${where}the outbox still holds a ${entry.kind} of ${entry.eventId} (${entry.state}, ${entry.attempts} attempts${entry.lastError ? `, ${entry.lastError.message}` : ''})`)
  }
  const view = store.events
  if (!sameEvents(view, server)) {
    const extra = eventDifferences(view, server)
    const missing = eventDifferences(server, view)
    problems.push(`${where}the view differs from the server: ${extra.length} events differ or are extra (${extra.slice(0, 3).join(', ')}), ${missing.length} differ or are missing (${missing.slice(0, 3).join(', ')})`)
  }
  return problems
}

type Found = (kind: 'duplicates' | 'lost' | 'resurrected' | 'wrongOutcomes' | 'stuck', message: string) => void

/**
 * A create's promise resolves with the server's event, or rejects with kind `aborted`: because
 * its store was disposed while it waited (the mutation itself goes on in the next store), or
 * because the app deleted the event before the create reached the server.
 */
function checkCreateOutcome(world: AuditedWorld, track: CreateTrack, server: readonly WorkstreamEvent[], found: Found): void {
  const { outcome } = track
  if (!outcome) {
    found(world.disposed(track.generation) ? 'wrongOutcomes' : 'stuck', `the promise of ${track.marker} never settled`)
    return
  }
  if ('resolved' in outcome) {
    const event = outcome.resolved
    if (event.readable !== track.marker) found('wrongOutcomes', `${track.marker} resolved with another event (${event.id}, ${event.readable})`)
    if (world.options.honourInternalIdentifier && event.id !== track.clientId) found('wrongOutcomes', `${track.marker} resolved with id ${event.id}, not its client id ${track.clientId}`)
    const now = server.find((e) => e.readable === track.marker)
    if (now && now.id !== event.id) found('wrongOutcomes', `${track.marker} resolved with id ${event.id} but the server holds it as ${now.id}`)
    return
  }
  const error = outcome.rejected
  const disposed = error instanceof WorkstreamSyncError && error.kind === 'aborted' && /disposed/.test(error.message)
  // A tab that took over from a leader tab which ended the create and closed before saying how
  // cannot tell a cancel from a refusal (ENDED_UNHEARD): right when the app did delete it.
  const cancelled = error instanceof WorkstreamSyncError && error.kind === 'aborted' && (/cancelled by a delete/.test(error.message) || error.message === ENDED_UNHEARD.message)
  if (disposed && world.disposed(track.generation)) return
  if (cancelled && track.deletedByApp) return
  found('wrongOutcomes', `${track.marker} rejected with ${describeRejection(error)}`)
}

/** A delete's promise resolves, or rejects with kind `aborted` because its store was disposed. */
function checkDeleteOutcome(world: AuditedWorld, track: DeleteTrack, found: Found): void {
  const { outcome } = track
  if (!outcome) {
    found(world.disposed(track.generation) ? 'wrongOutcomes' : 'stuck', `the promise of delete(${track.id}) never settled`)
    return
  }
  if (outcome === 'resolved') return
  const error = outcome.rejected
  if (error instanceof WorkstreamSyncError && error.kind === 'aborted' && /disposed/.test(error.message) && world.disposed(track.generation)) return
  found('wrongOutcomes', `delete(${track.id}) rejected with ${describeRejection(error)}`)
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return counts
}
