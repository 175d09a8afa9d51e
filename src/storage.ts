import { clear, delMany, entries, promisifyRequest, setMany, type UseStore } from 'idb-keyval'
import { WorkstreamSyncError } from './errors'

/**
 * One namespace's key-value area: what the store persists into. Values are plain,
 * structured-cloneable data (events, outbox records, a meta record). Methods may reject (or
 * throw); the store then reports a `storage` error and goes on in memory.
 */
export interface SyncStorageArea {
  /** Every entry of the area. */
  entries(): Promise<Array<[string, unknown]>>
  /** Writes all entries in one transaction: all or none. */
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>
  /** Deletes these keys (absent ones are fine) in one transaction. */
  delMany(keys: readonly string[]): Promise<void>
  /**
   * Optional: sets `entries` and deletes `keys` (absent ones are fine) in one transaction, all or
   * none. The store writes each batch through it where it exists, as `memoryStorage()` and
   * `indexedDbStorage()` do. Without it (a custom storage's default), the store calls `setMany`
   * and then `delMany`, and a page that closes between the two keeps the sets without the
   * deletes: a reload may then read a mutation as still to send that this page had settled.
   */
  write?(entries: ReadonlyArray<readonly [string, unknown]>, keys: readonly string[]): Promise<void>
  /** Deletes every entry of the area (the store's `clear()`, for example on logout). */
  clear(): Promise<void>
  /** Releases the connection; the area may be opened again later. */
  close(): void
}

/**
 * Where a store persists its cache and outbox. `open` is called once per store with the
 * store's namespace (base URL and application id), so that one storage can serve several
 * servers and apps without mixing their data.
 */
export interface SyncStorage {
  /** A name for logs and debugging, for example `'memory'` or `'indexeddb'`. */
  readonly kind: string
  /** Returns the area of one namespace. Must not throw: report failures from the area's methods. */
  open(namespace: string): SyncStorageArea
}

/**
 * Storage in memory: nothing survives the process, but stores that share one instance share
 * data (handy in tests: dispose a store, start another on the same storage, as after a reload).
 * It is the default where there is no IndexedDB (Node), and what `storage: false` means.
 */
export function memoryStorage(): SyncStorage {
  const areas = new Map<string, Map<string, unknown>>()
  return {
    kind: 'memory',
    open(namespace) {
      let area = areas.get(namespace)
      if (!area) areas.set(namespace, (area = new Map()))
      const data = area
      return {
        entries: async () => [...data.entries()],
        async setMany(items) {
          for (const [key, value] of items) data.set(key, value)
        },
        async delMany(keys) {
          for (const key of keys) data.delete(key)
        },
        async write(items, keys) {
          for (const [key, value] of items) data.set(key, value)
          for (const key of keys) data.delete(key)
        },
        async clear() {
          data.clear()
        },
        close() {},
      }
    },
  }
}

/** Options of {@link indexedDbStorage}. */
export interface IndexedDbStorageOptions {
  /** Prefix of the database names; each namespace gets a database of its own. Default `'workstream-sync'`. */
  name?: string
  /** The IndexedDB factory. Default: the global `indexedDB`, read when a store opens. */
  indexedDB?: IDBFactory
}

const OBJECT_STORE = 'entries'

/**
 * IndexedDB storage through idb-keyval: one database per namespace, named `<name>:` and then the
 * JSON of `[baseUrl, applicationId]` (for example
 * `workstream-sync:["http://localhost:1000",""]`), one key per entry, written as deltas. The default of a
 * store's `storage` option where IndexedDB exists. Opening fails with a `storage` error where
 * IndexedDB is missing or blocked (some private modes); the store then falls back to memory.
 *
 * Defaults: `name` `'workstream-sync'`, `indexedDB` the global one, read when a store opens.
 */
