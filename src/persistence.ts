import { globalTimers, within, type Timers } from './environment'
import { jsonEqual } from './equal'
import { WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import type { MutationRecord } from './mutation'
import type { Renames, SyncState } from './state'
import { memoryStorage, type SyncStorage, type SyncStorageArea } from './storage'
import { EventSegments, SEGMENT_PREFIX, type SegmentLayout } from './eventSegments'
import { checkSeededWorkstreamEvent, checkWorkstreamEvent } from './validate'
import { changedIds, EMPTY_SNAPSHOT, snapshotOf, type ServerSnapshot } from './view'

/**
 * The cache's format. A cache of another format is discarded (there is no migration yet).
 * 2: events in segments (1: one key per event).
 */
export const CACHE_FORMAT = 2

/**
 * How long the cache may take to open and load before the store goes on in memory: an IndexedDB
 * open queued behind another connection's blocked upgrade never ends, and hydration must. Generous,
 * so that a large cache on a slow disk still loads.
 */
export const LOAD_TIMEOUT_MS = 10_000

const META_KEY = 'meta'
const RECORD_PREFIX = 'm:'
/**
 * A follower's own copy of a mutation it queued, written at once so that it survives the tab.
 * The leader's version ('m:') supersedes it: two tabs writing one key would let the older version
 * land last, and a reload would send a create again that the leader had sent.
 */
const HANDED_PREFIX = 'f:'
const DELETE = Symbol('delete')

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
}

/** What save() records: the parts of the sync state that outlive a page. */
export type SavedState = Pick<SyncState, 'server' | 'records' | 'lastSyncedAt' | 'renamed' | 'clientIdsHonoured'>

/** What the meta record keeps of how the server names created events. */
type Naming = Pick<SyncState, 'renamed' | 'clientIdsHonoured'>

const NO_NAMING: Naming = { renamed: new Map(), clientIdsHonoured: false }

const NO_CACHE: PersistedData = { snapshot: undefined, records: [], lastSyncedAt: undefined }

interface Meta extends SegmentLayout {
  readonly format: number
  readonly namespace: string
  readonly lastSyncedAt?: number
  readonly renamed?: Renames
  readonly clientIdsHonoured?: true
  readonly clearedBy?: string
}

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
 * one key per mutation, and a meta record with the format and the segments that hold the
 * events, written with them. Writes only the delta since the last save, coalesced, in order, each
 * batch in one transaction where the storage has `write`.
 * A storage failure switches it to memory for the rest of the store's life.
 */
export class Persistence {
  #area: SyncStorageArea
  #fellBack = false
  readonly #options: PersistenceOptions
  #saved: ServerSnapshot = EMPTY_SNAPSHOT
  readonly #segments = new EventSegments()
  #savedRecords = new Map<string, MutationRecord>()
  #savedSyncedAt: number | undefined
  #savedNaming: Naming = NO_NAMING
  /** The last clear carried out here or by the leader that wrote what was read, for the meta record. */
  #clearedBy: string | undefined
  #metaSaved = false
  #pending = new Map<string, unknown>()
  #writing: Promise<void> = Promise.resolve()
  #scheduled = false
  /** Counts clear() calls, so that a load() that read storage before a wipe does not use what it read. */
  #clears = 0
  /** The keys putRecord() wrote: a read that fails takes them back out of the storage it gives up. */
  readonly #handedKeys = new Set<string>()
  /** After a read that failed: the storage given up, kept open, and the copies putRecord() wrote to it (see dropCopiesLeftBehind). */
  #leftBehind: { area: SyncStorageArea; keys: string[]; wipe: boolean } | undefined
  /** Settles when a read fails: writes still in flight to the storage given up then are waited for no longer. */
  #readFailed!: () => void
  readonly #givenUp = new Promise<void>((resolve) => (this.#readFailed = resolve))

  constructor(options: PersistenceOptions) {
    this.#options = options
    this.#area = options.storage.open(options.namespace)
  }

  /** Whether storage failed and the cache now lives in memory only. */
  get fellBack(): boolean {
    return this.#fellBack
  }

