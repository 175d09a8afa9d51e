import { IDBFactory } from 'fake-indexeddb'
import { filter, firstValueFrom, type Observable } from 'rxjs'
import { afterEach } from 'vitest'
import { createWorkstreamStore, type WorkstreamStore } from '../../src/store'
import type { StoreOptions } from '../../src/storeOptions'
import { indexedDbStorage, memoryStorage, type SyncStorage, type SyncStorageArea } from '../../src/storage'
import { startWorkstreamServer, type WorkstreamServer, type WorkstreamServerOptions } from '../../src/server/index'
import type { WorkstreamSyncError } from '../../src/errors'
import { manualSource, type ManualSource } from '../../src/environment'

const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** An embedded server on 127.0.0.1, closed after the test. */
export async function startServer(options: WorkstreamServerOptions = {}): Promise<WorkstreamServer> {
  const server = await startWorkstreamServer(options)
  cleanups.push(() => server.close())
  return server
}

/** A server (with `options`), and `storage` holding the cache a first store synced from it and closed: the last page load's. */
export async function serverWithCache(storage: SyncStorage, options: WorkstreamServerOptions = {}): Promise<WorkstreamServer> {
  const server = await startServer(options)
  const first = makeStore(server, { storage })
  await first.refresh()
  await first.dispose()
  return server
}

/** A store with test-friendly defaults (no polling by itself, fast retries), disposed after the test. */
export function makeStore(server: { url: string }, options: StoreOptions = {}): WorkstreamStore & { errors: WorkstreamSyncError[] } {
  const store = createWorkstreamStore({
    // A ready client brings its own base URL and deadline.
    ...(options.client ? {} : { baseUrl: server.url, timeoutMs: 2000 }),
    pollIntervalMs: 0,
    storage: memoryStorage(),
    retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 },
    ambiguityGraceMs: 30,
    ...options,
  })
  const errors: WorkstreamSyncError[] = []
  store.errors$.subscribe((error) => errors.push(error))
  cleanups.push(() => store.dispose())
  return Object.assign(store, { errors })
}

/** A fresh fake IndexedDB of the test's own, so no two tests share a database. */
export function freshIndexedDb(name = 'test'): SyncStorage {
  return indexedDbStorage({ name, indexedDB: new IDBFactory() })
}

/** Resolves with the first value that passes `predicate`. */
export function until<T>(source: Observable<T>, predicate: (value: T) => boolean): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate)))
}

/** A storage that counts reads and writes, around another storage. */
export function countingStorage(inner: SyncStorage = memoryStorage()): SyncStorage & { reads: number; writes: number; keysWritten: string[] } {
  const counter = {
    kind: 'counting',
    reads: 0,
    writes: 0,
    keysWritten: [] as string[],
    open(namespace: string): SyncStorageArea {
      const area = inner.open(namespace)
      return {
        entries: () => {
          counter.reads++
          return area.entries()
        },
        setMany: (items) => {
          counter.writes++
          counter.keysWritten.push(...items.map(([key]) => key))
          return area.setMany(items)
        },
        delMany: (keys) => {
          counter.writes++
          counter.keysWritten.push(...keys)
          return area.delMany(keys)
        },
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
  return counter
}

/** An online source that a test switches. */
export function switchableOnline(initial = true): ManualSource {
  return manualSource(initial)
}

/**
 * A fetch that holds snapshot responses until released: the response was made by the server
 * at request time but arrives late, as a stale snapshot does.
 */
export function gatedFetch(): { fetch: typeof fetch; hold(): void; release(): Promise<void>; arrived: Promise<void> } {
  let holding = false
  let releaseGate: (() => void) | undefined
  let gate: Promise<void> = Promise.resolve()
  let markArrived!: () => void
  const arrived = new Promise<void>((resolve) => (markArrived = resolve))
  return {
    fetch: async (input, init) => {
      const response = await fetch(input, init)
      if (holding && String(input).includes('/workstream_events') && (init?.method ?? 'GET') === 'GET') {
        const body = await response.arrayBuffer()
        markArrived()
        await gate
        return new Response(body, { status: response.status, headers: response.headers })
      }
      return response
    },
    hold() {
      holding = true
      gate = new Promise((resolve) => (releaseGate = resolve))
    },
    async release() {
      holding = false
      releaseGate?.()
    },
    arrived,
  }
}
