import type { MutationRecord } from './mutation'
import type { StoredNaming, SyncState } from './state'

/** How many ended renames the state remembers. */
const RENAMES_KEPT = 1000

/** Keeps the renames of the confirmed creates that left the outbox. */
export function rememberRenames(before: readonly MutationRecord[], next: SyncState): SyncState {
  let renamed: Map<string, string> | undefined
  const after = new Set(next.records.map((r) => r.id))
  for (const r of before) {
    const clientId = r.seed?.internal_identifier
    if (r.kind !== 'create' || r.state !== 'confirmed' || clientId === undefined || clientId === r.eventId || after.has(r.id)) continue
    renamed ??= new Map(next.renamed)
    rename(renamed, clientId, r.eventId)
  }
  return renamed ? { ...next, renamed } : next
}

/** Records that the server named the create of `clientId` `serverId`, forgetting the oldest renames past RENAMES_KEPT. */
export function rename(renamed: Map<string, string>, clientId: string, serverId: string): void {
  renamed.delete(clientId)
  renamed.set(clientId, serverId)
  if (renamed.size > RENAMES_KEPT) renamed.delete(renamed.keys().next().value!)
}

/** `state`'s naming with storage's: its renames after those read, which are older (at most RENAMES_KEPT). */
export function withStoredNaming(state: SyncState, stored: StoredNaming | undefined): Pick<SyncState, 'renamed' | 'clientIdsHonoured'> {
  const clientIdsHonoured = state.clientIdsHonoured || stored?.clientIdsHonoured === true
  if (!stored?.renamed?.length) return { renamed: state.renamed, clientIdsHonoured }
  const renamed = new Map<string, string>()
  for (const [clientId, serverId] of [...stored.renamed, ...state.renamed]) rename(renamed, clientId, serverId)
  return { renamed, clientIdsHonoured }
}

/**
 * A delete made against the client id of a create the server has since named otherwise (in
 * another tab, or while taking over) goes to the server's id, which the create's record holds,
 * or once that record has ended, the state's renames.
 */
export function toServerId(record: MutationRecord, records: readonly MutationRecord[], renamed: ReadonlyMap<string, string>): MutationRecord {
  if (record.kind !== 'delete') return record
  const serverId = serverIdOf(record.eventId, records, renamed)
  return serverId !== record.eventId ? { ...record, eventId: serverId } : record
}

/** The id a delete of `eventId` goes to (see toServerId). */
export function serverIdOf(eventId: string, records: readonly MutationRecord[], renamed: ReadonlyMap<string, string>): string {
  // A create that has this id now (a client id used again, say) is the one meant.
  if (records.some((r) => r.kind === 'create' && r.eventId === eventId)) return eventId
  const create = records.find((r) => r.kind === 'create' && r.seed?.internal_identifier === eventId && r.eventId !== eventId)
  return create?.eventId ?? renamed.get(eventId) ?? eventId
}
