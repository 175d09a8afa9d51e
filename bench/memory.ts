import { createWorkstreamStore, memoryStorage, type SyncStorage } from '../src/index'
import { discardingStorage } from './countingStorage'
import { BENCH_BASE_URL, createInjectedFetch } from './injectedFetch'

/** Bytes retained, after a full GC: V8's heap, and memory outside it (`external`, which includes array buffers). */
export interface Retained {
  readonly heap: number
  readonly external: number
  readonly total: number
}

export interface MemoryResult {
  readonly count: number
  /** `JSON.parse` of the body, kept alive. */
  readonly parsed: Retained
  /** A store that synced the body, with a storage that keeps its data outside the heap (as IndexedDB does). */
  readonly store: Retained
  /** The same store with `memoryStorage()`, whose copy of the cache lives in the heap too. */
  readonly storeWithMemoryCache: Retained
}

/**
 * What holding `count` events costs: the growth of heapUsed + external across creating the
 * thing and a full GC, with the thing still alive. `external` already includes `arrayBuffers`
 * (Node's docs), so adding both would count the body twice.
 */
export async function measureMemory(body: Uint8Array, count: number, gc: () => void): Promise<MemoryResult> {
  const parsed = await retainedBy(gc, async () => JSON.parse(new TextDecoder().decode(body)) as unknown)
  const store = await retainedBy(gc, () => syncedStore(body, discardingStorage()))
  const storeWithMemoryCache = await retainedBy(gc, () => syncedStore(body, memoryStorage()))
  return { count, parsed, store, storeWithMemoryCache }
}

async function syncedStore(body: Uint8Array, storage: SyncStorage): Promise<{ dispose(): Promise<void> }> {
  const injected = createInjectedFetch(body)
  const store = createWorkstreamStore({ baseUrl: BENCH_BASE_URL, fetch: injected.fetch, storage, pollIntervalMs: 0, tabs: false })
  injected.prepare(body)
  await store.refresh()
  // Let the cache writes land (both storages settle in microtasks), so that the queue is not counted.
  await new Promise((resolve) => setImmediate(resolve))
  return store
}

async function retainedBy<T>(gc: () => void, make: () => Promise<T>): Promise<Retained> {
  const before = usage(gc)
  let kept: T | undefined = await make()
  const after = usage(gc)
  // Still referenced here, so the GC above could not collect it.
  const disposable = kept as { dispose?: () => Promise<void> }
  if (typeof disposable?.dispose === 'function') await disposable.dispose()
  kept = undefined
  return { heap: after.heap - before.heap, external: after.external - before.external, total: after.total - before.total }
}

function usage(gc: () => void): Retained {
  gc()
  gc()
  const { heapUsed, external } = process.memoryUsage()
  return { heap: heapUsed, external, total: heapUsed + external }
}
