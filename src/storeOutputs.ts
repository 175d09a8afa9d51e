import { BehaviorSubject, Subject } from 'rxjs'
import { WorkstreamSyncError } from './errors'
import type { Logger } from './logger'
import type { WorkstreamEvent } from './models'
import { mutationTransitions, samePending, toPendingMutation, type MutationRecord, type PendingMutation } from './mutation'
import type { SyncAction, SyncState } from './state'
import { diffViews, EMPTY_VIEW, isEmptyChange, rebase, type EventChanges, type View } from './view'

/**
 * What a store shows of its state: the view, and the subjects behind `events$`, `changes$`,
 * `outbox$` and `errors$`. Each emits only when what it carries changed.
 */
export class StoreOutputs {
  readonly events = new BehaviorSubject<readonly WorkstreamEvent[]>([])
  readonly outbox = new BehaviorSubject<readonly PendingMutation[]>([])
  readonly changes = new Subject<EventChanges>()
  readonly errors = new Subject<WorkstreamSyncError>()
  /** The server's events with the pending mutations applied: what `events` last emitted. */
  #view: View = EMPTY_VIEW
  /** Unchanged records keep their outbox entry object. */
  readonly #entries = new WeakMap<MutationRecord, PendingMutation>()
  readonly #logger: Logger

  constructor(logger: Logger) {
    this.#logger = logger
  }

  get view(): View {
    return this.#view
  }

  /** Emits the view, its changes and the outbox, where the state change touched them. */
  showState(previous: SyncState, next: SyncState): void {
    if (next.server !== previous.server || next.records !== previous.records) {
      const view = rebase(next.server, next.records)
      const changes = diffViews(this.#view, view)
      if (!isEmptyChange(changes)) {
        this.#view = view
        this.#logger.debug(`view changed: +${changes.added.length} ~${changes.updated.length} -${changes.removed.length}`)
        this.events.next(view.events)
        this.changes.next(changes)
      }
    }
    if (next.records !== previous.records) this.#showOutbox(next.records)
    if (this.#logger.enabled('debug') && (next.records !== previous.records || next.settled.length)) {
      for (const line of mutationTransitions(previous.records, next.records, next.settled)) this.#logger.debug(line)
    }
  }

  /**
   * Logs the error (without content unless the logger includes it) and emits it on errors$.
   * `error` level is for what needs the app's attention (a dead letter, a refused mutation).
   */
  report(error: WorkstreamSyncError, level: 'warn' | 'error' = 'warn'): void {
    this.#logger[level](this.#logger.includeContent ? error.message : withoutContent(error))
    if (!this.errors.closed) this.errors.next(error)
  }

  /** Reports a failed send of `record` in words that say what happens to it next. */
  reportMutationFailure(action: Extract<SyncAction, { type: 'mutationFailed' }>, record: MutationRecord | undefined): void {
    const { kind, message, status } = action.error
    const outcome =
      action.outcome === 'permanent'
        ? 'was refused, and its optimistic change is rolled back'
        : action.outcome === 'dead'
          ? `is a dead letter after ${record?.attempts ?? 'every'} attempts: nothing sends it again until retryMutation(${JSON.stringify(action.id)}); discardMutation drops it`
          : action.ambiguousUntil !== undefined && action.nextAttemptAt !== undefined
            ? 'may have reached the server: a snapshot says whether it did before it is sent again'
            : 'failed, and is sent again after a backoff'
    const error = new WorkstreamSyncError(kind, `A ${record?.kind ?? 'mutation'} ${outcome}. Cause: ${message}`, { ...(status !== undefined ? { status } : {}), mutationId: action.id, ...(record ? { eventId: record.eventId } : {}) })
    this.report(error, action.outcome === 'retry' ? 'warn' : 'error')
  }

  complete(): void {
    for (const subject of [this.events, this.outbox, this.changes, this.errors]) subject.complete()
  }

  #showOutbox(records: readonly MutationRecord[]): void {
    const outbox: PendingMutation[] = []
    for (const record of records) {
      if (record.state === 'confirmed') continue
      let entry = this.#entries.get(record)
      if (!entry) this.#entries.set(record, (entry = toPendingMutation(record)))
      outbox.push(entry)
    }
    const current = this.outbox.value
    if (outbox.length !== current.length || outbox.some((entry, i) => !samePending(entry, current[i]!))) this.outbox.next(outbox)
  }
}

/**
 * A log line for an error whose message may quote the server's bodies or an event's fields
 * (validation and HTTP errors do, to help debugging): its kind, status, path and ids only.
 */
function withoutContent(error: WorkstreamSyncError): string {
  if (error.kind !== 'validation' && error.kind !== 'http' && error.kind !== 'invalid-input') return error.message
  const where = [error.status !== undefined ? `status ${error.status}` : '', error.path ? `at ${error.path}` : '', error.eventId !== undefined ? `event ${JSON.stringify(error.eventId)}` : '', error.mutationId ? `mutation ${error.mutationId}` : '']
  return `${error.kind} error (${where.filter(Boolean).join(', ') || 'no details'}); the message may quote event content, so it is on errors$ only (logger.includeContent logs it).`
}
