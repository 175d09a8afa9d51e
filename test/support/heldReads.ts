import type { SyncStorage } from '../../src/storage'

/** `inner`, whose reads can be held: a held read takes its data at once and answers on release, as a slow IndexedDB read. */
export function heldReads(inner: SyncStorage) {
  let gate: Promise<void> | undefined
  let open!: () => void
  let started!: () => void
  let reading = new Promise<void>((resolve) => (started = resolve))
  const storage: SyncStorage = {
    kind: 'held reads',
    open(namespace) {
      const area = inner.open(namespace)
      return {
        entries: async () => {
          const data = await area.entries()
          if (gate) {
            started()
            await gate
          }
          return data
        },
        setMany: (items) => area.setMany(items),
        delMany: (keys) => area.delMany(keys),
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
  return {
    storage,
    hold() {
      gate = new Promise((resolve) => (open = resolve))
      reading = new Promise<void>((resolve) => (started = resolve))
    },
    get reading() {
      return reading
    },
    release() {
      gate = undefined
      open()
    },
  }
}

/**
 * `inner`, whose first read after `passing` ones fails when the test says so, as a transient
 * IndexedDB error does (a value not readable this once).
 */
export function failingRead(inner: SyncStorage, passing = 0) {
  let started!: () => void
  const reading = new Promise<void>((resolve) => (started = resolve))
  let fail!: () => void
  const failure = new Promise<never>((_, reject) => (fail = () => reject(new DOMException('The read failed.', 'UnknownError'))))
  let failed = false
  let reads = 0
  const storage: SyncStorage = {
    kind: 'failing read',
    open(namespace) {
      const area = inner.open(namespace)
      return {
        entries: () => {
          if (failed || reads++ < passing) return area.entries()
          failed = true
          started()
          return failure
        },
        setMany: (items) => area.setMany(items),
        delMany: (keys) => area.delMany(keys),
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
  return { storage, reading, fail }
}
