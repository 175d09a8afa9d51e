import { globalTimers, within, type Timers } from './environment'
import { WorkstreamSyncError } from './errors'
import { memoryStorage, type SyncStorage, type SyncStorageArea } from './storage'

/**
 * How long the cache may take to open and load before the store goes on in memory: an IndexedDB
 * open queued behind another connection's blocked upgrade never ends, and hydration must. Generous,
 * so that a large cache on a slow disk still loads.
 */
export const LOAD_TIMEOUT_MS = 10_000

const DELETE = Symbol('delete')

export interface CacheAreaOptions {
  storage: SyncStorage
  namespace: string
  /** Reports storage failures; sync goes on either way. */
  onError: (error: WorkstreamSyncError) => void
  /** For the load deadline. Default: the global timers. */
  timers?: Timers
  /** Whether this tab owns the cache in storage: only it wipes storage after a failure. */
  owns: () => boolean
  /** Keys only the tab that owns storage writes: a batch leaves them out once this tab no longer does. */
  ownersOnly: (key: string) => boolean
  /** Storage failed and the area is now an empty one in memory. Called before the failure is reported. */
  onFallBack: () => void
}

/**
 * The storage area under a cache: changes queued by key and written in the order they were
 * queued, coalesced, each batch in one transaction where the storage has `write`; writes issued at
 * once, outside the queue; a read within the load deadline. A storage failure switches it to an
 * area in memory for the rest of its life, and the storage given up is wiped where it allows.
 */
export class CacheArea {
  #area: SyncStorageArea
  #fellBack = false
  readonly #options: CacheAreaOptions
  #pending = new Map<string, unknown>()
  #writing: Promise<void> = Promise.resolve()
  #scheduled = false
  /** After a read that failed: the storage given up, kept open, and the copies putRecord() wrote to it (see dropLeftBehind). */
  #leftBehind: { area: SyncStorageArea; keys: string[]; wipe: boolean } | undefined
  /** Settles when a read fails: writes still in flight to the storage given up then are waited for no longer. */
  #giveUp!: () => void
  readonly #givenUp = new Promise<void>((resolve) => (this.#giveUp = resolve))

  constructor(options: CacheAreaOptions) {
    this.#options = options
    this.#area = options.storage.open(options.namespace)
  }

  /** Whether storage failed and the cache now lives in memory only. */
  get fellBack(): boolean {
    return this.#fellBack
  }

  /** Whether changes are queued that no batch has taken yet. */
  get queued(): boolean {
    return this.#pending.size > 0
  }

  /** Every entry of the area; rejects once the load deadline passes. */
  entries(): Promise<Array<[string, unknown]>> {
    return this.#withinLoadDeadline(this.#area.entries())
  }

  /**
   * A read failed: falls back to memory, and flush() no longer waits for the writes in flight to
   * the storage given up. `copies`: the keys to delete from that storage (`wipe`: all of it), which
   * stays open until dropLeftBehind() or close().
   */
  readFailed(error: unknown, copies: { keys: string[]; wipe: boolean } | undefined): void {
    if (copies) this.#leftBehind = { area: this.#area, ...copies }
    this.#giveUp()
    this.#fallBack(error, 'read')
  }

  /** Queues `value` under `key` for the next batch; a later change of the key replaces it. */
  queueSet(key: string, value: unknown): void {
    this.#pending.set(key, value)
  }

  /** Queues the deletion of `key` for the next batch. */
  queueDelete(key: string): void {
    this.#pending.set(key, DELETE)
  }

  /** Drops the changes queued and not yet issued. */
  dropQueued(): void {
    this.#pending.clear()
  }

  /** Resolves when every write queued so far has landed (or failed over to memory). */
  flush(): Promise<void> {
    if (this.#pending.size) this.schedule()
    return this.#writing
  }

  /** Issues `write` at once, not behind the batches: it lands before what is written after it. */
  atOnce(write: (area: SyncStorageArea) => Promise<void>): void {
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

  /** Writes what is queued in one batch, after the writes before it. */
  schedule(): void {
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
      // A tab that no longer owns storage leaves out the keys of the one that does (see ownersOnly).
      const owns = this.#options.owns()
      for (const [key, value] of batch) {
        if (!owns && this.#options.ownersOnly(key)) continue
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

  /** Deletes every entry of the area in use, at once; a failure falls back to memory. */
  async clear(): Promise<void> {
    try {
      await this.#area.clear()
    } catch (error) {
      this.#fallBack(error, 'clear')
    }
  }

  /** Best effort: storage opened again and wiped, a failure (or no answer in time) reported. */
  async wipeStorage(): Promise<void> {
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

  /** Deletes the copies readFailed() was given from the storage given up (or wipes it), then closes it. */
  dropLeftBehind(): void {
    const left = this.#leftBehind
    if (!left) return
    this.#leftBehind = undefined
    // A tab that lost the lead again during its read no longer owns storage: the new leader writes it.
    if (left.wipe && !this.#options.owns()) {
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

  #fallBack(error: unknown, operation: string): void {
    if (this.#fellBack) return
    this.#fellBack = true
    const failed = this.#area
    this.#area = memoryStorage().open(this.#options.namespace)
    // The memory area starts empty: the next save writes all of the cache and the outbox into it.
    this.#options.onFallBack()
    // What storage holds goes stale from now on, and a later session would send its outbox again
    // (mutations this one confirms, or drops): wipe it where storage still lets us. Only the tab
    // that owns the cache (the leader) does: another tab's failure must not wipe what it saved.
    const wipe = operation === 'write' && this.#options.owns()
    const wiping = wipe ? attempt(() => failed.clear()) : Promise.resolve()
    // A read's failed area holding copies to delete stays open for dropLeftBehind() or close().
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