export function indexedDbStorage(options: IndexedDbStorageOptions = {}): SyncStorage {
  const prefix = options.name ?? 'workstream-sync'
  return {
    kind: 'indexeddb',
    open(namespace) {
      const connection = openConnection(() => options.indexedDB ?? globalThis.indexedDB, `${prefix}:${namespace}`)
      const use = connection.use
      return {
        entries: () => guard('read the cache', () => entries<string, unknown>(use)),
        setMany: (items) => guard('write the cache', () => setMany(items as [string, unknown][], use)),
        delMany: (keys) => guard('write the cache', () => delMany(keys as string[], use)),
        write: (items, keys) => guard('write the cache', () => use('readwrite', (store) => writeIn(store, items, keys))),
        clear: () => guard('clear the cache', () => clear(use)),
        close: connection.close,
      }
    },
  }
}

/**
 * A lazily opened, cached connection, like idb-keyval's `createStore`, that can also be closed
 * and that fails instead of waiting forever when another connection blocks the upgrade.
 */
function openConnection(factory: () => IDBFactory | undefined, dbName: string): { use: UseStore; close: () => void } {
  let dbp: Promise<IDBDatabase> | undefined
  // Bumped by close(), so that an open still in flight then closes as soon as it lands.
  let generation = 0
  const getDb = (): Promise<IDBDatabase> => {
    if (dbp) return dbp
    const idb = factory()
    if (!idb) return Promise.reject(new WorkstreamSyncError('storage', 'IndexedDB is not available here; the cache stays in memory.'))
    const openedIn = generation
    const request = idb.open(dbName)
    request.onupgradeneeded = () => request.result.createObjectStore(OBJECT_STORE)
    const blocked = new Promise<never>((_, reject) => {
      request.onblocked = () => reject(new WorkstreamSyncError('storage', `IndexedDB database "${dbName}" is blocked by another connection (an open tab of an older version of this app): the cache stays in memory until that tab is closed and this one reloaded.`))
    })
    const opened = Promise.race([promisifyRequest(request), blocked])
    dbp = opened
    opened.then(
      (db) => {
        if (openedIn !== generation) db.close()
        // The browser may close the connection (Safari does, and so does clearing site data);
        // drop it so that the next call reopens. Another tab's upgrade asks us to let go.
        db.onclose = () => {
          if (dbp === opened) dbp = undefined
        }
        db.onversionchange = () => {
          db.close()
          if (dbp === opened) dbp = undefined
        }
      },
      () => {
        if (dbp === opened) dbp = undefined
      },
    )
    return opened
  }
  return {
    use: (mode, callback) => getDb().then((db) => callback(db.transaction(OBJECT_STORE, mode).objectStore(OBJECT_STORE))),
    close() {
      generation++
      const current = dbp
      dbp = undefined
      current?.then((db) => db.close(), () => {})
    },
  }
}

/** Puts `items` and deletes `keys` in the transaction of `store`, and resolves once it commits. */
function writeIn(store: IDBObjectStore, items: ReadonlyArray<readonly [string, unknown]>, keys: readonly string[]): Promise<void> {
  try {
    for (const [key, value] of items) store.put(value, key)
    for (const key of keys) store.delete(key)
  } catch (error) {
    // A put that throws (a value that cannot be cloned, a full quota) would let the requests
    // before it commit: all or none.
    try {
      store.transaction.abort()
    } catch {
      // Already aborted or finished: nothing of it commits either way.
    }
    throw error
  }
  return promisifyRequest(store.transaction)
}

async function guard<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof WorkstreamSyncError) throw error
    const name = error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException) ? (error as Error).name : ''
    const detail = error instanceof Error ? error.message : String(error)
    const hint = name === 'QuotaExceededError' ? ' The storage quota is full; free space or call clear().' : ''
    throw new WorkstreamSyncError('storage', `Could not ${what} (${name || 'error'}: ${detail}).${hint} Sync goes on with the cache in memory.`, { cause: error })
  }
}
