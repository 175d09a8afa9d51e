import { BehaviorSubject, Observable, distinctUntilChanged, filter, firstValueFrom, map } from 'rxjs'
import { CallerPromises, handled } from './callerPromises'
import { eventIdProblem } from './client'
import { disposedError, toSyncError, WorkstreamSyncError } from './errors'
import { within } from './environment'
import { eventFromSeed } from './eventFromSeed'
import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'
import { newCreateRecord, newDeleteRecord, type MutationRecord, type PendingMutation } from './mutation'
import { hasWork, OutboxSender } from './outbox'
import { Persistence, type PersistedData } from './persistence'
import { createPoller, type Poller } from './poller'
import { pollBackoffDelay } from './retry'
import { SnapshotSource, type SnapshotResult } from './snapshotSource'
import { initialState, reduce, type SyncAction, type SyncState } from './state'
import { deriveStatus, sameStatus, type SyncStatus } from './status'
import { resolveStoreOptions, type ResolvedStoreOptions, type StoreOptions } from './storeOptions'
import { StoreOutputs } from './storeOutputs'
import { browserTabCoordinator } from './browserTabs'
import type { TabCoordinator } from './tabs'
import { TabSync } from './tabSync'
import { isValidId, parseSeededWorkstreamEvent } from './validate'
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