  /**
   * Reads the cache. Never rejects: an unreadable cache is discarded, a failing storage falls back.
   * `takeover`: the read of a tab that takes the lead, which sends the outbox from its own copy if
   * the read fails (see dropCopiesLeftBehind).
   */
  async load(takeover = false): Promise<PersistedData> {
    const clears = this.#clears
    const fellBack = this.#fellBack
    let stored: Array<[string, unknown]>
    try {
      stored = await this.#withinLoadDeadline(this.#area.entries())
    } catch (error) {
      // The mutations written before the read (a leader's, queued while it ran) now live in memory
      // and are sent from there, if the store goes on: dropCopiesLeftBehind() deletes them then. A
      // tab taking over sends all of the outbox from its copy: what storage holds of it goes too.
      if ((takeover || this.#handedKeys.size) && !this.#fellBack && this.#owns()) this.#leftBehind = { area: this.#area, keys: [...this.#handedKeys], wipe: takeover }
      this.#readFailed()
      this.#fallBack(error, 'read')
      return NO_CACHE
    }
    // What putRecord() wrote before the read is in what it read.
    this.#handedKeys.clear()
    // A clear() since the read wiped what it read: clear() has already said that nothing is saved,
    // and writes made from what was read (a meta record listing wiped segments) would land after the wipe.
    if (clears !== this.#clears) return NO_CACHE
    if (stored.length === 0) return this.#nothingSaved()
    // Followers' own mutations may be all there is: a follower writes no meta record (it lists
    // the leader's segments, which a follower's copy of it would hide).
    const onlyHanded = stored.every(([key]) => key.startsWith(HANDED_PREFIX))
    const meta = (onlyHanded ? { format: CACHE_FORMAT, namespace: this.#options.namespace, segments: [], base: 0 } : stored.find(([key]) => key === META_KEY)?.[1]) as Partial<Meta> | undefined
    if (!meta || typeof meta !== 'object' || meta.format !== CACHE_FORMAT || meta.namespace !== this.#options.namespace || !isLayout(meta)) {
      const found = !meta || typeof meta !== 'object' ? 'no readable meta record' : meta.format === CACHE_FORMAT && meta.namespace === this.#options.namespace ? 'an unreadable list of segments' : `format ${String(meta.format)}`
      this.#options.onError(new WorkstreamSyncError('storage', `Discarded the cache of ${this.#options.namespace}: it has ${found}, and this version reads format ${CACHE_FORMAT}. The next snapshot fills it again.`))
      // Only the tab that owns storage wipes it: another tab's leader may be writing it.
      if (this.#owns()) await this.#clearArea()
      return { ...this.#nothingSaved(), discarded: true }
    }
    const segments = new Map<number, unknown>()
    const records: MutationRecord[] = []
    const handed: MutationRecord[] = []
    const bad: string[] = []
    for (const [key, value] of stored) {
      if (key.startsWith(SEGMENT_PREFIX)) {
        const seq = Number(key.slice(SEGMENT_PREFIX.length))
        if (Number.isInteger(seq) && seq >= 0) segments.set(seq, value)
        else bad.push(key)
      } else if (key.startsWith(RECORD_PREFIX) || key.startsWith(HANDED_PREFIX)) {
        if (isRecord(value)) (key.startsWith(RECORD_PREFIX) ? records : handed).push(value)
        else bad.push(key)
      }
    }
    const read = this.#segments.read(meta, segments, readEvent)
    const { events, texts } = read
    for (const entry of read.bad) bad.push(entry.startsWith(SEGMENT_PREFIX) ? entry : `event ${JSON.stringify(entry)}`)
    for (const key of read.stale) this.#pending.set(key, DELETE)
    // A follower's copy of a mutation the leader has saved is superseded: deleted, not read.
    const leaders = new Set(records.map((r) => r.id))
    const superseded: string[] = []
    for (const record of handed) {
      if (leaders.has(record.id)) superseded.push(HANDED_PREFIX + record.id)
      else records.push(record)
    }
    for (const key of superseded) this.#pending.set(key, DELETE)
    if (bad.length) {
      this.#options.onError(new WorkstreamSyncError('storage', `Discarded ${bad.length} unreadable cache entr${bad.length === 1 ? 'y' : 'ies'} (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''}). The next snapshot restores events; a lost mutation cannot be restored.`))
      // Keys go; an unreadable event in a readable segment goes when the next change rewrites them all.
      for (const key of bad) if (!key.startsWith('event ')) this.#pending.set(key, DELETE)
    }
    // Superseded copies, unreadable entries and stale segments go.
    if (this.#pending.size) this.#schedule()
    sortInQueueOrder(records)
    // Each event is read once, from the newest segment that has it: the list has no duplicate ids.
    const snapshot = snapshotOf(events)
    this.#saved = snapshot
    this.#savedRecords = new Map(records.map((r) => [r.id, r]))
    this.#savedSyncedAt = meta.lastSyncedAt
    const renamed = readRenames(meta.renamed)
    const clientIdsHonoured = meta.clientIdsHonoured === true
    // What the leader that wrote this cache carried out; this cache's own clears are not in it.
    const clearedBy = typeof meta.clearedBy === 'string' ? meta.clearedBy : undefined
    if (clearedBy !== undefined) this.#clearedBy = clearedBy
    this.#savedNaming = { renamed: new Map(renamed), clientIdsHonoured }
    this.#metaSaved = !onlyHanded
    // The meta record no longer lists the unreadable segments.
    if (read.bad.length) this.#writeMeta(meta.lastSyncedAt)
    // A write failed during the read: the memory area now written to holds none of what was read,
    // so the next save writes all of it there, not a delta against storage it no longer uses.
    if (this.#fellBack !== fellBack) this.#nothingSaved()
    return { snapshot, texts, records, lastSyncedAt: meta.lastSyncedAt, renamed, ...(clientIdsHonoured ? { clientIdsHonoured } : {}), ...(clearedBy !== undefined ? { clearedBy } : {}) }
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
      for (const [key, segment] of writes.sets) this.#pending.set(key, segment)
      for (const key of writes.deletes) this.#pending.set(key, DELETE)
      this.#saved = server
      // The meta record lists the segments: it goes in the same write as they do.
      if (writes.sets.length || writes.deletes.length || lastSyncedAt !== this.#savedSyncedAt) this.#writeMeta(lastSyncedAt)
    }
    const current = new Set<string>()
    for (const record of records) {
      current.add(record.id)
      const before = this.#savedRecords.get(record.id)
      if (before !== record) {
        this.#pending.set(RECORD_PREFIX + record.id, record)
        // Its first version of a follower's mutation supersedes the follower's copy.
        if (before === undefined) this.#pending.set(HANDED_PREFIX + record.id, DELETE)
        this.#savedRecords.set(record.id, record)
      }
    }
    for (const id of this.#savedRecords.keys()) {
      if (!current.has(id)) {
        this.#pending.set(RECORD_PREFIX + id, DELETE)
        this.#pending.set(HANDED_PREFIX + id, DELETE)
        this.#savedRecords.delete(id)
      }
    }
    // Entries without a meta record read as an unknown cache, so the first write carries one.
    const naming = this.#savedNaming
    if (state.clientIdsHonoured !== naming.clientIdsHonoured || !sameRenames(state.renamed, naming.renamed)) this.#writeMeta(lastSyncedAt, state)
    else if (state.renamed !== naming.renamed) this.#savedNaming = { ...naming, renamed: state.renamed }
    if (this.#pending.size && !this.#metaSaved) this.#writeMeta(lastSyncedAt)
    if (this.#pending.size) this.#schedule()
  }

  /**
   * Writes one mutation at once, outside the delta: a follower tab makes its mutation durable
   * before the leader has it. A later load() takes it up.
   */
  putRecord(record: MutationRecord): void {
    // Issued at once, not behind this cache's earlier writes: it must land before whatever the
    // leader writes about this mutation once it hears of it (its delete, if it settles it unsent).
    const entries: Array<[string, unknown]> = [[HANDED_PREFIX + record.id, record]]
    if (!this.#fellBack) this.#handedKeys.add(HANDED_PREFIX + record.id)
    this.#atOnce((area) => area.setMany(entries))
  }

  /**
   * Deletes, at once as putRecord() wrote them, the copies of mutations that ended before the cache
   * loaded (a delete cancelled a create): there is no saved version yet to supersede them.
   */
  takeBack(mutationIds: readonly string[]): void {
    const keys = mutationIds.map((id) => HANDED_PREFIX + id)
    this.#atOnce((area) => area.delMany(keys))
  }

  /**
   * Deletes the records of settled mutations that this cache never saved: a follower tab wrote
   * them (putRecord) and the leader settled them without queueing them, as a create and its
   * delete that cancel each other. Call after save(); the records it saved go by its delta.
   */
  forget(mutationIds: readonly string[]): void {
    let forgotten = false
    for (const id of mutationIds) {
      if (this.#savedRecords.has(id)) continue
      this.#pending.set(RECORD_PREFIX + id, DELETE)
      this.#pending.set(HANDED_PREFIX + id, DELETE)
      forgotten = true
    }
    if (forgotten) this.#schedule()
  }

  /**
   * Follower: deletes its own copies of mutations the leader settled. Only those: the leader's
   * record of a mutation it confirmed stays until its next snapshot, which it needs after a reload.
   */
  forgetHanded(mutationIds: readonly string[]): void {
    for (const id of mutationIds) {
      this.#pending.set(HANDED_PREFIX + id, DELETE)
      this.#handedKeys.delete(HANDED_PREFIX + id)
    }
    if (mutationIds.length) this.#schedule()
  }

  /** Resolves when every write queued so far has landed (or failed over to memory). */
  flush(): Promise<void> {
    if (this.#pending.size) this.#schedule()
    return this.#writing
  }

  /**
   * Wipes the area at once, not after the writes in flight: storage runs writes in the order they
   * were issued (IndexedDB transactions do), so a write already issued lands before the wipe, and
   * the wipe lands before whatever another tab writes once it hears of the clear. Writes queued
   * and not yet issued are dropped.
   */
  /** `id` names the clear carried out, for the meta record written next (see PersistedData.clearedBy). */
  async clear(id?: string): Promise<void> {
    this.#clearedBy = id
    this.#clears++
    this.#pending.clear()
    this.#nothingSaved()
    // In memory since a failure (a read that failed, say), the cache no longer writes storage, which
    // may still hold the last session's cache and outbox: a logout must not leave them to the next user.
    // Only the tab that owns storage wipes it: a follower's clear is carried out there by the leader
    // (or by this tab, should it take over first), and a follower's wipe, through a new connection
    // slow to open, could land after the leader had carried it out and saved the next user's mutations.
    const wipe = this.#fellBack && this.#owns()
    await Promise.all([this.#clearArea(), wipe ? this.#wipeStorage() : undefined])
  }

  /**
   * Storage holds nothing of this cache (found empty, discarded, or about to be wiped): the next
   * save writes everything, meta record included, instead of a delta from what was saved before.
   */
  #nothingSaved(): PersistedData {
    this.#saved = EMPTY_SNAPSHOT
    this.#segments.reset()
    this.#savedRecords = new Map()
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
    const left = this.#leftBehind
    if (!left) return
    this.#leftBehind = undefined
    // A tab that lost the lead again during its read no longer owns storage: the new leader writes it.
    if (left.wipe && !this.#owns()) {
      closeQuietly(left.area)
      return
    }
    void attempt(() => (left.wipe ? left.area.clear() : left.area.delMany(left.keys)))
      .catch(() => {})
      .then(() => closeQuietly(left.area))
  }


  close(): void {
    this.#area.close()
    if (this.#leftBehind) closeQuietly(this.#leftBehind.area)
    this.#leftBehind = undefined
  }

  #withinLoadDeadline<T>(reading: Promise<T>): Promise<T> {
    // A read that ends after the deadline is ignored, its failure too.
    reading.catch(() => {})
    return within(this.#options.timers ?? globalTimers, LOAD_TIMEOUT_MS, reading, () => {
      throw new WorkstreamSyncError('storage', `The cache did not open within ${LOAD_TIMEOUT_MS} ms (is another connection holding an IndexedDB upgrade?).`)
    })
  }

  /** Whether this tab owns the cache in storage (the leader; a store alone always does). */
  #owns(): boolean {
    return this.#options.ownsStorage?.() ?? true
  }

  #atOnce(write: (area: SyncStorageArea) => Promise<void>): void {
    const written = attempt(() => write(this.#area)).catch((error: unknown) => {
      this.#fallBack(error, 'write')
      return write(this.#area)
    })
    // An IndexedDB open stuck behind another connection's upgrade never answers: once the read has
    // given up on it, so does flush() (what this wrote lives in memory from then on).
    this.#writing = Promise.all([this.#writing, Promise.race([written, this.#givenUp])]).then(
      () => {},
      (error: unknown) => this.#fallBack(error, 'write'),
    )
  }

  #writeMeta(lastSyncedAt: number | undefined, naming: Naming = this.#savedNaming): void {
    const { renamed, clientIdsHonoured } = naming
    const meta: Meta = {
      format: CACHE_FORMAT,
      namespace: this.#options.namespace,
      ...this.#segments.layout(),
      ...(lastSyncedAt !== undefined ? { lastSyncedAt } : {}),
      ...(renamed.size ? { renamed: [...renamed] } : {}),
      ...(clientIdsHonoured ? { clientIdsHonoured } : {}),
      ...(this.#clearedBy !== undefined ? { clearedBy: this.#clearedBy } : {}),
    }
    this.#pending.set(META_KEY, meta)
    this.#savedSyncedAt = lastSyncedAt
    this.#savedNaming = { renamed, clientIdsHonoured }
    this.#metaSaved = true
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    // A failure that escapes the batch falls back too: the chain never stays rejected, or every
    // later write, flush() and the sends that wait for it would fail with it.
    this.#writing = this.#writing.then(async () => {
      this.#scheduled = false
      const batch = this.#pending
      this.#pending = new Map()
      const sets: Array<[string, unknown]> = []
      const deletes: string[] = []
      // The events and the meta record that lists them are the leader's to write: a tab that led
      // until a moment ago would land its late segments over the new leader's, under the same keys.
      const owns = this.#owns()
      for (const [key, value] of batch) {
        if (!owns && (key === META_KEY || key.startsWith(SEGMENT_PREFIX))) continue
        if (value === DELETE) deletes.push(key)
        else sets.push([key, value])
      }
      try {
        await writeBatch(this.#area, sets, deletes)
      } catch (error) {
        this.#fallBack(error, 'write')
        await writeBatch(this.#area, sets, deletes)
      }
    }).catch((error: unknown) => this.#fallBack(error, 'write'))
  }

  async #clearArea(): Promise<void> {
    try {
      await this.#area.clear()
    } catch (error) {
      this.#fallBack(error, 'clear')
    }
  }

  /** Best effort: storage opened again and wiped, a failure (or no answer in time) reported. */
  async #wipeStorage(): Promise<void> {
    let area: SyncStorageArea | undefined
    try {
      area = this.#options.storage.open(this.#options.namespace)
      await this.#withinLoadDeadline(area.clear())
    } catch (error) {
      this.#options.onError(new WorkstreamSyncError('storage', `clear() could not wipe storage, which this cache stopped using after an earlier failure: the next session may read its last contents. Cause: ${describe(error)}`, { cause: error }))
    } finally {
      if (area) closeQuietly(area)
    }
  }

  #fallBack(error: unknown, operation: string): void {
    if (this.#fellBack) return
    this.#fellBack = true
    const failed = this.#area
    this.#area = memoryStorage().open(this.#options.namespace)
    // The memory area starts empty: the next save writes all of the cache and the outbox into it.
    this.#nothingSaved()
    // What storage holds goes stale from now on, and a later session would send its outbox again
    // (mutations this one confirms, or drops): wipe it where storage still lets us. Only the tab
    // that owns the cache (the leader) does: another tab's failure must not wipe what it saved.
    const wipe = operation === 'write' && this.#owns()
    const wiping = wipe ? attempt(() => failed.clear()) : Promise.resolve()
    // A read's failed area holding copies to delete stays open for dropCopiesLeftBehind() or close().
    if (failed !== this.#leftBehind?.area) {
      void wiping
        .catch(() => {})
        .then(() => closeQuietly(failed))
    }
    const cause = describe(error)
    const stored = wipe ? ' What storage held is cleared where it allows, so that a later session starts from the server.' : ''
    this.#options.onError(new WorkstreamSyncError('storage', `The cache could not ${operation} storage, so it now lives in memory for this session; sync goes on.${stored} Cause: ${cause}`, { cause: error }))
  }
}

/** The area is given up or done with: an error closing it changes nothing. */
function closeQuietly(area: SyncStorageArea): void {
  try {
    area.close()
  } catch {
    // Nothing to do.
  }
}

function describe(error: unknown): string {
  return error instanceof WorkstreamSyncError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/**
 * Calls a storage method so that a throw becomes a rejection: a custom storage over a synchronous
 * API (localStorage), written without `async`, throws where IndexedDB would reject.
 */
function attempt<T>(call: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(call())
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * One batch in one transaction where the area can: a page that closed between its sets and its
 * deletes would keep, say, a delete remapped to the server's id without the deletion of the
 * create's record that the same snapshot settled, and a reload would send that create again.
 * Other areas get the sets, then the deletes.
 */
async function writeBatch(area: SyncStorageArea, sets: ReadonlyArray<[string, unknown]>, deletes: readonly string[]): Promise<void> {
  if (sets.length === 0 && deletes.length === 0) return
  if (area.write) return area.write(sets, deletes)
  if (sets.length) await area.setMany(sets)
  if (deletes.length) await area.delMany(deletes)
}

/**
 * Storage keeps no order, and one millisecond (or a clock set back) can hold a create and the
 * delete of its event: whatever the clock says, the create must go out first.
 */
function sortInQueueOrder(records: MutationRecord[]): void {
  const createdAt = new Map<string, number>()
  for (const r of records) if (r.kind === 'create') createdAt.set(r.eventId, r.queuedAt)
  const at = (r: MutationRecord): number => (r.kind === 'create' ? r.queuedAt : Math.max(r.queuedAt, createdAt.get(r.eventId) ?? -Infinity))
  const rank = (r: MutationRecord): number => (r.kind === 'create' ? 0 : 1)
  records.sort((a, b) => at(a) - at(b) || rank(a) - rank(b))
}

/** The meta record's list of segments: sequence numbers, and how many of them the last rewrite wrote. */
function isLayout(meta: Partial<Meta>): meta is Meta {
  const { segments, base } = meta
  return Array.isArray(segments) && segments.every((seq) => Number.isInteger(seq) && seq >= 0) && Number.isInteger(base) && base! >= 0 && base! <= segments.length
}

/** The renames a meta record lists; anything unreadable (written by another version) is skipped. */
function readRenames(value: unknown): Renames {
  if (!Array.isArray(value)) return []
  return value.filter((pair): pair is [string, string] => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string')
}

function sameRenames(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const [clientId, serverId] of a) if (b.get(clientId) !== serverId) return false
  return true
}

function readEvent(id: string, text: string): WorkstreamEvent | undefined {
  let event: unknown
  try {
    event = JSON.parse(text)
  } catch {
    return undefined
  }
  if (checkWorkstreamEvent(event, 'event') !== undefined) return undefined
  return (event as WorkstreamEvent).id === id ? (event as WorkstreamEvent) : undefined
}

function isRecord(value: unknown): value is MutationRecord {
  if (!value || typeof value !== 'object') return false
  const r = value as Partial<MutationRecord>
  if (typeof r.id !== 'string' || typeof r.eventId !== 'string' || r.eventId === '') return false
  if (typeof r.attempts !== 'number' || typeof r.queuedAt !== 'number' || typeof r.queuedSeq !== 'number') return false
  if (!['queued', 'sending', 'waiting', 'dead', 'confirmed'].includes(r.state as string)) return false
  if (r.kind === 'delete') return true
  if (r.kind !== 'create') return false
  if (r.state === 'confirmed') return r.confirmed === undefined || checkWorkstreamEvent(r.confirmed, 'confirmed') === undefined
  return checkSeededWorkstreamEvent(r.seed, 'seed') === undefined && checkWorkstreamEvent(r.optimistic, 'optimistic') === undefined
}
