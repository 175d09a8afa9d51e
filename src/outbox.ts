import type { WorkstreamClient } from './client'
import { WorkstreamSyncError } from './errors'
import type { Timers } from './environment'
import { fingerprintMatches } from './fingerprint'
import type { WorkstreamEvent } from './models'
import { plainError, type MutationRecord } from './mutation'
import { backoffDelay, type ResolvedRetryOptions } from './retry'
import type { SyncAction } from './state'

/**
 * The next mutation to send, if any: the first, in queue order, whose event has nothing earlier
 * still unresolved, that is not waiting out a backoff and not waiting for a snapshot to resolve
 * an ambiguous send. A dead letter or a retrying mutation holds back only its own event.
 */
export function nextToSend(records: readonly MutationRecord[], now: number, maxWaitMs = Number.POSITIVE_INFINITY): MutationRecord | undefined {
  const blocked = new Set<string>()
  for (const record of records) {
    if (record.state === 'sending') return undefined
  }
  for (const record of records) {
    if (record.state === 'confirmed') continue
    if (blocked.has(record.eventId)) continue
    blocked.add(record.eventId)
    if (record.state === 'dead' || record.ambiguous) continue
    if (record.state === 'waiting' && !retryDue(record, now, maxWaitMs)) continue
    return record
  }
  return undefined
}

/**
 * Whether a retry waiting for `nextAttemptAt` is due. No backoff is longer than `maxWaitMs`
 * (retry.maxDelayMs): a time further ahead means the wall clock was set back since it was
 * chosen, and the retry is due now rather than hours later.
 */
function retryDue(record: MutationRecord, now: number, maxWaitMs: number): boolean {
  const at = record.nextAttemptAt ?? 0
  return at <= now || at - now > maxWaitMs
}

/**
 * When something in the outbox is next due without any new event: a backoff ending, or a snapshot
 * needed. Never later than `maxWaitMs` from `now`: a time further ahead (the wall clock was set
 * back) is looked at again then, instead of a timer longer than setTimeout can hold.
 */
export function nextWakeUp(records: readonly MutationRecord[], now: number, maxWaitMs = Number.POSITIVE_INFINITY): number | undefined {
  let wake: number | undefined
  for (const record of records) {
    const at = record.ambiguous ? record.ambiguous.notBefore : record.state === 'waiting' ? record.nextAttemptAt : undefined
    if (at !== undefined && at > now && (wake === undefined || at < wake)) wake = at
  }
  return wake === undefined ? undefined : Math.min(wake, now + maxWaitMs)
}

/** Whether an unresolved ambiguous create waits for a snapshot requested at or after `now`. */
export function needsSnapshot(records: readonly MutationRecord[], now: number): boolean {
  return records.some((r) => r.ambiguous !== undefined && r.ambiguous.notBefore <= now)
}

/** True while something is left to send or to resolve (dead letters aside, and what waits behind one of its event). */
export function hasWork(records: readonly MutationRecord[]): boolean {
  const dead = new Set<string>()
  for (const r of records) {
    if (r.state === 'dead') dead.add(r.eventId)
    else if (r.state !== 'confirmed' && !dead.has(r.eventId)) return true
  }
  return false
}

export interface FailureDecision {
  action: Extract<SyncAction, { type: 'mutationFailed' }> | Extract<SyncAction, { type: 'mutationConfirmed' }>
}

/**
 * What a failed send means. A delete answered 404 has succeeded. Network errors, timeouts,
 * 408, 429 and 5xx are retried with backoff, up to `maxAttempts`, then the mutation is a dead
 * letter. For a create, a failure that may have come after the server committed (no answer, a
 * timeout, an answer that is not an event, or 409 for its own client id after an earlier
 * attempt or for an id the store made up) is ambiguous: a snapshot requested `graceMs` later must say it is not there before it
 * is sent again. A delete that runs out of attempts on a 5xx waits for a snapshot too: if the
 * event is gone, it is done.
 */
