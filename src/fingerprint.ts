import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'
import type { MutationRecord } from './mutation'
import type { SyncState } from './state'
import type { ServerSnapshot } from './view'

/**
 * How far the server's `created` may be earlier than the time the create was queued and still
 * count as the same event: Pieces OS runs on the same machine, so clocks agree within this.
 */
export const FINGERPRINT_CLOCK_SKEW_MS = 60_000

/**
 * Whether `event` is what the server made of `seed`, for servers that do not honour
 * `internal_identifier`: the same application, trigger, context and text, created no earlier
 * than the create was queued.
 */
export function fingerprintMatches(seed: SeededWorkstreamEvent, event: WorkstreamEvent, queuedAt: number): boolean {
  if (event.application.id !== seed.application.id) return false
  if ((event.readable ?? undefined) !== (seed.readable ?? undefined)) return false
  const created = Date.parse(event.created.value)
  if (!(created >= queuedAt - FINGERPRINT_CLOCK_SKEW_MS)) return false
  return canonical(event.trigger) === canonical(seed.trigger) && canonical(event.context) === canonical(seed.context)
}

/** JSON with sorted keys and without null or undefined members, so that equal data compares equal. */
export function canonical(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const record = value as Record<string, unknown>
  const parts: string[] = []
  for (const key of Object.keys(record).sort()) {
    const member = record[key]
    if (member === null || member === undefined) continue
    parts.push(`${JSON.stringify(key)}:${canonical(member)}`)
  }
  return `{${parts.join(',')}}`
}

/**
 * The event a server that ignores client ids made of an ambiguous create: one that looks the same,
 * is no other create's, and was not in the snapshot the store held when the create was first sent.
 */
export function findByFingerprint(record: MutationRecord, snapshot: ServerSnapshot, claimed: ReadonlySet<string>): WorkstreamEvent | undefined {
  if (!record.seed) return undefined
  // Read defensively: the record may come from storage written by another version.
  const before = Array.isArray(record.lookalikes) ? record.lookalikes : []
  for (const event of snapshot.events) {
    if (!claimed.has(event.id) && !before.includes(event.id) && fingerprintMatches(record.seed, event, record.queuedAt)) return event
  }
  return undefined
}

/** The events of the creates in `state` (those still in the outbox, and those renamed once they left). */
export function otherCreatesEvents(state: SyncState): Set<string> {
  const ids = new Set(state.renamed.values())
  for (const r of state.records) if (r.kind === 'create') ids.add(r.eventId)
  return ids
}

/**
 * Notes, as a create is sent for the first time, the events that look like it in the snapshot the
 * store holds: that snapshot came before the create was ever on the wire, so none of them can be
 * its event. Kept with the record (across reloads and tabs) for when the send turns out ambiguous.
 * Done here, not in create(), where a look at every event would cost milliseconds at 10k.
 */
export function withLookalikes(state: SyncState, record: MutationRecord): MutationRecord {
  // Never sent: no attempt so far, and no failure (a dead letter retried starts again from 0).
  const firstSend = record.attempts === 0 && record.lastError === undefined
  if (record.kind !== 'create' || !record.seed || !firstSend || record.lookalikes !== undefined || state.clientIdsHonoured) return record
  const lookalikes: string[] = []
  for (const event of state.server.events) if (fingerprintMatches(record.seed, event, record.queuedAt)) lookalikes.push(event.id)
  // Usually none, and then nothing is kept.
  return lookalikes.length ? { ...record, lookalikes } : record
}
