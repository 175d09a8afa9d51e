import { WorkstreamSyncError, type WorkstreamSyncErrorKind } from './errors'
import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'

/** Where a mutation is: waiting its turn, on the wire, waiting to retry, or a dead letter. */
export type MutationState = 'queued' | 'sending' | 'waiting' | 'dead'

/** The last failure of a mutation, as plain data (it is persisted and broadcast). */
export interface MutationError {
  /** The `kind` of the WorkstreamSyncError it came from. */
  readonly kind: WorkstreamSyncErrorKind
  /** The error's message. */
  readonly message: string
  /** The HTTP status, when the server answered. */
  readonly status?: number
}

/** A mutation that is not yet confirmed by the server, as `outbox$` shows it. */
export interface PendingMutation {
  /** The mutation's own id; pass it to `retryMutation` and `discardMutation`. */
  readonly id: string
  /** Whether it creates or deletes an event. */
  readonly kind: 'create' | 'delete'
  /** The event it concerns. For a create, the client id until the server names another. */
  readonly eventId: string
  /** Where it is in the queue; see {@link MutationState}. */
  readonly state: MutationState
  /** Sends tried so far. */
  readonly attempts: number
  /** Why the last send failed; absent until one has. */
  readonly lastError?: MutationError
  /** When it was queued (ms since the epoch, from the store's clock). */
  readonly queuedAt: number
  /** For `waiting`: when the next attempt is due. */
  readonly nextAttemptAt?: number
  /**
   * The outcome of an earlier send is unknown and a snapshot must tell first: a create that may
   * have landed, or a dead delete answered 5xx that may have been for an event already gone.
   */
  readonly ambiguous?: boolean
}

/**
 * The internal, persisted record of a mutation. Plain data: it is written to storage and sent
 * between tabs. `seq` values count snapshot requests, so that "requested after" can be decided
 * without comparing clocks.
 */
export interface MutationRecord {
  readonly id: string
  readonly kind: 'create' | 'delete'
  readonly eventId: string
  /** Create: the seed as sent, with `internal_identifier` set to the client id. */
  readonly seed?: SeededWorkstreamEvent
  /** Create: the optimistic event shown until the server answers. */
  readonly optimistic?: WorkstreamEvent
  readonly state: MutationState | 'confirmed'
  readonly attempts: number
  readonly lastError?: MutationError
  readonly queuedAt: number
  /** The last snapshot request started when this was queued. */
  readonly queuedSeq: number
  /**
   * Create: the last snapshot applied when it was first sent (0 for one sent by an earlier session
   * or another tab). An unreadable item first seen in a later snapshot may be its event: that
   * snapshot was still on its way, and the server may have made it after the create landed.
   */
  readonly sentAfterSeq?: number
  readonly nextAttemptAt?: number
  /** Set after an ambiguous failure: only a snapshot requested after `sinceSeq` may confirm it, and only one also requested at or after `notBefore` may say it is not there. */
  readonly ambiguous?: { readonly sinceSeq: number; readonly notBefore: number }
  /** Confirmed: the overlay stays until a snapshot requested after this seq shows the server's view. */
  readonly confirmedSeq?: number
  /** Confirmed create: the event the server answered with. */
  readonly confirmed?: WorkstreamEvent
  /** The store instance (tab) whose caller awaits this mutation. */
  readonly origin?: string
  /** Create: events on the server that looked like it before it was first sent, so are not its event. */
  readonly lookalikes?: readonly string[]
  /** Create: the store made the client id up (a random UUID), so no other event can have it. */
  readonly generatedId?: true
}

/** A failed send of a mutation, as the leader tells the tab whose caller made it. */
export interface MutationFailure {
  /** The outbox mutation that failed (see `PendingMutation.id`). */
  readonly mutationId: string
  /** The store instance (tab) that made the mutation. */
  readonly origin: string
  /** What happens to it next: rolled back, sent again, or a dead letter. */
  readonly outcome: 'permanent' | 'retry' | 'dead'
  /** What failed. */
  readonly error: MutationError
  /** When it is sent again (epoch ms), for outcome 'retry'. Default: none. */
  readonly nextAttemptAt?: number
  /** Until when (epoch ms) a snapshot cannot say a create whose send may have landed is not there. Default: none. */
  readonly ambiguousUntil?: number
}

/** An error as plain data, as a record keeps it and a tab message carries it. */
export function plainError(error: WorkstreamSyncError): MutationError {
  return { kind: error.kind, message: error.message, ...(error.status !== undefined ? { status: error.status } : {}) }
}

/** An error a message carried, as this tab reports it. */
export function syncErrorOf(said: MutationError): WorkstreamSyncError {
  return new WorkstreamSyncError(said.kind, said.message, said.status !== undefined ? { status: said.status } : {})
}

/** How a mutation ended, for the caller's promise. */
export type Settlement =
  | { readonly mutationId: string; readonly origin?: string; readonly outcome: 'resolved'; readonly event?: WorkstreamEvent }
  | { readonly mutationId: string; readonly origin?: string; readonly outcome: 'rejected'; readonly error: MutationError }

/** How a mutation ended, without whose it was: what a leader keeps in storage of other tabs' creates (see StoredEndings). */
export type Ending = { readonly outcome: 'resolved'; readonly event?: WorkstreamEvent } | { readonly outcome: 'rejected'; readonly error: MutationError }

