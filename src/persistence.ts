import type { Timers } from './environment'
import { jsonEqual } from './equal'
import { WorkstreamSyncError } from './errors'
import type { Ending, MutationRecord, Settlement } from './mutation'
import type { Renames, SyncState } from './state'
import type { SyncStorage } from './storage'
import { EventSegments, SEGMENT_PREFIX } from './eventSegments'
import { CacheArea } from './cacheArea'
import { StoredOutbox } from './storedOutbox'
import { StoredEndings } from './storedEndings'
import { CACHE_FORMAT, isOwnersKey, META_KEY, metaRecord, readEvent, readRenames, readStoredCache, type Meta, type Naming } from './cacheFormat'
import { changedIds, EMPTY_SNAPSHOT, snapshotOf, type ServerSnapshot } from './view'

export interface PersistedData {
  /**
   * The cached events, undefined when there was no usable cache. It is also what the next save
   * compares with: a store that adopts it as its server snapshot writes nothing until it changes.
   */
  readonly snapshot: ServerSnapshot | undefined
  /** The JSON text each of the snapshot's events was read from (what the server sent, as a rule). */
  readonly texts?: readonly string[]
  readonly records: readonly MutationRecord[]
  readonly lastSyncedAt: number | undefined
  /** The renames of creates the server named otherwise, oldest first (see SyncState.renamed). */
  readonly renamed?: Renames
  /** The server was seen to keep client ids (see SyncState.clientIdsHonoured). */
  readonly clientIdsHonoured?: true
  /** Storage held a cache this version cannot read (another format), which was discarded: its outbox is unknown, not empty. */
  readonly discarded?: true
  /** The clear (logout) the leader that wrote the cache carried out last: what storage holds came after it. */
  readonly clearedBy?: string
  /**
   * Storage held a meta record, which only a leader writes (and rewrites on every change): its
   * outbox is what that leader saved, not just copies of mutations tabs wrote.
   */
  readonly savedByLeader?: true
  /** How the leader that wrote the cache ended the latest of other tabs' creates (see StoredEndings); none unless `savedByLeader`. */
  readonly endings?: ReadonlyMap<string, Ending>
}

/** What save() records: the parts of the sync state that outlive a page. */
export type SavedState = Pick<SyncState, 'server' | 'records' | 'lastSyncedAt' | 'renamed' | 'clientIdsHonoured'>

const NO_NAMING: Naming = { renamed: new Map(), clientIdsHonoured: false }

const NO_CACHE: PersistedData = { snapshot: undefined, records: [], lastSyncedAt: undefined }

export interface PersistenceOptions {
  storage: SyncStorage
  namespace: string
  /** Reports storage failures and discarded caches; sync goes on either way. */
  onError: (error: WorkstreamSyncError) => void
  /** For the load deadline. Default: the global timers. */
  timers?: Timers
  /** Whether this cache is the one that writes the shared storage (the leader tab's): only it writes the events and wipes storage after a failure. Default: yes. */
  ownsStorage?: () => boolean
}

/**
 * The cache on top of a storage area: the events' JSON texts in segments (see EventSegments),
 * one key per mutation (see StoredOutbox), and a meta record with the format and the segments
 * that hold the events, written with them (see cacheFormat). Writes only the delta since the last
 * save, coalesced, in order, each batch in one transaction where the storage has `write`.
 * A storage failure switches it to memory for the rest of the store's life (see CacheArea).
 */
export class Persistence {
  readonly #area: CacheArea
  readonly #options: PersistenceOptions
  #saved: ServerSnapshot = EMPTY_SNAPSHOT
  readonly #segments = new EventSegments()
  readonly #outbox: StoredOutbox
  readonly #endings: StoredEndings
  #savedSyncedAt: number | undefined
  #savedNaming: Naming = NO_NAMING
  /** The last clear carried out here or by the leader that wrote what was read, for the meta record. */
  #clearedBy: string | undefined
  #metaSaved = false
  /** Counts clear() calls, so that a load() that read storage before a wipe does not use what it read. */
  #clears = 0

