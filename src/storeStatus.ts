import { BehaviorSubject, type Observable } from 'rxjs'
import type { SignalSource } from './environment'
import type { Leadership } from './leadership'
import type { Poller } from './poller'
import type { SnapshotFetcher } from './snapshotFetcher'
import type { SyncState } from './state'
import { deriveStatus, sameStatus, type SyncStatus } from './status'
import type { TabCoordinator } from './tabs'
import type { TabSync } from './tabSync'

/** The parts of a store that its status follows from. */
export interface StoreStatusParts {
  readonly online: SignalSource
  readonly tabs: TabCoordinator
  readonly tabSync: Pick<TabSync, 'leaderSyncError'>
  readonly poller: Pick<Poller, 'started'>
  readonly fetcher: Pick<SnapshotFetcher, 'fetching' | 'lastError'>
  readonly leadership: Pick<Leadership, 'hydrated'>
  state(): SyncState
  disposed(): boolean
}

/** The subject behind a store's `status$`: the status its parts say, emitted only when it changed. */
export class StoreStatus {
  readonly #parts: StoreStatusParts
  readonly #status: BehaviorSubject<SyncStatus>

  constructor(parts: StoreStatusParts) {
    this.#parts = parts
    this.#status = new BehaviorSubject(this.#compute())
  }

  get value(): SyncStatus {
    return this.#status.value
  }

  asObservable(): Observable<SyncStatus> {
    return this.#status.asObservable()
  }

  /** Emits the status if it changed since the last time. */
  show(): void {
    const status = this.#compute()
    if (!this.#status.closed && !sameStatus(status, this.#status.value)) this.#status.next(status)
  }

  complete(): void {
    this.#status.complete()
  }

  #compute(): SyncStatus {
    const parts = this.#parts
    return deriveStatus({
      disposed: parts.disposed(),
      hydrated: parts.leadership.hydrated,
      online: parts.online.get(),
      fetching: parts.fetcher.fetching,
      polling: parts.poller.started,
      // A follower's snapshots are the leader's: so are their errors.
      lastError: parts.tabs.isLeader ? parts.fetcher.lastError : parts.tabSync.leaderSyncError,
      fromNetwork: parts.state().source === 'network',
      lastSyncedAt: parts.state().lastSyncedAt,
      isLeader: parts.tabs.isLeader,
      records: parts.state().records,
    })
  }
}