export function toPendingMutation(record: MutationRecord): PendingMutation {
  const state = record.state === 'confirmed' ? 'queued' : record.state
  return {
    id: record.id,
    kind: record.kind,
    eventId: record.eventId,
    state,
    attempts: record.attempts,
    queuedAt: record.queuedAt,
    ...(record.lastError ? { lastError: record.lastError } : {}),
    ...(record.nextAttemptAt !== undefined && state === 'waiting' ? { nextAttemptAt: record.nextAttemptAt } : {}),
    ...(record.ambiguous ? { ambiguous: true } : {}),
  }
}

/** A new create, queued now, with its client id as `internal_identifier`. */
export function newCreateRecord(input: { id: string; eventId: string; seed: SeededWorkstreamEvent; optimistic: WorkstreamEvent; now: number; seq: number; origin: string; generatedId?: boolean }): MutationRecord {
  return {
    id: input.id,
    kind: 'create',
    eventId: input.eventId,
    seed: { ...input.seed, internal_identifier: input.eventId },
    optimistic: input.optimistic,
    state: 'queued',
    attempts: 0,
    queuedAt: input.now,
    queuedSeq: input.seq,
    origin: input.origin,
    ...(input.generatedId ? { generatedId: true } : {}),
  }
}

/** A new delete, queued now. */
export function newDeleteRecord(input: { id: string; eventId: string; now: number; seq: number; origin: string }): MutationRecord {
  return { id: input.id, kind: 'delete', eventId: input.eventId, state: 'queued', attempts: 0, queuedAt: input.now, queuedSeq: input.seq, origin: input.origin }
}

/** Whether two outbox entries say the same thing. */
export function samePending(a: PendingMutation, b: PendingMutation): boolean {
  return (
    a === b ||
    (a.id === b.id && a.eventId === b.eventId && a.state === b.state && a.attempts === b.attempts && a.lastError === b.lastError && a.nextAttemptAt === b.nextAttemptAt && a.ambiguous === b.ambiguous)
  )
}

/**
 * Log lines for what happened to mutations between two outboxes: queued, each change of state
 * (with the attempt and the wait), and how the ones that left ended. Ids only, no content.
 */
export function mutationTransitions(previous: readonly MutationRecord[], next: readonly MutationRecord[], settled: readonly Settlement[]): string[] {
  const before = new Map(previous.map((r) => [r.id, r]))
  const lines: string[] = []
  const name = (r: MutationRecord): string => `${r.kind} ${r.id} of event ${JSON.stringify(r.eventId)}`
  for (const record of next) {
    const was = before.get(record.id)
    if (was === undefined) lines.push(`${name(record)}: ${record.state}`)
    else if (was.state !== record.state || was.ambiguous !== record.ambiguous) lines.push(`${name(record)}: ${was.state} -> ${record.state}${describeState(record)}`)
  }
  for (const s of settled) lines.push(`mutation ${s.mutationId} ${s.outcome}${s.outcome === 'rejected' ? ` (${s.error.kind})` : ''}`)
  return lines
}

function describeState(r: MutationRecord): string {
  if (r.state === 'sending') return ` (attempt ${r.attempts})`
  const details = [
    r.lastError ? `${r.lastError.kind}${r.lastError.status !== undefined ? ` ${r.lastError.status}` : ''}` : '',
    r.state === 'waiting' && r.nextAttemptAt !== undefined ? `next attempt at ${new Date(r.nextAttemptAt).toISOString()}` : '',
    r.ambiguous ? 'waiting for a snapshot to say whether it landed' : '',
  ].filter(Boolean)
  return details.length ? ` (${details.join('; ')})` : ''
}

/** The error of a create that a delete of its event cancelled before it reached the server. */
export const ABORTED_BY_DELETE: MutationError = { kind: 'aborted', message: 'The create was cancelled by a delete of its event before it reached the server.' }

/**
 * The error of a create that the leader tab ended and closed before this tab heard how: a delete
 * there cancelled it, the server refused it, or it was created and deleted since. Its event is
 * not in what that leader saved, and it is not sent again.
 */
export const ENDED_UNHEARD: MutationError = {
  kind: 'aborted',
  message: 'The tab that led ended this create and closed before this tab heard how: a delete cancelled it, the server refused it, or it was created and deleted since. It is not sent again.',
}

/** The settlement of a mutation that happened: its caller's promise resolves (with the event, for a create). */
export function resolved(record: MutationRecord, event?: WorkstreamEvent): Settlement {
  return { mutationId: record.id, outcome: 'resolved', ...(record.origin ? { origin: record.origin } : {}), ...(event ? { event } : {}) }
}

/** The settlement of a mutation that will never happen: its caller's promise rejects with `error`. */
export function rejected(record: MutationRecord, error: MutationError): Settlement {
  return { mutationId: record.id, outcome: 'rejected', error, ...(record.origin ? { origin: record.origin } : {}) }
}

/** A copy of `value` without `keys` (absent, not undefined: records are compared and stored as plain data). */
export function withoutKeys<T extends object, K extends keyof T>(value: T, ...keys: K[]): T {
  const copy = { ...value }
  for (const key of keys) delete copy[key]
  return copy
}