class Store implements WorkstreamStore {
  readonly #o: ResolvedStoreOptions
  /** This instance's id: the origin of its mutations, and its name among tabs. */
  readonly #id: string
  #state: SyncState = initialState
  readonly #out: StoreOutputs
  readonly #status: BehaviorSubject<SyncStatus>
  readonly #state$ = new BehaviorSubject<SyncState>(initialState)
  readonly #callers = new CallerPromises()
  readonly #persistence: Persistence
  readonly #snapshots: SnapshotSource
  readonly #poller: Poller
  readonly #sender: OutboxSender
  readonly #tabs: TabCoordinator
  readonly #tabSync: TabSync
  readonly #cleanups: Array<() => void> = []
  /** Aborts the snapshot request on the wire when the store is disposed. */
  readonly #snapshotRequests = new AbortController()
  #hydrated = false
  /** The mutations this tab wrote to storage itself as it queued them (as a follower, or taking over). */
  readonly #handed = new Set<string>()
  /** Hydration has begun to read the cache: a tab elected after that must read storage again. */
  #cacheRead = false
  /** Errors reported while the constructor runs, which no subscriber can have heard yet. */
  #heldReports: WorkstreamSyncError[] | undefined = []
  /**
   * Leadership was granted and storage is being read: until then this tab's copy of the outbox
   * may be stale, so it neither sends, nor writes, nor cancels anything.
   */
  #takingOver = false
  /** Counts clear() calls, so that a takeover's read of storage from before one is not used. */
  #clears = 0
  /** The clears before the fetch in flight started (its answer is dropped when a clear came since). */
  #fetchedBefore = 0
  /** The items the last snapshot withheld, with the seq of the first snapshot that did. */
  #withheld: ReadonlyMap<string, number> = new Map()
  /** The quarantine errors the last snapshot reported, by event id and message. */
  #quarantined: ReadonlySet<string> = new Set()
  /** clear() was called before the cache finished loading. */
  #clearedWhileLoading = false
  /** Whether start() was asked for: only the leader acts on it. */
  #wantPolling = false
  #fetching = false
  #lastError: WorkstreamSyncError | undefined
  #disposed = false
  #disposing: Promise<void> | undefined
  /** The received JSON of events parsed by the snapshot being applied, for the cache. */
  #rawText: ((id: string) => string | undefined) | undefined
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
    this.#snapshots = new SnapshotSource(options.client, options.transferables)
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
      hydrated: () => this.#hydrated,
      refresh: () => this.#refreshHere(),
      syncError: () => this.#lastError,
      reportFailure: (failure, record) => this.#out.reportMutationFailure(failure, record),
      showStatus: () => this.#emitStatus(),
      clear: (storage, id) => {
        this.#clearHere(storage, id).catch((error: unknown) => this.#report(toSyncError(error, 'storage', 'Clearing the cache for another tab failed (this tab goes on from memory; reloading it reads the storage again)')))
      },
      visible: options.visible,
      timers: options.timers,
    })
    this.#poller = createPoller({
      intervalMs: options.pollIntervalMs,
      fetch: () => this.#fetchSnapshot(),
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
      canSend: () => this.#hydrated && this.#tabs.isLeader && !this.#takingOver && options.online.get(),
      persisted: () => this.#persistence.flush(),
      // A snapshot in flight may have started before the grace period ended: it could not say "not there".
      requestSnapshot: () => this.#poller.fresh(),
    })
    this.#status = new BehaviorSubject(this.#computeStatus())
    this.events$ = this.#startingOnSubscribe(this.#out.events)
    this.status$ = this.#status.asObservable()
    this.changes$ = this.#out.changes.asObservable()
    this.outbox$ = this.#out.outbox.asObservable()
    this.errors$ = this.#out.errors.asObservable()
    this.#cleanups.push(
      options.online.subscribe((online) => {
        this.#emitStatus()
        if (online) this.#sender.kick()
      }),
      this.#tabs.onLeadership((isLeader) => {
        this.#onLeadership(isLeader).catch((error: unknown) => this.#report(toSyncError(error, 'storage', 'Taking over as the leader tab failed (its outbox is sent from this tab’s memory; reloading the tab reads the storage again)')))
      }),
      () => this.#tabSync.dispose(),
    )
    this.ready = this.#hydrate()
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
    this.#emitStatus()
  }

  stop(): void {
    this.#wantPolling = false
    this.#poller.stop()
    this.#emitStatus()
  }

  refresh(): Promise<void> {
    // Like every promise the store returns, these never turn into unhandled rejections when ignored.
    if (this.#disposed) return handled(Promise.reject(disposedError('refresh()')))
    // A follower has the leader fetch, and takes the state that led to from it as usual.
    if (!this.#tabs.isLeader) return handled(this.#tabSync.refresh())
    return this.#refreshHere()
  }

  /**
   * Joins the fetch in flight, unless a clear() came after it started, and fetches again when a
   * clear() comes during it: the answer to a request from before a clear is not applied. A tab
   * that no longer leads stops there: its state comes from the leader.
   */
  async #refreshHere(): Promise<void> {
    await (this.#fetching && this.#fetchedBefore !== this.#clears ? this.#poller.fresh() : this.#poller.refresh())
    if (this.#fetchedBefore !== this.#clears && !this.#disposed && this.#tabs.isLeader) return this.#refreshHere()
  }

  create(seed: SeededWorkstreamEvent): { event: WorkstreamEvent; confirmed: Promise<WorkstreamEvent> } {
    if (this.#disposed) throw disposedError('create()')
    const valid = plainSeed(seed)
    const eventId = valid.internal_identifier ?? this.#o.generateId()
    // An event whose id no URL path can address could never be deleted.
    const problem = eventIdProblem(eventId)
    if (problem !== undefined) throw new WorkstreamSyncError('invalid-input', `create(): internal_identifier: ${problem}`, { eventId })
    if (this.#out.view.byId.has(eventId) || this.#state.records.some((r) => r.eventId === eventId)) {
      throw new WorkstreamSyncError('invalid-input', `An event with id ${JSON.stringify(eventId)} already exists; internal_identifier must be unique.`, { eventId })
    }
    const now = this.#o.now()
    const event = eventFromSeed(valid, eventId, now)
    const record = newCreateRecord({ id: this.#o.generateId(), eventId, seed: valid, optimistic: event, now, seq: this.#state.requestedSeq, origin: this.#id, generatedId: valid.internal_identifier === undefined })
    const confirmed = this.#callers.defer(record.id) as Promise<WorkstreamEvent>
    this.#queue(record)
    return { event, confirmed }
  }

  delete(id: string): Promise<void> {
    if (this.#disposed) return handled(Promise.reject(disposedError('delete()')))
    // The client's rule: an id that no URL path can address is refused now, not queued.
    const problem = eventIdProblem(id)
    if (problem !== undefined) {
      return handled(Promise.reject(new WorkstreamSyncError('invalid-input', `delete(): ${problem}`, isValidId(id) ? { eventId: id } : {})))
    }
    // A second delete of the same event is the same mutation.
    const existing = this.#state.records.find((r) => r.kind === 'delete' && r.eventId === id && r.state !== 'confirmed')
    const pending = existing && this.#callers.get(existing.id)
    if (pending) return pending as Promise<void>
    const record = newDeleteRecord({ id: this.#o.generateId(), eventId: id, now: this.#o.now(), seq: this.#state.requestedSeq, origin: this.#id })
    const promise = this.#callers.defer(record.id) as Promise<void>
    this.#queue(record)
    return promise
  }

  flush(): Promise<void> {
    if (this.#disposed) return handled(Promise.reject(disposedError('flush()')))
    this.#sender.kick()
    // Until the cache is read, the outbox it holds is unknown.
    const drained = this.ready.then(() => firstValueFrom(this.#state$.pipe(filter((s) => !hasWork(s.records)))))
    return handled(drained.then(() => undefined, () => Promise.reject(disposedError('flush()'))))
  }

  retryMutation(mutationId: string): void {
    this.#deadLetter(mutationId, 'retryMutation')
    if (this.#tabs.isLeader) this.#dispatch({ type: 'mutationRetried', id: mutationId })
    else this.#tabSync.command('retry', mutationId)
  }

  discardMutation(mutationId: string): void {
    this.#deadLetter(mutationId, 'discardMutation')
    if (this.#tabs.isLeader) this.#dispatch({ type: 'mutationDiscarded', id: mutationId })
    else this.#tabSync.command('discard', mutationId)
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
    // A cache still loading was read before the clear: what it holds must not come back.
    if (!this.#hydrated) this.#clearedWhileLoading = true
    this.#clears++
    this.#dispatch({ type: 'cleared' })
    // Another tab's logout: the copies this tab wrote of its mutations, aborted with the rest, go too
    // (one may have landed after that tab's wipe, and the next session would send it).
    if (!storage && this.#handed.size) {
      this.#persistence.forgetHanded([...this.#handed])
      this.#handed.clear()
    }
    this.#sender.abandon()
    this.#snapshots.reset()
    this.#quarantined = new Set()
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
    this.#snapshotRequests.abort()
    this.#sender.dispose()
    for (const cleanup of this.#cleanups) cleanup()
    this.#callers.rejectAll(disposedError('A pending mutation'))
    this.#emitStatus()
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

  #queue(record: MutationRecord): void {
    if (this.#tabs.isLeader && !this.#takingOver) {
      this.#dispatch({ type: 'mutationQueued', record })
      // Nothing is saved until the cache has loaded, which can take seconds: the mutation is written
      // at once, as a follower's is, so that it survives the tab. Hydration's save supersedes it.
      if (!this.#hydrated && this.#state.records.some((r) => r.id === record.id)) this.#hand(record)
      return
    }
    // A follower shows the mutation at once, makes it durable, and hands it to the leader. A tab
    // taking over keeps it the same way, to be judged (a delete cancelling a create) once it has
    // read storage.
    this.#dispatch({ type: 'mutationQueued', record, cancelUnsent: false })
    this.#hand(record)
    if (!this.#tabs.isLeader) this.#tabSync.forward(record)
  }

  #hand(record: MutationRecord): void {
    this.#persistence.putRecord(record)
    this.#handed.add(record.id)
  }

  async #onLeadership(isLeader: boolean): Promise<void> {
    if (this.#disposed) return
    if (isLeader && !this.#cacheRead) {
      // Elected before the cache is read: hydration reads it as the leader, as a store alone does.
      this.#o.logger.info('this tab is now the leader')
      if (this.#wantPolling) this.#poller.start()
      this.#emitStatus()
      return
    }
    this.#takingOver = isLeader
    try {
      await this.#changeLeadership(isLeader)
    } finally {
      if (isLeader) this.#takingOver = false
    }
    if (isLeader && this.#tabs.isLeader && !this.#disposed) this.#sender.kick()
  }

  async #changeLeadership(isLeader: boolean): Promise<void> {
    if (!isLeader) {
      this.#poller.stop()
      // What the decoder compares with (and a seed from the cache) belongs to the time this tab
      // led; from now on its snapshot comes from the leader, so they would be stale next time.
      this.#snapshots.reset()
      this.#emitStatus()
      return
    }
    await this.ready
    // The storage holds the old leader's outbox as it last saved it, and mutations other tabs
    // wrote; it is also what the delta writes must now be computed against.
    const clears = this.#clears
    let stored: PersistedData | undefined = await this.#persistence.load(true)
    // A clear() that no leader confirmed: the old leader's last writes may have landed after its
    // wipe, unless its meta record says it carried the clear out before it wrote what was read
    // (then that is the next user's). Otherwise storage is wiped again, and what was read goes;
    // what this tab queued since, it holds and saves.
    if (this.#tabSync.clearing && !this.#tabSync.carriedOut(stored.clearedBy)) {
      stored = undefined
      if (!this.#disposed) await this.#persistence.clear(this.#tabSync.lastClear)
    }
    if (this.#disposed) return
    this.#persistence.dropCopiesLeftBehind()
    if (!this.#tabs.isLeader) return
    // A clear() during the read wiped what it read.
    const read = clears === this.#clears ? stored : undefined
    this.#takingOver = false
    this.#tabSync.resetLeader()
    // This tab's copy of the outbox wins where storage cannot be believed: the old leader's failed,
    // this tab's failed, or it held a cache this version cannot read (a tab of another version led).
    const trustCopies = this.#tabSync.leaderStorageFailed || this.#persistence.fellBack || read?.discarded === true
    this.#dispatch({ type: 'promoted', records: read?.records ?? [], ...(read ? { naming: read } : {}), origin: this.#id, trustCopies, ended: this.#tabSync.endedIds, now: this.#o.now(), graceMs: this.#o.graceMs })
    this.#persistence.save(this.#state)
    this.#tabSync.lead()
    this.#o.logger.info('this tab is now the leader')
    if (this.#wantPolling) this.#poller.start()
    this.#emitStatus()
  }

  #deadLetter(mutationId: string, method: string): void {
    if (this.#disposed) throw disposedError(`${method}()`)
    const record = this.#state.records.find((r) => r.id === mutationId)
    if (!record || record.state !== 'dead') {
      throw new WorkstreamSyncError('invalid-input', `${method}(${JSON.stringify(mutationId)}): no dead letter has that id. Dead letters are the outbox$ entries in state 'dead'.`, { mutationId })
    }
  }

  #startingOnSubscribe<T>(source: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      if (!this.#disposed && !this.#wantPolling) this.start()
      return source.subscribe(subscriber)
    })
  }

  async #hydrate(): Promise<void> {
    // A tab elected first reads storage once, as the leader, instead of again to take over.
    if (this.#tabs.elected) await this.#tabs.elected
    this.#cacheRead = true
    const loaded = await this.#persistence.load()
    const data: PersistedData = this.#clearedWhileLoading ? { snapshot: undefined, records: [], lastSyncedAt: undefined } : loaded
    // Disposed before the cache loaded: the mutations queued meanwhile were written as they were
    // queued (#queue), and dispose() promised they stay. Written again now, a follower's could land
    // after the leader had carried them out and deleted them.
    if (this.#disposed) return
    // Going on after a read that failed, it sends those mutations from memory: their copies in the storage given up go.
    this.#persistence.dropCopiesLeftBehind()
    // This tab's own mutations are in its state, or have ended (a delete cancelled a create): the
    // copy that the cache read of one may be from before that.
    const records = data.records.filter((r) => !this.#handed.has(r.id))
    this.#dispatch({ type: 'hydrated', snapshot: data.snapshot, records, now: this.#o.now(), graceMs: this.#o.graceMs, ...(data.lastSyncedAt !== undefined ? { lastSyncedAt: data.lastSyncedAt } : {}), naming: data })
    if (this.#tabs.isLeader && this.#state.source === 'cache' && data.texts) this.#snapshots.seed(this.#state.server, data.texts)
    this.#hydrated = true
    this.#o.logger.debug(`hydrated ${data.snapshot?.events.length ?? 0} events and ${data.records.length} mutations from ${this.#o.storage.kind} storage`)
    if (!this.#tabs.isLeader) {
      this.#tabSync.hello()
    } else if (!this.#takingOver) {
      this.#persistence.save(this.#state)
      this.#tabSync.lead()
    }
    // A tab that took the lead while it read its cache saves once its takeover has read storage
    // again: what it read before may be outdated, and written back it would bring ended mutations back.
    this.#emitStatus()
    this.#sender.kick()
  }

  async #fetchSnapshot(): Promise<void> {
    if (this.#disposed) throw disposedError('A snapshot')
    const seq = this.#state.requestedSeq + 1
    const requestedAt = this.#o.now()
    this.#dispatch({ type: 'snapshotRequested', seq })
    this.#fetching = true
    this.#fetchedBefore = this.#clears
    this.#emitStatus()
    try {
      // The last good version of an event is the server's, else the one shown (a create's own, or
      // its confirmed answer): an unreadable item keeps it instead of leaving the view (rule 7).
      const result = await this.#snapshots.fetch((id) => this.#state.server.byId.get(id) ?? this.#out.view.byId.get(id), this.ready, this.#snapshotRequests.signal)
      // Rule 8: the cache is read before the first network result is applied.
      await this.ready
      if (this.#disposed) throw disposedError('A snapshot')
      this.#reportQuarantined(result.quarantined)
      this.#rawText = result.rawText
      this.#lastError = undefined
      this.#dispatch({ type: 'snapshotReceived', seq, requestedAt, receivedAt: this.#o.now(), snapshot: result.snapshot, withheld: this.#withheldIn(result, seq), reconcile: this.#tabs.isLeader })
      this.#o.logger.debug(`snapshot #${seq} applied (${result.path}, ${result.snapshot.events.length} events)`)
    } catch (error) {
      if (this.#disposed) throw disposedError('A snapshot')
      const failure = error instanceof WorkstreamSyncError ? error : toSyncError(error, 'network', 'A snapshot failed')
      this.#lastError = failure
      this.#report(failure)
      throw failure
    } finally {
      this.#rawText = undefined
      this.#fetching = false
      // The followers show the leader's snapshot error too: they hear when it comes and goes.
      this.#restate()
      this.#emitStatus()
    }
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
    this.#callers.settle(next.settled)
    if (this.#tabs.isLeader && !this.#takingOver) {
      this.#tabSync.broadcast(previous, next, action)
      if (this.#hydrated) {
        this.#persistence.save(next, this.#rawText)
        if (next.settled.length) this.#persistence.forget(next.settled.map((s) => s.mutationId))
      } else if (next.settled.length) {
        // Before the cache has loaded, what is stored of this tab's mutations is the copy #queue
        // wrote of each: that of one that ended (a delete cancelled its create) goes.
        const ended = next.settled.map((s) => s.mutationId).filter((id) => this.#handed.has(id))
        if (ended.length) this.#persistence.takeBack(ended)
      }
    }
    this.#emitStatus()
    this.#state$.next(next)
    if (next.records !== previous.records) this.#sender.kick()
  }

  #report(error: WorkstreamSyncError): void {
    if (this.#heldReports) this.#heldReports.push(error)
    else this.#out.report(error)
  }

  /** The items `result` withheld (unreadable, no good version), each with the seq of the first snapshot that did. */
  /**
   * Reports the events a snapshot quarantined, but not again those the last one did (the same
   * problem, wherever the event now stands in the list): an unchanged poll emits nothing.
   */
  #reportQuarantined(quarantined: readonly WorkstreamSyncError[]): void {
    const before = this.#quarantined
    const key = (error: WorkstreamSyncError): string => `${error.eventId}\n${error.message.replace(/^iterable\[\d+\]/, '')}`
    this.#quarantined = new Set(quarantined.map(key))
    for (const error of quarantined) if (!before.has(key(error))) this.#report(error)
  }

  #withheldIn(result: SnapshotResult, seq: number): ReadonlyMap<string, number> {
    const withheld = new Map<string, number>()
    for (const error of result.quarantined) {
      if (error.eventId === undefined || result.snapshot.byId.has(error.eventId)) continue
      withheld.set(error.eventId, this.#withheld.get(error.eventId) ?? seq)
    }
    this.#withheld = withheld
    return withheld
  }

  #storageFailed(error: WorkstreamSyncError): void {
    this.#report(error)
    // The other tabs must know that this outbox is now in memory only, should they take over.
    if (this.#persistence.fellBack) this.#restate()
  }

  /** A leader tells the other tabs what it says beside its state (storage failed, a snapshot error) when that changed. */
  #restate(): void {
    if (this.#tabs.isLeader && !this.#takingOver) this.#tabSync.restate()
  }

  #computeStatus(): SyncStatus {
    return deriveStatus({
      disposed: this.#disposed,
      hydrated: this.#hydrated,
      online: this.#o.online.get(),
      fetching: this.#fetching,
      polling: this.#poller.started,
      // A follower's snapshots are the leader's: so are their errors.
      lastError: this.#tabs.isLeader ? this.#lastError : this.#tabSync.leaderSyncError,
      fromNetwork: this.#state.source === 'network',
      lastSyncedAt: this.#state.lastSyncedAt,
      isLeader: this.#tabs.isLeader,
      records: this.#state.records,
    })
  }

  #emitStatus(): void {
    const status = this.#computeStatus()
    if (!this.#status.closed && !sameStatus(status, this.#status.value)) this.#status.next(status)
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
