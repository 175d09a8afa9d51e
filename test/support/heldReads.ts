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
