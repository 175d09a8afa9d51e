import { findByFingerprint, otherCreatesEvents } from './fingerprint'
import { ABORTED_BY_DELETE, rejected, resolved, withoutKeys, type MutationRecord, type Settlement } from './mutation'
import { rename } from './naming'
import type { SyncAction, SyncState } from './state'

/**
 * A snapshot applied to the state: the mutations it proves done are settled, an ambiguous create
 * it proves never landed (after its grace) is queued again, and the rest stay on top of it.
 */
export function applySnapshot(state: SyncState, action: Extract<SyncAction, { type: 'snapshotReceived' }>): SyncState {
  // A response that lost the race against a later-started request that was already applied.
  if (action.seq <= state.appliedSeq) return state
  const { snapshot, seq } = action
  if (action.reconcile === false) return { ...state, server: snapshot, source: 'network', appliedSeq: seq, lastSyncedAt: action.receivedAt }
  const withheld: ReadonlyMap<string, number> = action.withheld ?? new Map()
  /**
   * Whether an unreadable item of another id may be the event of `record`: one first withheld by a
   * snapshot applied after the create was first sent (one on its way then may have been made after
   * the create landed; one applied before was made before it was sent).
   */
  const mayHide = (record: MutationRecord): boolean => {
    // A server that keeps client ids named the create's event by its id, which is looked up by itself.
    if (state.clientIdsHonoured) return false
    // Read defensively: the record may come from storage written by another version.
    const seen = typeof record.sentAfterSeq === 'number' ? record.sentAfterSeq : 0
    for (const since of withheld.values()) if (since > seen) return true
    return false
  }
  const settled: Settlement[] = []
  /** Events that are not an ambiguous create's: claimed by one earlier in this pass, or another create's (built when first needed). */
  let claimed: Set<string> | undefined
  const claimedHere = new Set<string>()
  /**
   * `claimed` but for the event a known rename names for `record` (a caller's id: a generated one
   * took it above), unless another create holds that id or one earlier in this pass claimed it:
   * listed among the renames, its own event counted as another create's, and it was sent again.
   */
  const notItsOwn = (record: MutationRecord, claimed: Set<string>): ReadonlySet<string> => {
    const own = state.renamed.get(record.eventId)
    if (own === undefined || !claimed.has(own) || claimedHere.has(own)) return claimed
    if (state.records.some((r) => r.kind === 'create' && r.id !== record.id && r.eventId === own)) return claimed
    const others = new Set(claimed)
    others.delete(own)
    return others
  }
  let renamed: Map<string, string> | undefined
  const blocked = new Set<string>()
  let records: MutationRecord[] = []
  const remaps = new Map<string, string>()
  for (const original of state.records) {
    const record = remapped(original, remaps)
    if (record.state === 'confirmed') {
      if (seq <= (record.confirmedSeq ?? 0)) keep(record)
      continue
    }
    // Finding the event proves the create landed, in any snapshot requested after it was queued;
    // only saying "not there" needs one requested after the failure and its grace period.
    if (record.kind === 'create' && record.ambiguous && seq > record.queuedSeq) {
      // An unreadable item of its id proves the create landed too; the caller gets the event as it was sent.
      // A rename already known for it (a record that storage kept after the old leader found it)
      // names its event: it landed, and is not sent again even if that event is gone since. Only
      // for an id the store made up: one the caller chose may be in use again, by a new create.
      const known = record.generatedId ? state.renamed.get(record.eventId) : undefined
      const found =
        snapshot.byId.get(record.eventId) ??
        (known !== undefined && record.optimistic ? (snapshot.byId.get(known) ?? { ...record.optimistic, id: known }) : undefined) ??
        (withheld.has(record.eventId) ? record.optimistic : undefined) ??
        (state.clientIdsHonoured ? undefined : findByFingerprint(record, snapshot, notItsOwn(record, (claimed ??= otherCreatesEvents(state)))))
      if (found) {
        claimed?.add(found.id)
        claimedHere.add(found.id)
        if (found.id !== record.eventId) {
          remaps.set(record.eventId, found.id)
          // A delete by the id create() returned, made after this record has gone, goes to the server's.
          const clientId = record.seed?.internal_identifier
          if (clientId !== undefined) rename((renamed ??= new Map(state.renamed)), clientId, found.id)
        }
        settled.push(resolved(record, found))
        continue
      }
      // "Not there" (rule 7): never said while the snapshot has an item it could not read that may be this event.
      if (!mayHide(record) && seq > record.ambiguous.sinceSeq && action.requestedAt >= record.ambiguous.notBefore) {
        const cancelled = state.records.some((r) => r.kind === 'delete' && r.eventId === record.eventId && r.state !== 'confirmed')
        if (cancelled) {
          settled.push(rejected(record, ABORTED_BY_DELETE))
          remaps.set(record.eventId, '')
          continue
        }
        keep(withoutKeys({ ...record, state: record.state === 'dead' ? 'dead' : 'queued' }, 'ambiguous', 'nextAttemptAt'))
        continue
      }
    }
    if (record.kind === 'delete' && !blocked.has(record.eventId) && seq > record.queuedSeq && !snapshot.byId.has(record.eventId) && !withheld.has(record.eventId)) {
      // The event is gone from a snapshot requested after the delete was queued: done, whatever
      // the server answered (Pieces OS may answer 500 for an id it does not know).
      settled.push(resolved(record))
      continue
    }
    if (record.kind === 'delete' && record.ambiguous && seq > record.ambiguous.sinceSeq && action.requestedAt >= record.ambiguous.notBefore && snapshot.byId.has(record.eventId)) {
      // The event is still there: the server's refusal stands, and the dead letter is one.
      keep(withoutKeys(record, 'ambiguous'))
      continue
    }
    keep(record)
  }
  return { ...state, server: snapshot, source: 'network', appliedSeq: seq, lastSyncedAt: action.receivedAt, records, settled, ...(renamed ? { renamed } : {}) }

  function keep(record: MutationRecord): void {
    if (record.eventId === '') {
      // A delete whose create was cancelled above: nothing to delete.
      settled.push(resolved(record))
      return
    }
    blocked.add(record.eventId)
    records.push(record)
  }
  function remapped(record: MutationRecord, map: ReadonlyMap<string, string>): MutationRecord {
    const to = map.get(record.eventId)
    return to === undefined ? record : { ...record, eventId: to }
  }
}