export function decideFailure(record: MutationRecord, error: WorkstreamSyncError, now: number, retry: ResolvedRetryOptions, graceMs: number, random: () => number): FailureDecision['action'] {
  if (record.kind === 'delete' && error.kind === 'http' && error.status === 404) {
    return { type: 'mutationConfirmed', id: record.id }
  }
  const plain = plainError(error)
  // 409 means "that id is taken": by this create's own earlier attempt, if it had one that may have
  // landed, or if the id is one the store made up (a request delivered twice on its way); on a
  // first attempt with an id the caller chose, by another event (that id is in use).
  const conflict = error.kind === 'http' && error.status === 409 && (record.attempts > 1 || record.lastError !== undefined || record.generatedId === true)
  const ambiguous = record.kind === 'create' && (error.kind === 'network' || error.kind === 'timeout' || error.kind === 'validation' || conflict)
  if (!ambiguous && !error.retryable) return { type: 'mutationFailed', id: record.id, error: plain, outcome: 'permanent' }
  const attempts = record.attempts
  const dead = attempts >= retry.maxAttempts
  // Pieces OS may answer 500 to a delete of an id it no longer has: before such a delete counts as
  // a dead letter, a snapshot requested from now on says whether the event is still there.
  const unknownId = dead && record.kind === 'delete' && error.kind === 'http' && (error.status ?? 0) >= 500
  return {
    type: 'mutationFailed',
    id: record.id,
    error: plain,
    outcome: dead ? 'dead' : 'retry',
    ...(dead ? {} : { nextAttemptAt: now + backoffDelay(attempts, retry, random) }),
    ...(ambiguous ? { ambiguousUntil: now + graceMs } : unknownId ? { ambiguousUntil: now } : {}),
  }
}

/**
 * The answer to a create, unless it names an event other than the client id that is plainly not
 * what the server made of the seed (a server or proxy that answered with another event): then,
 * as an answer that is not an event, it throws 'validation', which leaves the create ambiguous, so
 * that a snapshot says whether it landed. Taken as the create's event, a later delete by the id
 * create() returned would have gone to that other event.
 */
function notAnotherEvent(record: MutationRecord, event: WorkstreamEvent): WorkstreamEvent {
  if (event.id === record.eventId || fingerprintMatches(record.seed!, event, record.queuedAt)) return event
  throw new WorkstreamSyncError(
    'validation',
    `The server answered the create of ${JSON.stringify(record.eventId)} with event ${JSON.stringify(event.id)}, which is not what it was sent (another application, text, trigger or context, or created before the create was queued). It counts as no answer: a snapshot will show whether the create landed.`,
    { eventId: record.eventId },
  )
}

export interface OutboxSenderOptions {
  client: WorkstreamClient
  transferables: boolean | undefined
  timers: Timers
  now: () => number
  random: () => number
  retry: ResolvedRetryOptions
  graceMs: number
  records: () => readonly MutationRecord[]
  dispatch: (action: SyncAction) => void
  /** Whether this store may send now (the leader, online). */
  canSend: () => boolean
  /** Resolves when the outbox is durable: a create is persisted as sending before it goes out. */
  persisted: () => Promise<void>
  /** Fetches a snapshot, needed to resolve an ambiguous create. */
  requestSnapshot: () => Promise<void>
}

/** Sends the outbox one mutation at a time, in order, and wakes itself for retries. */
export class OutboxSender {
  readonly #options: OutboxSenderOptions
  #sending = false
  #timer: unknown
  #abort = new AbortController()
  #disposed = false
  #reconciling = false
  #reconcileFailures = 0
  /** No snapshot is asked for ambiguous mutations before this time: the backoff after one that did not resolve them. */
  #reconcileAfter = 0

  constructor(options: OutboxSenderOptions) {
    this.#options = options
  }

