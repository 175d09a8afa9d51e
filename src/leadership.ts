import { within } from './environment'
import type { MutationRecord, Settlement } from './mutation'
import type { Persistence, PersistedData } from './persistence'
import type { Poller } from './poller'
import type { SnapshotFetcher } from './snapshotFetcher'
import type { SyncAction, SyncState } from './state'
import type { ResolvedStoreOptions } from './storeOptions'
import type { TabCoordinator } from './tabs'
import type { TabSync } from './tabSync'

/** How long the settlements of a cancel wait for its write to land, at most: a storage that never answers must not hold them (and the other tabs' states) for good. */
export const LANDING_WAIT_MS = 2000

export interface LeadershipHost {
  /** This store's id: the origin of its mutations. */
  readonly id: string
  readonly options: Pick<ResolvedStoreOptions, 'logger' | 'now' | 'graceMs' | 'storage' | 'timers'>
  readonly tabs: TabCoordinator
  readonly tabSync: Pick<TabSync, 'hello' | 'lead' | 'forward' | 'broadcast' | 'restate' | 'resetLeader' | 'clearing' | 'carriedOut' | 'lastClear' | 'leaderStorageFailed' | 'endedIds' | 'clearedUnheard'>
  readonly persistence: Pick<Persistence, 'load' | 'save' | 'ended' | 'forget' | 'takeBack' | 'putRecord' | 'forgetHanded' | 'dropCopiesLeftBehind' | 'clear' | 'fellBack' | 'clearedBy' | 'flush'>
  /** Seeded with the cache's snapshot, and reset when this tab stops leading. */
  readonly snapshots: Pick<SnapshotFetcher, 'seed' | 'reset'>
  readonly poller: Poller
  /** The store's `ready`: settles once the cache is read. */
  ready(): Promise<void>
  state(): SyncState
  dispatch(action: SyncAction): void
  disposed(): boolean
  /** Whether start() was asked for: only the leader acts on it. */
  wantPolling(): boolean
  /** How many clear() calls there were. */
  clears(): number
  /** The received JSON of events parsed by the snapshot being applied, for the cache. */
  rawText(): ((id: string) => string | undefined) | undefined
  /** Has the outbox sender look for work. */
  kick(): void
  emitStatus(): void
}

/**
 * This tab's part as the leader or a follower. It reads the cache at start (as the leader, if
 * elected first), and storage again when it takes the lead later; until then it queues its
 * mutations as a follower does, writing each to storage itself. Only a leader that has read
 * storage sends, writes, and tells the other tabs of each change.
 */
export class Leadership {
  readonly #host: LeadershipHost
  #hydrated = false
  /** The mutations this tab wrote to storage itself as it queued them (as a follower, or taking over). */
  readonly #handed = new Set<string>()
  /** Hydration has begun to read the cache: a tab elected after that must read storage again. */
  #cacheRead = false
  /**
   * Leadership was granted and storage is being read: until then this tab's copy of the outbox
   * may be stale, so it neither sends, nor writes, nor cancels anything.
   */
  #takingOver = false
  /** clear() was called before the cache finished loading. */
  #clearedWhileLoading = false
  /** This tab's mutations queued while its takeover reads storage, which the read may not see. */
  #queuedDuringRead: Set<string> | undefined

  constructor(host: LeadershipHost) {
    this.#host = host
  }

  /** Whether the cache has been read (or found unusable). */
  get hydrated(): boolean {
    return this.#hydrated
  }

  get takingOver(): boolean {
    return this.#takingOver
  }

