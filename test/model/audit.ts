import { WorkstreamSyncError } from '../../src/errors'
import type { SyncWorld } from './syncWorld'
import type { CreateTrack, DeleteTrack } from './tracks'
import { describeRejection, eventDifferences } from './worldTools'

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
export function auditWorld(world: SyncWorld): Audit {
  const audit: Audit = { duplicates: 0, lost: 0, resurrected: 0, wrongOutcomes: 0, stuck: 0, finalEvents: 0, violations: [] }
  const found = (kind: Exclude<keyof Audit, 'violations' | 'finalEvents'>, message: string): void => {
    audit[kind]++
    if (audit.violations.length < 50) audit.violations.push(message)
  }
  for (const kind of ['lost', 'resurrected', 'stuck', 'wrongOutcomes'] as const) audit[kind] += world.findings[kind]
  audit.violations.push(...world.violations.map((message) => `during the run: ${message}`))

  const server = world.server.events()
  const view = world.store.events
  audit.finalEvents = server.length
  const onServer = countBy(server.map((e) => e.readable ?? ''))
  const inView = countBy(view.map((e) => e.readable ?? ''))
  const serverIds = new Set(server.map((e) => e.id))

  for (const track of world.creates) {
    const count = onServer.get(track.marker) ?? 0
    const shown = inView.get(track.marker) ?? 0
    if (count > 1) found('duplicates', `${track.marker} is on the server ${count} times`)
    if (shown > 1) found('duplicates', `${track.marker} is in the view ${shown} times`)
    if (track.deletedByApp && count > 0) found('lost', `${track.marker} was deleted by the app but is still on the server`)
    else if (track.deletedByOther && count > 0) found('resurrected', `${track.marker} was deleted by the other client and is back on the server`)
    else if (!track.deletedByApp && !track.deletedByOther && count === 0) found('lost', `${track.marker} never reached the server`)
    checkCreateOutcome(world, track, server, found)
  }
  for (const id of world.appDeleted) {
    if (serverIds.has(id)) found('lost', `${id} was deleted by the app but is still on the server`)
  }
  for (const id of world.otherDeleted) {
    if (serverIds.has(id)) found('resurrected', `${id} was deleted by the other client and is back on the server`)
    if (world.store.get(id)) found('resurrected', `${id} was deleted by the other client and is back in the view`)
  }
  for (const track of world.deletes) checkDeleteOutcome(world, track, found)

  for (const entry of world.store.outbox) found('stuck', `the outbox still holds a ${entry.kind} of ${entry.eventId} (${entry.state}, ${entry.attempts} attempts${entry.lastError ? `, ${entry.lastError.message}` : ''})`)
  if (!world.viewMatchesServer()) {
    const extra = eventDifferences(view, server)
    const missing = eventDifferences(server, view)
    found('stuck', `the view differs from the server: ${extra.length} events differ or are extra (${extra.slice(0, 3).join(', ')}), ${missing.length} differ or are missing (${missing.slice(0, 3).join(', ')})`)
  }
  return audit
}

type Found = (kind: 'duplicates' | 'lost' | 'resurrected' | 'wrongOutcomes' | 'stuck', message: string) => void

/**
 * A create's promise resolves with the server's event, or rejects with kind `aborted`: because
 * its store was disposed while it waited (the mutation itself goes on in the next store), or
 * because the app deleted the event before the create reached the server.
 */
function checkCreateOutcome(world: SyncWorld, track: CreateTrack, server: ReturnType<SyncWorld['server']['events']>, found: Found): void {
  const { outcome } = track
  if (!outcome) {
    found(track.generation < world.generation ? 'wrongOutcomes' : 'stuck', `the promise of ${track.marker} never settled`)
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
  const cancelled = error instanceof WorkstreamSyncError && error.kind === 'aborted' && /cancelled by a delete/.test(error.message)
  if (disposed && track.generation < world.generation) return
  if (cancelled && track.deletedByApp) return
  found('wrongOutcomes', `${track.marker} rejected with ${describeRejection(error)}`)
}

/** A delete's promise resolves, or rejects with kind `aborted` because its store was disposed. */
function checkDeleteOutcome(world: SyncWorld, track: DeleteTrack, found: Found): void {
  const { outcome } = track
  if (!outcome) {
    found(track.generation < world.generation ? 'wrongOutcomes' : 'stuck', `the promise of delete(${track.id}) never settled`)
    return
  }
  if (outcome === 'resolved') return
  const error = outcome.rejected
  if (error instanceof WorkstreamSyncError && error.kind === 'aborted' && /disposed/.test(error.message) && track.generation < world.generation) return
  found('wrongOutcomes', `delete(${track.id}) rejected with ${describeRejection(error)}`)
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return counts
}
