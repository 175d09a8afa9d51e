import type { SyncStorage, SyncStorageArea } from '../src/index'

/** A storage around another one that counts what the store writes, and can wait for the writes to land. */
export interface CountingStorage extends SyncStorage {
  /** Keys written (set or deleted) since the last reset, in order. */
  readonly keysWritten: readonly string[]
  /** The entries set since the last reset, in order. */
  readonly entriesSet: ReadonlyArray<readonly [string, unknown]>
  /** setMany, delMany and write calls (each one transaction) since the last reset. */
  readonly writes: number
  reset(): void
  /** Resolves when every write queued so far has landed. */
  settled(): Promise<void>
}

export function countingStorage(inner: SyncStorage): CountingStorage {
  let keysWritten: string[] = []
  let entriesSet: Array<readonly [string, unknown]> = []
  let writes = 0
  const inFlight = new Set<Promise<void>>()
  const track = (write: Promise<void>): Promise<void> => {
    inFlight.add(write)
    const forget = (): void => {
      inFlight.delete(write)
    }
    write.then(forget, forget)
    return write
  }
  return {
    kind: `counting ${inner.kind}`,
    get keysWritten() {
      return keysWritten
    },
    get entriesSet() {
      return entriesSet
    },
    get writes() {
      return writes
    },
    reset() {
      keysWritten = []
      entriesSet = []
      writes = 0
    },
    async settled() {
      // The store queues its writes in microtasks after the change; a macrotask turn lets them start.
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve))
        if (inFlight.size === 0) return
        await Promise.allSettled([...inFlight])
      }
    },
    open(namespace): SyncStorageArea {
      const area = inner.open(namespace)
      const write = area.write?.bind(area)
      return {
        entries: () => area.entries(),
        // The store writes through it where the storage has it, as IndexedDB does: so does the bench.
        ...(write
          ? {
              write(items: ReadonlyArray<readonly [string, unknown]>, keys: readonly string[]) {
                writes++
                for (const [key] of items) keysWritten.push(key)
                keysWritten.push(...keys)
                entriesSet.push(...items)
                return track(write(items, keys))
              },
            }
          : {}),
        setMany(items) {
          writes++
          for (const [key] of items) keysWritten.push(key)
          entriesSet.push(...items)
          return track(area.setMany(items))
        },
        delMany(keys) {
          writes++
          keysWritten.push(...keys)
          return track(area.delMany(keys))
        },
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
}

/**
 * A storage that takes every write and keeps nothing, as IndexedDB keeps its data outside the
 * JavaScript heap. The memory measurement uses it so that it counts what the store itself retains.
 */
export function discardingStorage(): SyncStorage {
  return {
    kind: 'discarding',
    open: () => ({
      entries: async () => [],
      setMany: async () => {},
      delMany: async () => {},
      clear: async () => {},
      close: () => {},
    }),
  }
}
