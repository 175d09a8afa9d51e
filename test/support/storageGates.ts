import type { SyncStorage } from '../../src/storage'

/** The same data as `inner`, through a connection whose writes fail with a full quota (while `state.failing`). */
export function failingWritesTo(inner: SyncStorage, state = { failing: true }): SyncStorage {
  return {
    kind: 'failing',
    open(namespace) {
      const area = inner.open(namespace)
      const full = async (): Promise<never> => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      }
      return {
        entries: () => area.entries(),
        setMany: (items) => (state.failing ? full() : area.setMany(items)),
        delMany: (keys) => (state.failing ? full() : area.delMany(keys)),
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
}

/** `inner`, whose writes can be held: a held write lands only on release, as a write still in flight when a tab dies. */
export function heldWrites(inner: SyncStorage) {
  let gate: Promise<void> | undefined
  let open!: () => void
  const held = <T>(write: () => Promise<T>): Promise<T> => (gate ? gate.then(write) : write())
  const storage: SyncStorage = {
    kind: 'held writes',
    open(namespace) {
      const area = inner.open(namespace)
      return {
        entries: () => area.entries(),
        setMany: (items) => held(() => area.setMany(items)),
        delMany: (keys) => held(() => area.delMany(keys)),
        clear: () => held(() => area.clear()),
        close: () => area.close(),
      }
    },
  }
  return {
    storage,
    hold() {
      gate = new Promise((resolve) => (open = resolve))
    },
    release() {
      gate = undefined
      open()
    },
  }
}

/** `inner`, telling `written` the keys of each write that landed. */
export function watchedStorage(inner: SyncStorage, written: (keys: string[]) => void): SyncStorage {
  return {
    kind: 'watched',
    open(namespace) {
      const area = inner.open(namespace)
      return {
        entries: () => area.entries(),
        setMany: async (items) => {
          await area.setMany(items)
          written(items.map(([key]) => key))
        },
        delMany: (keys) => area.delMany(keys),
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
}
