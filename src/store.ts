import { BehaviorSubject, Observable, distinctUntilChanged, map } from 'rxjs'
import { CallerPromises, handled } from './callerPromises'
import { disposedError, toSyncError, type WorkstreamSyncError } from './errors'
import { within } from './environment'
import { Leadership } from './leadership'
import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'
import type { PendingMutation } from './mutation'
import { MutationIntake } from './mutationIntake'
import { OutboxSender } from './outbox'
import { Persistence } from './persistence'
import { createPoller, type Poller } from './poller'
import { pollBackoffDelay } from './retry'
import { SnapshotFetcher } from './snapshotFetcher'
import { SnapshotSource } from './snapshotSource'
import { initialState, reduce, type SyncAction, type SyncState } from './state'
import type { SyncStatus } from './status'
import { resolveStoreOptions, type ResolvedStoreOptions, type StoreOptions } from './storeOptions'
import { StoreOutputs } from './storeOutputs'
import { StoreStatus } from './storeStatus'
import { browserTabCoordinator } from './browserTabs'
import type { TabCoordinator } from './tabs'
import { TabSync } from './tabSync'
import type { EventChanges } from './view'
import type { WorkstreamStore } from './workstreamStore'

export type { WorkstreamStore }

/** How long dispose() waits for the last writes before it gives up the lead anyway. */
export const DISPOSE_FLUSH_MS = 2000

/**
 * Creates a store: it reads the cache, polls the server while observed, applies creates and
 * deletes at once and sends them in order, and reconciles both with what the server says.
 */
export function createWorkstreamStore(options: StoreOptions = {}): WorkstreamStore {
  return new Store(resolveStoreOptions(options, browserTabCoordinator))
}

/** The facade: holds the state and its one `#dispatch`, and wires the parts that act on it. */
class Store implements WorkstreamStore {
  readonly #o: ResolvedStoreOptions
  /** This instance's id: the origin of its mutations, and its name among tabs. */
  readonly #id: string
  #state: SyncState = initialState
  readonly #out: StoreOutputs
  readonly #status: StoreStatus
  readonly #state$ = new BehaviorSubject<SyncState>(initialState)
  readonly #callers = new CallerPromises()
  readonly #persistence: Persistence
  readonly #poller: Poller
  readonly #sender: OutboxSender
  readonly #tabs: TabCoordinator
  readonly #tabSync: TabSync
  readonly #fetcher: SnapshotFetcher
  readonly #leadership: Leadership
  readonly #intake: MutationIntake
  readonly #cleanups: Array<() => void> = []
  /** Errors reported while the constructor runs, which no subscriber can have heard yet. */
  #heldReports: WorkstreamSyncError[] | undefined = []
  /** Counts clear() calls, so that a takeover's read of storage from before one is not used. */
  #clears = 0
  /** Whether start() was asked for: only the leader acts on it. */
  #wantPolling = false
  #disposed = false
  #disposing: Promise<void> | undefined
  readonly ready: Promise<void>
  readonly events$: Observable<readonly WorkstreamEvent[]>
  readonly status$: Observable<SyncStatus>
  readonly changes$: Observable<EventChanges>
  readonly outbox$: Observable<readonly PendingMutation[]>
  readonly errors$: Observable<WorkstreamSyncError>