  constructor(options: PersistenceOptions) {
    this.#options = options
    const { storage, namespace, onError, timers } = options
    this.#area = new CacheArea({ storage, namespace, onError, timers, owns: () => this.#owns(), ownersOnly: isOwnersKey, onFallBack: () => this.#nothingSaved() })
    this.#outbox = new StoredOutbox(this.#area)
    this.#endings = new StoredEndings(this.#area)
  }

  /** Whether storage failed and the cache now lives in memory only. */
  get fellBack(): boolean {
    return this.#area.fellBack
  }

  /** The last clear carried out here or by the leader that wrote what was last read (see PersistedData.clearedBy). */
  get clearedBy(): string | undefined {
    return this.#clearedBy
  }

  /**
   * Reads the cache. Never rejects: an unreadable cache is discarded, a failing storage falls back.
   * `takeover`: the read of a tab that takes the lead, which sends the outbox from its own copy if
   * the read fails (see dropCopiesLeftBehind).
   */
  async load(takeover = false): Promise<PersistedData> {
    const clears = this.#clears
    const fellBack = this.#area.fellBack
    let stored: Array<[string, unknown]>
    try {
      stored = await this.#area.entries()
    } catch (error) {
      // The mutations written before the read (a leader's, queued while it ran) now live in memory
      // and are sent from there, if the store goes on: dropCopiesLeftBehind() deletes them then. A
      // tab taking over sends all of the outbox from its copy: what storage holds of it goes too.
      const handed = this.#outbox.handedKeys
      const copies = (takeover || handed.size) && !this.#area.fellBack && this.#owns() ? { keys: [...handed], wipe: takeover } : undefined
      this.#area.readFailed(error, copies)
      return NO_CACHE
    }
    this.#outbox.read()
    // A clear() since the read wiped what it read: clear() has already said that nothing is saved,
    // and writes made from what was read (a meta record listing wiped segments) would land after the wipe.
    if (clears !== this.#clears) return NO_CACHE
    if (stored.length === 0) return this.#nothingSaved()
    const cache = readStoredCache(stored, this.#options.namespace)
    if ('unreadable' in cache) {
      this.#options.onError(new WorkstreamSyncError('storage', `Discarded the cache of ${this.#options.namespace}: storage held ${cache.unreadable}, where this version reads a cache of format ${CACHE_FORMAT} of this namespace. The next snapshot fills it again.`))
      // Only the tab that owns storage wipes it: another tab's leader may be writing it.
      if (this.#owns()) await this.#area.clear()
      return { ...this.#nothingSaved(), discarded: true }
    }
    const { meta, onlyHanded, records, bad } = cache
    const read = this.#segments.read(meta, cache.segments, readEvent)
    const { events, texts } = read
    for (const entry of read.bad) bad.push(entry.startsWith(SEGMENT_PREFIX) ? entry : `event ${JSON.stringify(entry)}`)
    for (const key of read.stale) this.#area.queueDelete(key)
    for (const key of cache.superseded) this.#area.queueDelete(key)
    if (bad.length) {
      this.#options.onError(new WorkstreamSyncError('storage', `Discarded ${bad.length} unreadable cache entr${bad.length === 1 ? 'y' : 'ies'} (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''}). The next snapshot restores events; a lost mutation cannot be restored.`))
      // Keys go; an unreadable event in a readable segment goes when the next change rewrites them all.
      for (const key of bad) if (!key.startsWith('event ')) this.#area.queueDelete(key)
    }
    // Superseded copies, unreadable entries and stale segments go.
    if (this.#area.queued) this.#area.schedule()
    // Each event is read once, from the newest segment that has it: the list has no duplicate ids.
    const snapshot = snapshotOf(events)
    this.#saved = snapshot
    this.#outbox.adopt(records)
    this.#endings.adopt(cache.endings)
    // Read defensively, as the rest of the meta record: another version may have written it.
    const lastSyncedAt = typeof meta.lastSyncedAt === 'number' && Number.isFinite(meta.lastSyncedAt) ? meta.lastSyncedAt : undefined
    this.#savedSyncedAt = lastSyncedAt
    const renamed = readRenames(meta.renamed)
    const clientIdsHonoured = meta.clientIdsHonoured === true
    // What the leader that wrote this cache carried out; this cache's own clears are not in it.
    const clearedBy = typeof meta.clearedBy === 'string' ? meta.clearedBy : undefined
    if (clearedBy !== undefined) this.#clearedBy = clearedBy
    this.#savedNaming = { renamed: new Map(renamed), clientIdsHonoured }
    this.#metaSaved = !onlyHanded
    // The meta record no longer lists the unreadable segments.
    if (read.bad.length) this.#writeMeta(lastSyncedAt)
    // A write failed during the read: the memory area now written to holds none of what was read,
    // so the next save writes all of it there, not a delta against storage it no longer uses.
    if (this.#area.fellBack !== fellBack) this.#nothingSaved()
    return { snapshot, texts, records, lastSyncedAt, renamed, ...(clientIdsHonoured ? { clientIdsHonoured } : {}), ...(clearedBy !== undefined ? { clearedBy } : {}), ...(onlyHanded ? {} : { savedByLeader: true as const, ...(cache.endings.size ? { endings: cache.endings } : {}) }) }
  }

  /**
   * Records the current server snapshot and outbox, queueing writes for what changed since the
   * last save (by identity: unchanged events keep theirs). `rawText` gives an event's JSON as
   * received, to store without stringifying it again.
   */
  save(state: SavedState, rawText?: (id: string) => string | undefined): void {
    const { server, records, lastSyncedAt } = state
    if (server.byId !== this.#saved.byId) {
      const changed: string[] = []
      const removed: string[] = []
      const saved = this.#saved.byId
      const ids = changedIds(this.#saved, server)
      if (ids !== undefined) {
        for (const id of ids) (server.byId.has(id) ? changed : removed).push(id)
      } else {
        // Without a delta (after a takeover, the snapshot came from the old leader's messages and
        // the saved one from storage: other objects), equal events need no write.
        for (const [id, event] of server.byId) {
          const before = saved.get(id)
          if (before !== event && !jsonEqual(before, event)) changed.push(id)
        }
        for (const id of saved.keys()) if (!server.byId.has(id)) removed.push(id)
      }
      const writes = this.#segments.write(changed, removed, server.byId.keys(), (id) => rawText?.(id) ?? JSON.stringify(server.byId.get(id)))
      for (const [key, segment] of writes.sets) this.#area.queueSet(key, segment)
      for (const key of writes.deletes) this.#area.queueDelete(key)
      this.#saved = server
      // The meta record lists the segments: it goes in the same write as they do.
      if (writes.sets.length || writes.deletes.length || lastSyncedAt !== this.#savedSyncedAt) this.#writeMeta(lastSyncedAt)
    }
    this.#outbox.save(records)
    // Entries without a meta record read as an unknown cache, so the first write carries one.
    const naming = this.#savedNaming
    if (state.clientIdsHonoured !== naming.clientIdsHonoured || !sameRenames(state.renamed, naming.renamed)) this.#writeMeta(lastSyncedAt, state)
    else if (state.renamed !== naming.renamed) this.#savedNaming = { ...naming, renamed: state.renamed }
    if (this.#area.queued && !this.#metaSaved) this.#writeMeta(lastSyncedAt)
    if (this.#area.queued) this.#area.schedule()
  }

  /**
   * Records how other tabs' creates ended, for a tab that takes over before it heard (see
   * StoredEndings). Call it with the save() that deletes their records: both go in one batch.
   */
  ended(settled: readonly Settlement[]): void {
    this.#endings.add(settled)
  }

  /** Writes a follower's mutation at once (see StoredOutbox.putRecord). */
  putRecord(record: MutationRecord): void {
    this.#outbox.putRecord(record)
  }

  /** Deletes at once the copies of mutations that ended before the cache loaded (see StoredOutbox.takeBack). */
  takeBack(mutationIds: readonly string[]): void {
    this.#outbox.takeBack(mutationIds)
  }

  /** Deletes the records of settled mutations that this cache never saved (see StoredOutbox.forget). */
  forget(mutationIds: readonly string[]): void {
    this.#outbox.forget(mutationIds)
  }

  /** Follower: deletes its own copies of mutations the leader settled (see StoredOutbox.forgetHanded). */
  forgetHanded(mutationIds: readonly string[]): void {
    this.#outbox.forgetHanded(mutationIds)
  }

  /** Resolves when every write queued so far has landed (or failed over to memory). */
  flush(): Promise<void> {
    return this.#area.flush()
  }

  /**
   * Wipes the area at once, not after the writes in flight: storage runs writes in the order they
   * were issued (IndexedDB transactions do), so a write already issued lands before the wipe, and
   * the wipe lands before whatever another tab writes once it hears of the clear. Writes queued
   * and not yet issued are dropped. `id` names the clear carried out, for the meta record written
   * next (see PersistedData.clearedBy).
   */
  async clear(id?: string): Promise<void> {
    this.#clearedBy = id
    this.#clears++
    this.#area.dropQueued()
    this.#nothingSaved()
    // In memory since a failure (a read that failed, say), the cache no longer writes storage, which
    // may still hold the last session's cache and outbox: a logout must not leave them to the next user.
    // Only the tab that owns storage wipes it: a follower's clear is carried out there by the leader
    // (or by this tab, should it take over first), and a follower's wipe, through a new connection
    // slow to open, could land after the leader had carried it out and saved the next user's mutations.
    const wipe = this.#area.fellBack && this.#owns()
    const clearing = Promise.all([this.#area.clear(), wipe ? this.#area.wipeStorage() : undefined])
    // The leader names the clear in a meta record issued right behind the wipe, which lands after
    // it: a tab that takes over before it heard of the logout (this tab closed at once) learns of
    // it there, and does not send its mutations from before it for the next user.
    if (id !== undefined && this.#owns()) this.#area.atOnce((area) => area.setMany([[META_KEY, this.#meta(undefined, NO_NAMING)]]))
    await clearing
  }

  /**
   * Storage holds nothing of this cache (found empty, discarded, or about to be wiped): the next
   * save writes everything, meta record included, instead of a delta from what was saved before.
   */
  #nothingSaved(): PersistedData {
    this.#saved = EMPTY_SNAPSHOT
    this.#segments.reset()
    this.#outbox.adopt([])
    this.#endings.adopt(new Map())
    this.#savedSyncedAt = undefined
    this.#savedNaming = NO_NAMING
    this.#metaSaved = false
    return NO_CACHE
  }

  /**
   * After a read that failed, deletes the copies putRecord() wrote before it from the storage given
   * up: the store sends those mutations from memory, and left in storage a later session would send
   * them again. After a takeover's read, it wipes that storage, which holds the old leader's outbox
   * that this tab now sends from its copy. Best effort, as the rest of what that storage does from
   * now on. Only a store that goes on calls it: one disposed before it loaded keeps them, as
   * dispose() promises.
   */
  dropCopiesLeftBehind(): void {
    this.#area.dropLeftBehind()
  }

  close(): void {
    this.#area.close()
  }

  /** Whether this tab owns the cache in storage (the leader; a store alone always does). */
  #owns(): boolean {
    return this.#options.ownsStorage?.() ?? true
  }

  #meta(lastSyncedAt: number | undefined, naming: Naming): Meta {
    return metaRecord(this.#options.namespace, this.#segments.layout(), lastSyncedAt, naming, this.#clearedBy)
  }

  #writeMeta(lastSyncedAt: number | undefined, naming: Naming = this.#savedNaming): void {
    const { renamed, clientIdsHonoured } = naming
    this.#area.queueSet(META_KEY, this.#meta(lastSyncedAt, naming))
    this.#savedSyncedAt = lastSyncedAt
    this.#savedNaming = { renamed, clientIdsHonoured }
    this.#metaSaved = true
  }
}

function sameRenames(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const [clientId, serverId] of a) if (b.get(clientId) !== serverId) return false
  return true
}
