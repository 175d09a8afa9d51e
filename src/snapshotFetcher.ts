import { disposedError, toSyncError, WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import type { Poller } from './poller'
import type { SnapshotResult, SnapshotSource } from './snapshotSource'
import type { SyncAction, SyncState } from './state'
import type { ResolvedStoreOptions } from './storeOptions'
import type { TabCoordinator } from './tabs'
import type { ServerSnapshot } from './view'

export interface SnapshotFetcherHost {
  readonly options: Pick<ResolvedStoreOptions, 'now' | 'logger'>
  readonly tabs: TabCoordinator
  /** The poller that runs fetch(). */
  readonly poller: Poller
  state(): SyncState
  /** The event as the view shows it now, if any. */
  shown(id: string): WorkstreamEvent | undefined
  /** The store's `ready`: settles once the cache is read. */
  ready(): Promise<void>
  disposed(): boolean
  /** How many clear() calls there were. */
  clears(): number
  /**
   * Whether this tab's snapshots settle the outbox: it leads and has taken over. While it takes
   * over, its records are copies of the old leader's, whose seqs count that tab's snapshots.
   */
  reconciles(): boolean
  dispatch(action: SyncAction): void
  report(error: WorkstreamSyncError): void
  /** A leader tells the other tabs what it says beside its state, when that changed. */
  restate(): void
  emitStatus(): void
}

/**
 * The store's snapshot path, which the poller runs: fetches a snapshot, applies it once the cache
 * is read, reports the events it quarantined, and keeps its error for the status until one succeeds.
 */
export class SnapshotFetcher {
  readonly #snapshots: SnapshotSource
  readonly #host: SnapshotFetcherHost
  /** Aborts the snapshot request on the wire when the store is disposed. */
  readonly #snapshotRequests = new AbortController()
  /** The clears before the fetch in flight started (its answer is dropped when a clear came since). */
  #fetchedBefore = 0
  /** The items the last snapshot withheld, with the seq of the first snapshot that did. */
  #withheld: ReadonlyMap<string, number> = new Map()
  /** The quarantine errors the last snapshot reported, by event id and message. */
  #quarantined: ReadonlySet<string> = new Set()
  #fetching = false
  #lastError: WorkstreamSyncError | undefined
  /** The received JSON of events parsed by the snapshot being applied, for the cache. */
  #rawText: ((id: string) => string | undefined) | undefined

  constructor(snapshots: SnapshotSource, host: SnapshotFetcherHost) {
    this.#snapshots = snapshots
    this.#host = host
  }

  get fetching(): boolean {
    return this.#fetching
  }

  /** The last snapshot error, until a snapshot succeeds. */
  get lastError(): WorkstreamSyncError | undefined {
    return this.#lastError
  }

  /** See the field: set only while a snapshot is being applied. */
  get rawText(): ((id: string) => string | undefined) | undefined {
    return this.#rawText
  }

  /**
   * Joins the fetch in flight, unless a clear() came after it started, and fetches again when a
   * clear() comes during it: the answer to a request from before a clear is not applied. A tab
   * that no longer leads stops there: its state comes from the leader.
   */
  async refresh(): Promise<void> {
    const host = this.#host
    await (this.#fetching && this.#fetchedBefore !== host.clears() ? host.poller.fresh() : host.poller.refresh())
    if (this.#fetchedBefore !== host.clears() && !host.disposed() && host.tabs.isLeader) return this.refresh()
  }

  /** Fetches and applies one snapshot; rejects with its error. The poller runs it, one at a time. */
  async fetch(): Promise<void> {
    const host = this.#host
    if (host.disposed()) throw disposedError('A snapshot')
    const seq = host.state().requestedSeq + 1
    const requestedAt = host.options.now()
    host.dispatch({ type: 'snapshotRequested', seq })
    this.#fetching = true
    this.#fetchedBefore = host.clears()
    host.emitStatus()
    try {
      // The last good version of an event is the server's, else the one shown (a create's own, or
      // its confirmed answer): an unreadable item keeps it instead of leaving the view (rule 7).
      const result = await this.#snapshots.fetch((id) => host.state().server.byId.get(id) ?? host.shown(id), host.ready(), this.#snapshotRequests.signal)
      // Rule 8: the cache is read before the first network result is applied.
      await host.ready()
      if (host.disposed()) throw disposedError('A snapshot')
      this.#reportQuarantined(result.quarantined)
      this.#rawText = result.rawText
      this.#lastError = undefined
      host.dispatch({ type: 'snapshotReceived', seq, requestedAt, receivedAt: host.options.now(), snapshot: result.snapshot, withheld: this.#withheldIn(result, seq), reconcile: host.reconciles() })
      host.options.logger.debug(`snapshot #${seq} applied (${result.path}, ${result.snapshot.events.length} events)`)
    } catch (error) {
      if (host.disposed()) throw disposedError('A snapshot')
      const failure = error instanceof WorkstreamSyncError ? error : toSyncError(error, 'network', 'A snapshot failed')
      this.#lastError = failure
      host.report(failure)
      throw failure
    } finally {
      this.#rawText = undefined
      this.#fetching = false
      // The followers show the leader's snapshot error too: they hear when it comes and goes.
      host.restate()
      host.emitStatus()
    }
  }

  /** Offers the snapshot read from the cache, with the JSON text of each event: see SnapshotSource.seed. */
  seed(snapshot: ServerSnapshot, texts: readonly string[]): void {
    this.#snapshots.seed(snapshot, texts)
  }

  /** Forgets the last body, so that the next snapshot is applied in full: see SnapshotSource.reset. */
  reset(): void {
    this.#snapshots.reset()
  }

  /** After clear(): the next snapshot is applied in full, and what it quarantines is reported again. */
  cleared(): void {
    this.#snapshots.reset()
    this.#quarantined = new Set()
  }

  /** Aborts the request on the wire (the store is disposed). */
  abort(): void {
    this.#snapshotRequests.abort()
  }

  /**
   * Reports the events a snapshot quarantined, but not again those the last one did (the same
   * problem, wherever the event now stands in the list): an unchanged poll emits nothing.
   */
  #reportQuarantined(quarantined: readonly WorkstreamSyncError[]): void {
    const before = this.#quarantined
    const key = (error: WorkstreamSyncError): string => `${error.eventId}\n${error.message.replace(/^iterable\[\d+\]/, '')}`
    this.#quarantined = new Set(quarantined.map(key))
    for (const error of quarantined) if (!before.has(key(error))) this.#host.report(error)
  }

  /** The items `result` withheld (unreadable, no good version), each with the seq of the first applied snapshot that did. */
  #withheldIn(result: SnapshotResult, seq: number): ReadonlyMap<string, number> {
    // A snapshot the state drops (a clear() or a later snapshot came first) is not applied: what it
    // withheld is not noted either, or a create queued since would take the item for older than itself.
    if (seq <= this.#host.state().appliedSeq) return this.#withheld
    const withheld = new Map<string, number>()
    for (const error of result.quarantined) {
      if (error.eventId === undefined || result.snapshot.byId.has(error.eventId)) continue
      withheld.set(error.eventId, this.#withheld.get(error.eventId) ?? seq)
    }
    this.#withheld = withheld
    return withheld
  }
}