  /** Reads the cache: the store's `ready`. */
  async hydrate(): Promise<void> {
    const host = this.#host
    const { tabs, persistence, options } = host
    // A tab elected first reads storage once, as the leader, instead of again to take over.
    if (tabs.elected) await tabs.elected
    this.#cacheRead = true
    const loaded = await persistence.load()
    const data: PersistedData = this.#clearedWhileLoading ? { snapshot: undefined, records: [], lastSyncedAt: undefined } : loaded
    // Disposed before the cache loaded: the mutations queued meanwhile were written as they were
    // queued (queue()), and dispose() promised they stay. Written again now, a follower's could land
    // after the leader had carried them out and deleted them.
    if (host.disposed()) return
    // Going on after a read that failed, it sends those mutations from memory: their copies in the storage given up go.
    persistence.dropCopiesLeftBehind()
    // This tab's own mutations are in its state, or have ended (a delete cancelled a create): the
    // copy that the cache read of one may be from before that.
    const records = data.records.filter((r) => !this.#handed.has(r.id))
    host.dispatch({ type: 'hydrated', snapshot: data.snapshot, records, now: options.now(), graceMs: options.graceMs, ...(data.lastSyncedAt !== undefined ? { lastSyncedAt: data.lastSyncedAt } : {}), naming: data })
    if (tabs.isLeader && host.state().source === 'cache' && data.texts) host.snapshots.seed(host.state().server, data.texts)
    this.#hydrated = true
    options.logger.debug(`hydrated ${data.snapshot?.events.length ?? 0} events and ${data.records.length} mutations from ${options.storage.kind} storage`)
    if (!tabs.isLeader) {
      host.tabSync.hello()
    } else if (!this.#takingOver) {
      persistence.save(host.state())
      host.tabSync.lead()
    }
    // A tab that took the lead while it read its cache saves once its takeover has read storage
    // again: what it read before may be outdated, and written back it would bring ended mutations back.
    host.emitStatus()
    host.kick()
  }

  /** This tab gained or lost the lead. */
  async onLeadership(isLeader: boolean): Promise<void> {
    const host = this.#host
    if (host.disposed()) return
    if (isLeader && !this.#cacheRead) {
      // Elected before the cache is read: hydration reads it as the leader, as a store alone does.
      host.options.logger.info('this tab is now the leader')
      if (host.wantPolling()) host.poller.start()
      host.emitStatus()
      return
    }
    this.#takingOver = isLeader
    try {
      await this.#changeLeadership(isLeader)
    } finally {
      if (isLeader) this.#takingOver = false
    }
    if (isLeader && host.tabs.isLeader && !host.disposed()) host.kick()
  }

  /** Shows a new mutation of this tab's, and makes it durable as its part says. */
  queue(record: MutationRecord): void {
    const { tabs } = this.#host
    if (tabs.isLeader && !this.#takingOver) {
      this.#host.dispatch({ type: 'mutationQueued', record })
      if (!this.#host.state().records.some((r) => r.id === record.id)) return
      // Nothing is saved until the cache has loaded, which can take seconds: the mutation is written
      // at once, as a follower's is, so that it survives the tab. Hydration's save supersedes it.
      if (!this.#hydrated) this.#hand(record)
      // Once loaded too: the save that writes it is issued behind the writes before it, and a tab
      // taking over when this one dies must read it (it drops a queued create storage lacks). The
      // save supersedes this copy in the same batch.
      else this.#host.persistence.putRecord(record)
      return
    }
    // A follower shows the mutation at once, makes it durable, and hands it to the leader. A tab
    // taking over keeps it the same way, to be judged (a delete cancelling a create) once it has
    // read storage.
    this.#host.dispatch({ type: 'mutationQueued', record, cancelUnsent: false })
    this.#queuedDuringRead?.add(record.id)
    this.#hand(record)
    if (!tabs.isLeader) this.#host.tabSync.forward(record)
  }

  /**
   * What a leader does with each state change besides showing it: tells the other tabs, and writes
   * storage. A tab taking over does neither until it has read storage. Returns the write that the
   * change's settlements wait for, if they do (see below); the store settles its callers then.
   */
  publish(previous: SyncState, next: SyncState, action: SyncAction): Promise<void> | undefined {
    const { tabs, tabSync, persistence, options } = this.#host
    if (!tabs.isLeader || this.#takingOver) return undefined
    this.#write(previous, next, action)
    // A delete that cancels an unsent create settles both at once, with no request. Storage holds
    // the create until the write of the cancel lands: a tab that takes over before that (this one
    // killed) sends it. So no caller hears of the cancel, and no other tab sees it, before then (or
    // before a while has passed, when storage does not answer).
    const landing = action.type === 'mutationQueued' && next.settled.length > 0 ? within(options.timers, LANDING_WAIT_MS, persistence.flush(), () => undefined) : undefined
    tabSync.broadcast(previous, next, action, landing)
    return landing
  }

  /** The leader's writes of a state change. */
  #write(previous: SyncState, next: SyncState, action: SyncAction): void {
    const { persistence } = this.#host
    if (this.#hydrated) {
      // Written with the deletion of their records, for a tab that takes over before it hears.
      if (next.settled.length && action.type !== 'cleared') persistence.ended(this.#othersCreates(previous, next))
      persistence.save(next, this.#host.rawText())
      if (next.settled.length) persistence.forget(next.settled.map((s) => s.mutationId))
    } else if (next.settled.length) {
      // Before the cache has loaded, what is stored of this tab's mutations is the copy queue()
      // wrote of each: that of one that ended (a delete cancelled its create) goes.
      const ended = next.settled.map((s) => s.mutationId).filter((id) => this.#handed.has(id))
      if (ended.length) persistence.takeBack(ended)
    }
  }

  /** A leader tells the other tabs what it says beside its state (storage failed, a snapshot error) when that changed. */
  restate(): void {
    if (this.#host.tabs.isLeader && !this.#takingOver) this.#host.tabSync.restate()
  }

  /** clear() was called: a cache still loading was read before the clear, and what it holds must not come back. */
  cleared(): void {
    if (!this.#hydrated) this.#clearedWhileLoading = true
  }

  /**
   * Another tab's logout: the copies this tab wrote of its mutations, aborted with the rest, go too
   * (one may have landed after that tab's wipe, and the next session would send it).
   */
  forgetHanded(): void {
    if (this.#handed.size) {
      this.#host.persistence.forgetHanded([...this.#handed])
      this.#handed.clear()
    }
  }

  /** Of the settlements of `next`, those of other tabs' creates. */
  #othersCreates(previous: SyncState, next: SyncState): Settlement[] {
    const creates = new Set(previous.records.filter((r) => r.kind === 'create' && r.origin !== undefined && r.origin !== this.#host.id).map((r) => r.id))
    return next.settled.filter((s) => creates.has(s.mutationId))
  }

  #hand(record: MutationRecord): void {
    this.#host.persistence.putRecord(record)
    this.#handed.add(record.id)
  }

  async #changeLeadership(isLeader: boolean): Promise<void> {
    const host = this.#host
    const { tabs, tabSync, persistence, options } = host
    if (!isLeader) {
      host.poller.stop()
      // What the decoder compares with (and a seed from the cache) belongs to the time this tab
      // led; from now on its snapshot comes from the leader, so they would be stale next time.
      host.snapshots.reset()
      host.emitStatus()
      return
    }
    await host.ready()
    // The storage holds the old leader's outbox as it last saved it, and mutations other tabs
    // wrote; it is also what the delta writes must now be computed against.
    let clears = host.clears()
    const clearedBefore = persistence.clearedBy
    const queuedDuringRead = (this.#queuedDuringRead = new Set())
    let stored: PersistedData | undefined
    try {
      stored = await persistence.load(true)
    } finally {
      this.#queuedDuringRead = undefined
    }
    // A clear the old leader carried out after this tab last read storage, and that this tab never
    // heard of: it is carried out here, as if heard, and what was read (written after its wipe) is
    // the next user's, but for this tab's own copies of its mutations, which are the last user's.
    if (!tabSync.clearing && clears === host.clears() && stored.clearedBy !== undefined && stored.clearedBy !== clearedBefore) {
      const lastUsers = new Set(this.#handed)
      if (tabSync.clearedUnheard(stored.clearedBy)) {
        stored = { ...stored, records: stored.records.filter((r) => !lastUsers.has(r.id)) }
        clears = host.clears()
      }
    }
    // A clear() that no leader confirmed: the old leader's last writes may have landed after its
    // wipe, unless its meta record says it carried the clear out before it wrote what was read
    // (then that is the next user's). Otherwise storage is wiped again, and what was read goes;
    // what this tab queued since, it holds and saves.
    if (tabSync.clearing && !tabSync.carriedOut(stored.clearedBy)) {
      stored = undefined
      if (!host.disposed()) await persistence.clear(tabSync.lastClear)
    }
    if (host.disposed()) return
    persistence.dropCopiesLeftBehind()
    if (!tabs.isLeader) return
    // A clear() during the read wiped what it read.
    const read = clears === host.clears() ? stored : undefined
    this.#takingOver = false
    tabSync.resetLeader()
    // This tab's copy of the outbox wins where storage cannot be believed: the old leader's failed,
    // this tab's failed, or it held a cache this version cannot read (a tab of another version led).
    const trustCopies = tabSync.leaderStorageFailed || persistence.fellBack || read?.discarded === true
    // Which of its own mutations storage lacks because the old leader ended them can only be told
    // from an outbox a leader saved: storage a failing leader wiped, or only copies, tell nothing.
    const fromStorage = read ? { naming: read, ...(read.savedByLeader ? { queuedDuringRead, cached: read.snapshot?.byId, ...(read.endings ? { endings: read.endings } : {}) } : {}) } : {}
    host.dispatch({ type: 'promoted', records: read?.records ?? [], ...fromStorage, origin: host.id, trustCopies, ended: tabSync.endedIds, now: options.now(), graceMs: options.graceMs })
    persistence.save(host.state())
    tabSync.lead()
    options.logger.info('this tab is now the leader')
    if (host.wantPolling()) host.poller.start()
    host.emitStatus()
  }
}
