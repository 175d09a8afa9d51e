import { filter, firstValueFrom, type Observable } from 'rxjs'
import { handled, type CallerPromises } from './callerPromises'
import { eventIdProblem } from './client'
import { disposedError, WorkstreamSyncError } from './errors'
import { eventFromSeed } from './eventFromSeed'
import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'
import { newCreateRecord, newDeleteRecord, type MutationRecord } from './mutation'
import { hasWork } from './outbox'
import type { SyncAction, SyncState } from './state'
import type { ResolvedStoreOptions } from './storeOptions'
import type { TabCoordinator } from './tabs'
import type { TabSync } from './tabSync'
import { serverIdOf } from './naming'
import { isValidId, parseSeededWorkstreamEvent } from './validate'

export interface MutationIntakeHost {
  /** This store's id: the origin of its mutations. */
  readonly id: string
  readonly options: Pick<ResolvedStoreOptions, 'generateId' | 'now'>
  /** The promises that callers of create() and delete() hold. */
  readonly callers: CallerPromises
  readonly tabs: TabCoordinator
  readonly tabSync: Pick<TabSync, 'command'>
  state(): SyncState
  /** Every state the store goes through; completes when it is disposed. */
  readonly state$: Observable<SyncState>
  /** The store's `ready`: settles once the cache is read. */
  ready(): Promise<void>
  /** Has the outbox sender look for work. */
  kick(): void
  /** Whether the view shows an event with this id. */
  shows(eventId: string): boolean
  disposed(): boolean
  dispatch(action: SyncAction): void
  /** Shows a new mutation and makes it durable, as this tab's part (leader or follower) says. */
  queue(record: MutationRecord): void
}

/**
 * What the store's callers ask of the outbox: create() and delete() check their input and queue a
 * mutation, flush() waits for it to drain, and retryMutation() and discardMutation() act on a dead
 * letter (through the leader).
 */
export class MutationIntake {
  readonly #host: MutationIntakeHost

  constructor(host: MutationIntakeHost) {
    this.#host = host
  }

  create(seed: SeededWorkstreamEvent): { event: WorkstreamEvent; confirmed: Promise<WorkstreamEvent> } {
    const { options } = this.#host
    if (this.#host.disposed()) throw disposedError('create()')
    const valid = plainSeed(seed)
    const eventId = valid.internal_identifier ?? options.generateId()
    // An event whose id no URL path can address could never be deleted.
    const problem = eventIdProblem(eventId)
    if (problem !== undefined) throw new WorkstreamSyncError('invalid-input', `create(): internal_identifier: ${problem}`, { eventId })
    if (this.#host.shows(eventId) || this.#host.state().records.some((r) => r.eventId === eventId)) {
      throw new WorkstreamSyncError('invalid-input', `An event with id ${JSON.stringify(eventId)} already exists; internal_identifier must be unique.`, { eventId })
    }
    const now = options.now()
    const event = eventFromSeed(valid, eventId, now)
    const record = newCreateRecord({ id: options.generateId(), eventId, seed: valid, optimistic: event, now, seq: this.#host.state().requestedSeq, origin: this.#host.id, generatedId: valid.internal_identifier === undefined })
    const confirmed = this.#host.callers.defer(record.id) as Promise<WorkstreamEvent>
    this.#host.queue(record)
    return { event, confirmed }
  }

  delete(id: string): Promise<void> {
    const { options, callers } = this.#host
    if (this.#host.disposed()) return handled(Promise.reject(disposedError('delete()')))
    // The client's rule: an id that no URL path can address is refused now, not queued.
    const problem = eventIdProblem(id)
    if (problem !== undefined) {
      return handled(Promise.reject(new WorkstreamSyncError('invalid-input', `delete(): ${problem}`, isValidId(id) ? { eventId: id } : {})))
    }
    // A second delete of the same event is the same mutation, by whichever of its ids.
    const { records, renamed, requestedSeq } = this.#host.state()
    const target = serverIdOf(id, records, renamed)
    const existing = records.find((r) => r.kind === 'delete' && (r.eventId === id || r.eventId === target) && r.state !== 'confirmed')
    const pending = existing && callers.get(existing.id)
    if (pending) return pending as Promise<void>
    const record = newDeleteRecord({ id: options.generateId(), eventId: id, now: options.now(), seq: requestedSeq, origin: this.#host.id })
    const promise = callers.defer(record.id) as Promise<void>
    this.#host.queue(record)
    return promise
  }

  flush(): Promise<void> {
    if (this.#host.disposed()) return handled(Promise.reject(disposedError('flush()')))
    this.#host.kick()
    // Until the cache is read, the outbox it holds is unknown.
    const drained = this.#host.ready().then(() => firstValueFrom(this.#host.state$.pipe(filter((s) => !hasWork(s.records)))))
    return handled(drained.then(() => undefined, () => Promise.reject(disposedError('flush()'))))
  }

  retryMutation(mutationId: string): void {
    this.#deadLetter(mutationId, 'retryMutation')
    if (this.#host.tabs.isLeader) this.#host.dispatch({ type: 'mutationRetried', id: mutationId })
    else this.#host.tabSync.command('retry', mutationId)
  }

  discardMutation(mutationId: string): void {
    this.#deadLetter(mutationId, 'discardMutation')
    if (this.#host.tabs.isLeader) this.#host.dispatch({ type: 'mutationDiscarded', id: mutationId })
    else this.#host.tabSync.command('discard', mutationId)
  }

  #deadLetter(mutationId: string, method: string): void {
    if (this.#host.disposed()) throw disposedError(`${method}()`)
    const record = this.#host.state().records.find((r) => r.id === mutationId)
    if (!record || record.state !== 'dead') {
      throw new WorkstreamSyncError('invalid-input', `${method}(${JSON.stringify(mutationId)}): no dead letter has that id. Dead letters are the outbox$ entries in state 'dead'.`, { mutationId })
    }
  }
}

/**
 * The caller's seed, validated, as a copy of the JSON it will be sent as: the queued create must
 * not change when the caller changes the object afterwards, and what cannot be sent as JSON (a
 * cycle, a BigInt, a getter that throws) is refused now rather than failing every send.
 */
function plainSeed(seed: SeededWorkstreamEvent): SeededWorkstreamEvent {
  try {
    parseSeededWorkstreamEvent(seed)
    return parseSeededWorkstreamEvent(JSON.parse(JSON.stringify(seed)))
  } catch (error) {
    if (error instanceof WorkstreamSyncError) throw error
    throw new WorkstreamSyncError('invalid-input', `The seed cannot be sent as JSON (${error instanceof Error ? error.message : String(error)}); pass plain JSON data.`, { cause: error })
  }
}