  constructor(options: ResolvedStoreOptions) {
    this.#o = options
    this.#out = new StoreOutputs(options.logger)
    this.#id = options.generateId()
    this.#tabs = options.tabs(options.namespace)
    this.#persistence = new Persistence({ storage: options.storage, namespace: options.namespace, onError: (e) => this.#storageFailed(e), timers: options.timers, ownsStorage: () => this.#tabs.isLeader })
    this.#tabSync = new TabSync(this.#tabs, {
      id: this.#id,
      state: () => this.#state,
      dispatch: (action) => this.#dispatch(action),
      settle: (settled) => {
        this.#callers.settle(settled)
        // The copy this follower wrote of its mutation goes too: a leader whose storage failed cannot delete it.
        this.#persistence.forgetHanded(settled.map((s) => s.mutationId))
      },
      retry: (id) => this.#dispatch({ type: 'mutationRetried', id }),
      discard: (id) => this.#dispatch({ type: 'mutationDiscarded', id }),
      storageFailed: () => this.#persistence.fellBack,
      hydrated: () => this.#leadership.hydrated,
      refresh: () => this.#fetcher.refresh(),
      syncError: () => this.#fetcher.lastError,
      reportFailure: (failure, record) => this.#out.reportMutationFailure(failure, record),
      showStatus: () => this.#status.show(),
      clear: (storage, id) => {
        this.#clearHere(storage, id).catch((error: unknown) => this.#report(toSyncError(error, 'storage', 'Clearing the cache for another tab failed (this tab goes on from memory; reloading it reads the storage again)')))
      },
      visible: options.visible,
      timers: options.timers,
    })
    this.#poller = createPoller({
      intervalMs: options.pollIntervalMs,
      fetch: () => this.#fetcher.fetch(),
      backoff: (failures) => pollBackoffDelay(failures, options.retry, options.pollIntervalMs, options.random),
      timers: options.timers,
      online: options.online,
      // The leader also polls for the followers: a hidden leader tab must not freeze a visible one.
      visible: this.#tabSync.pollVisible,
    })
    this.#sender = new OutboxSender({
      ...options,
      records: () => this.#state.records,
      dispatch: (action) => this.#dispatch(action),
      canSend: () => this.#leadership.hydrated && this.#tabs.isLeader && !this.#leadership.takingOver && options.online.get(),
      persisted: () => this.#persistence.flush(),
      // A snapshot in flight may have started before the grace period ended: it could not say "not there".
      requestSnapshot: () => this.#poller.fresh(),
    })
    // What the parts below share. Functions, since some of what they reach is made after them.
    const parts = {
      id: this.#id, options, tabs: this.#tabs, tabSync: this.#tabSync, poller: this.#poller,
      state: () => this.#state, dispatch: (action: SyncAction) => this.#dispatch(action), disposed: () => this.#disposed,
      ready: () => this.ready, clears: () => this.#clears, kick: () => this.#sender.kick(), emitStatus: () => this.#status.show(),
    }
    this.#fetcher = new SnapshotFetcher(new SnapshotSource(options.client, options.transferables), { ...parts, shown: (id) => this.#out.view.byId.get(id), report: (error) => this.#report(error), restate: () => this.#leadership.restate(), reconciles: () => this.#tabs.isLeader && !this.#leadership.takingOver })
    this.#leadership = new Leadership({ ...parts, persistence: this.#persistence, snapshots: this.#fetcher, wantPolling: () => this.#wantPolling, rawText: () => this.#fetcher.rawText })
    this.#intake = new MutationIntake({ ...parts, callers: this.#callers, state$: this.#state$, shows: (id) => this.#out.view.byId.has(id), queue: (record) => this.#leadership.queue(record) })
    this.#status = new StoreStatus({ ...parts, online: options.online, fetcher: this.#fetcher, leadership: this.#leadership })
    this.events$ = this.#startingOnSubscribe(this.#out.events)
    this.status$ = this.#status.asObservable()
    this.changes$ = this.#out.changes.asObservable()
    this.outbox$ = this.#out.outbox.asObservable()
    this.errors$ = this.#out.errors.asObservable()
    this.#tabSync.listen()
    this.#cleanups.push(
      options.online.subscribe((online) => {
        this.#status.show()
        if (online) this.#sender.kick()
      }),
      this.#tabs.onLeadership((isLeader) => {
        this.#leadership.onLeadership(isLeader).catch((error: unknown) => this.#report(toSyncError(error, 'storage', 'Taking over as the leader tab failed (its outbox is sent from this tab’s memory; reloading the tab reads the storage again)')))
      }),
      () => this.#tabSync.dispose(),
    )
    this.ready = this.#leadership.hydrate()
    // What failed while the store was being made (a storage that throws at once) is reported once
    // the caller could subscribe to errors$, right after createWorkstreamStore() returned.
    queueMicrotask(() => {
      const held = this.#heldReports ?? []
      this.#heldReports = undefined
      for (const error of held) this.#out.report(error)
    })
  }

  get events(): readonly WorkstreamEvent[] {
    return this.#out.view.events
  }

  get status(): SyncStatus {
    return this.#status.value
  }

  get outbox(): readonly PendingMutation[] {
    return this.#out.outbox.value
  }

  event$(id: string): Observable<WorkstreamEvent | undefined> {
    return this.events$.pipe(
      map(() => this.#out.view.byId.get(id)),
      distinctUntilChanged(),
    )
  }

  get(id: string): WorkstreamEvent | undefined {
    return this.#out.view.byId.get(id)
  }

  start(): void {
    if (this.#disposed) throw disposedError('start()')
    this.#wantPolling = true
    if (this.#tabs.isLeader) this.#poller.start()
    this.#status.show()
  }

  stop(): void {
    this.#wantPolling = false
    this.#poller.stop()
    this.#status.show()
  }

  refresh(): Promise<void> {
    // Like every promise the store returns, these never turn into unhandled rejections when ignored.
    if (this.#disposed) return handled(Promise.reject(disposedError('refresh()')))
    // A follower has the leader fetch, and takes the state that led to from it as usual.
    if (!this.#tabs.isLeader) return handled(this.#tabSync.refresh())
    return this.#fetcher.refresh()
  }

  create(seed: SeededWorkstreamEvent): { event: WorkstreamEvent; confirmed: Promise<WorkstreamEvent> } {
    return this.#intake.create(seed)
  }

  delete(id: string): Promise<void> {
    return this.#intake.delete(id)
  }

  flush(): Promise<void> {
    return this.#intake.flush()
  }

  retryMutation(mutationId: string): void {
    this.#intake.retryMutation(mutationId)
  }

  discardMutation(mutationId: string): void {
    this.#intake.discardMutation(mutationId)
  }

  clear(): Promise<void> {
    if (this.#disposed) return handled(Promise.reject(disposedError('clear()')))
    // The leader holds the outbox and sends it: a logout in any tab must reach it, and the
    // followers must abort what they handed to it that it has not taken yet.
    const id = this.#tabSync.clear()
    return this.#clearHere(true, id)
  }

  /** `id` names the clear, for the cache's meta record (see Persistence.clear). */
  #clearHere(storage = true, id?: string): Promise<void> {
    this.#leadership.cleared()
    this.#clears++
    this.#dispatch({ type: 'cleared' })
    if (!storage) this.#leadership.forgetHanded()
    this.#sender.abandon()
    this.#fetcher.cleared()
    // Mutations queued from now on (the next user's) are written after the wipe, in full.
    return storage ? this.#persistence.clear(id) : Promise.resolve()
  }

  dispose(): Promise<void> {
    // A second call waits for the same end: the lead is given up once the last writes landed.
    this.#disposing ??= this.#teardown()
    return this.#disposing
  }

  async #teardown(): Promise<void> {
    this.#disposed = true
    this.#poller.dispose()
    this.#fetcher.abort()
    this.#sender.dispose()
    for (const cleanup of this.#cleanups) cleanup()
    this.#callers.rejectAll(disposedError('A pending mutation'))
    this.#status.show()
    this.#state$.complete()
    this.#status.complete()
    this.#out.complete()
    try {
      // The lead goes once the last writes have landed (a leader writes the cache alone, and the
      // next one must read them), or after a while: a storage that never answers must not keep it.
      await within(this.#o.timers, DISPOSE_FLUSH_MS, this.ready.then(() => this.#persistence.flush()).catch(() => {}), () => undefined)
    } finally {
      this.#tabs.close()
      this.#persistence.close()
    }
  }

  #startingOnSubscribe<T>(source: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      if (!this.#disposed && !this.#wantPolling) this.start()
      return source.subscribe(subscriber)
    })
  }

  /** Every state change goes through here: reduce, then emit what changed, settle, persist, broadcast. */
  #dispatch(action: SyncAction): void {
    if (this.#disposed) return
    const previous = this.#state
    const next = reduce(previous, action)
    if (next === previous) return
    this.#state = next
    this.#out.showState(previous, next)
    if (action.type === 'mutationFailed') this.#out.reportMutationFailure(action, previous.records.find((r) => r.id === action.id))
    const landing = this.#leadership.publish(previous, next, action)
    if (landing) void landing.then(() => this.#callers.settle(next.settled))
    else this.#callers.settle(next.settled)
    this.#status.show()
    this.#state$.next(next)
    if (next.records !== previous.records) this.#sender.kick()
  }

  #report(error: WorkstreamSyncError): void {
    if (this.#heldReports) this.#heldReports.push(error)
    else this.#out.report(error)
  }

  #storageFailed(error: WorkstreamSyncError): void {
    this.#report(error)
    // The other tabs must know that this outbox is now in memory only, should they take over.
    if (this.#persistence.fellBack) this.#leadership.restate()
  }
}
