import type { Observable } from 'rxjs'
import type { WorkstreamSyncError } from './errors'
import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'
import type { PendingMutation } from './mutation'
import type { SyncStatus } from './status'
import type { EventChanges } from './view'

/** A live, cached, optimistic copy of the workstream events. See {@link createWorkstreamStore}. */
export interface WorkstreamStore {
  /**
   * The view, newest `created` first. Gives the current value at once; emits only on change.
   * Subscribing starts polling. Completes on `dispose()`: a subscriber after that gets no value.
   */
  readonly events$: Observable<readonly WorkstreamEvent[]>
  /** The current value of `events$`: the view, newest `created` first. */
  readonly events: readonly WorkstreamEvent[]
  /**
   * The sync status; gives the current value at once and emits only on change. Subscribing does
   * not start polling. Completes on `dispose()`: a subscriber after that gets no value.
   */
  readonly status$: Observable<SyncStatus>
  /** The current value of `status$`. */
  readonly status: SyncStatus
  /** What each applied change did: events added, updated, and removed (their last versions). */
  readonly changes$: Observable<EventChanges>
  /** Mutations not yet confirmed, in queue order, dead letters included. */
  readonly outbox$: Observable<readonly PendingMutation[]>
  /** The current value of `outbox$`. */
  readonly outbox: readonly PendingMutation[]
  /**
   * Every failure: snapshots, mutations, storage, bad server data. The store goes on. An event the
   * server sends unreadable is reported once, not again at each poll that brings it unchanged. A
   * stream, not a state: it delivers the failures that happen while you are subscribed (those of
   * the store's first read of its storage included, when you subscribe right after making it).
   */
  readonly errors$: Observable<WorkstreamSyncError>
  /** Resolves once the cache has been read (or found unusable). */
  readonly ready: Promise<void>
  /** One event, or undefined; emits when that event changes. Subscribing starts polling. */
  event$(id: string): Observable<WorkstreamEvent | undefined>
  /** The event with this id in the view now, or undefined. Does not start polling. */
  get(id: string): WorkstreamEvent | undefined
  /**
   * Begins polling. Subscribing to `events$` or `event$` does this too.
   *
   * @throws {@link WorkstreamSyncError} of kind `aborted` after `dispose()`.
   */
  start(): void
  /** Stops polling; queued mutations still go out. `start()` or a new subscriber polls again. */
  stop(): void
  /**
   * Fetches and applies a snapshot now (joining one in flight). Rejects with the error. In a
   * follower tab the leader fetches, and the promise resolves once this tab holds the result.
   */
  refresh(): Promise<void>
  /**
   * Shows the event at once and queues it. `confirmed` resolves with the server's event (its id may differ).
   *
   * @returns `event`: the optimistic event, already in `events$`, under the client id.
   *   `confirmed`: resolves with the server's event; rejects when the create is refused, discarded
   *   or cancelled. While the create is a dead letter (`outbox$` state `'dead'`) it stays pending:
   *   `retryMutation()` sends it again, `discardMutation()` rejects it.
   * @throws {@link WorkstreamSyncError}, synchronously, of kind `invalid-input` for a bad seed or
   *   an `internal_identifier` already in use, and `aborted` after `dispose()`.
   */
  create(seed: SeededWorkstreamEvent): { event: WorkstreamEvent; confirmed: Promise<WorkstreamEvent> }
  /**
   * Hides the event at once and queues the delete; resolves when the server confirmed it (the
   * delete of a create not sent yet, which cancels both: once storage holds the cancel), and
   * stays pending while it is a dead letter. Rejects (never throws) with `invalid-input` for an
   * id that cannot be one, and `aborted` after `dispose()`.
   */
  delete(id: string): Promise<void>
  /** Resolves when nothing is left to send (dead letters aside). */
  flush(): Promise<void>
  /** Puts a dead letter back into the queue, with its attempts reset. */
  retryMutation(mutationId: string): void
  /** Drops a dead letter and rolls back its optimistic change. */
  discardMutation(mutationId: string): void
  /**
   * Wipes the cache and the outbox (for example on logout), in every tab: a follower has the
   * leader clear too. Pending promises reject with kind `aborted`; a send on the wire is aborted,
   * and its caller is told that the server may have carried it out. Mutations made after the call
   * are kept.
   */
  clear(): Promise<void>
  /**
   * Ends every timer, request and subscription. Pending promises reject with kind `aborted`; the
   * outbox stays persisted. Resolves once the last writes landed (within 2 s); a second call
   * waits for the same.
   */
  dispose(): Promise<void>
}