  /** Looks for work now. Safe to call at any time, as often as wanted. */
  kick(): void {
    if (this.#disposed || this.#sending) return
    const { timers, now, records, canSend } = this.#options
    if (this.#timer !== undefined) timers.clearTimeout(this.#timer)
    this.#timer = undefined
    if (!canSend()) return
    const current = records()
    const time = now()
    const reconcile = needsSnapshot(current, time)
    if (reconcile) this.#reconcile(time)
    // Nothing waits for a snapshot: a later ambiguous mutation starts without the backoff of earlier ones.
    else if (!this.#reconciling) this.#resetReconcile()
    const { retry, graceMs } = this.#options
    const maxWaitMs = Math.max(retry.maxDelayMs, graceMs)
    const next = nextToSend(current, time, retry.maxDelayMs)
    if (next) {
      void this.#send(next)
      return
    }
    let wake = nextWakeUp(current, time, maxWaitMs)
    if (reconcile && !this.#reconciling && (wake === undefined || this.#reconcileAfter < wake)) wake = this.#reconcileAfter
    if (wake !== undefined) this.#timer = timers.setTimeout(() => this.kick(), Math.max(0, wake - time))
  }

  /**
   * Asks for the snapshot that resolves ambiguous creates, so that one does not wait for the next
   * poll (there may be none). When it fails, or leaves a mutation unresolved (a snapshot that
   * started too early, or one with items it could not read), the next one waits out a backoff.
   */
  #reconcile(time: number): void {
    // A backoff end further ahead than any backoff: the wall clock was set back since.
    if (this.#reconcileAfter - time > this.#options.retry.maxDelayMs) this.#reconcileAfter = 0
    if (this.#reconciling || time < this.#reconcileAfter) return
    this.#reconciling = true
    const done = (resolvedAll: boolean): void => {
      this.#reconciling = false
      if (this.#disposed) return
      const { now, retry, random, records } = this.#options
      this.#reconcileFailures = resolvedAll && !needsSnapshot(records(), now()) ? 0 : this.#reconcileFailures + 1
      this.#reconcileAfter = this.#reconcileFailures === 0 ? 0 : now() + backoffDelay(this.#reconcileFailures, retry, random)
      this.kick()
    }
    this.#options.requestSnapshot().then(
      () => done(true),
      () => done(false),
    )
  }

  dispose(): void {
    this.#disposed = true
    this.#abort.abort()
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer)
  }

  /**
   * The outbox was emptied (clear(), at logout): a send waiting to go out stays unsent, and one
   * on the wire is aborted. Its caller was told 'aborted' already.
   */
  abandon(): void {
    this.#abort.abort()
    this.#abort = new AbortController()
    this.#resetReconcile()
  }

  #resetReconcile(): void {
    this.#reconcileFailures = 0
    this.#reconcileAfter = 0
  }

  #holds(record: MutationRecord): boolean {
    return this.#options.records().some((r) => r.id === record.id)
  }

  async #send(record: MutationRecord): Promise<void> {
    const { dispatch, client, transferables } = this.#options
    this.#sending = true
    try {
      dispatch({ type: 'mutationSent', id: record.id })
      const signal = this.#abort.signal
      await this.#options.persisted()
      if (this.#disposed || signal.aborted || !this.#holds(record)) return
      try {
        if (record.kind === 'create') {
          const event = notAnotherEvent(record, await client.create(record.seed!, { signal, ...(transferables !== undefined ? { transferables } : {}) }))
          if (!this.#disposed) dispatch({ type: 'mutationConfirmed', id: record.id, event })
        } else {
          await client.delete(record.eventId, { signal })
          if (!this.#disposed) dispatch({ type: 'mutationConfirmed', id: record.id })
        }
      } catch (caught) {
        // A dispose aborts the request: the record stays persisted as sending, and the next
        // store resolves it as ambiguous.
        if (this.#disposed || !this.#holds(record)) return
        const error = caught instanceof WorkstreamSyncError ? caught : new WorkstreamSyncError('network', String(caught), { cause: caught })
        const sent = this.#options.records().find((r) => r.id === record.id) ?? record
        const { now, retry, graceMs, random } = this.#options
        dispatch(decideFailure(sent, error, now(), retry, graceMs, random))
      }
    } finally {
      this.#sending = false
      if (!this.#disposed) this.kick()
    }
  }
}
