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

/** `inner`, telling `written` the keys of each write that landed, and `deleted` those of each deletion. */
export function watchedStorage(inner: SyncStorage, written: (keys: string[]) => void, deleted?: (keys: readonly string[]) => void): SyncStorage {
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
        delMany: async (keys) => {
          await area.delMany(keys)
          deleted?.(keys)
        },
        clear: () => area.clear(),
        close: () => area.close(),
      }
    },
  }
}

/** `inner`, whose `landed(key)` resolves once a write deleting `key` has landed. */
export function deletesWatched(inner: SyncStorage) {
  const deleted = new Set<string>()
  const waiting = new Map<string, () => void>()
  const storage = watchedStorage(
    inner,
    () => {},
    (keys) => {
      for (const key of keys) {
        deleted.add(key)
        waiting.get(key)?.()
      }
    },
  )
  return { storage, landed: (key: string) => (deleted.has(key) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(key, resolve))) }
}

/**
 * `inner` in a page that closes after a number of further write transactions (a setMany, a
 * delMany, a write or a clear each): the writes after them land nothing, as the tab is gone, and
 * resolve, as nobody is left to wait for them. Passes `write` on where `inner` has it.
 */
export function closingPage(inner: SyncStorage) {
  let left = Infinity
  const landed = new Set<string>()
  const listeners: Array<() => void> = []
  const transaction = async (keys: readonly string[], write: () => Promise<void>): Promise<void> => {
    if (left <= 0) return
    left--
    await write()
    for (const key of keys) landed.add(key)
    for (const listener of listeners) listener()
  }
  const storage: SyncStorage = {
    kind: 'closing page',
    open(namespace) {
      const area = inner.open(namespace)
      const write = area.write?.bind(area)
      return {
        entries: () => area.entries(),
        setMany: (items) => transaction(items.map(([key]) => key), () => area.setMany(items)),
        delMany: (keys) => transaction(keys, () => area.delMany(keys)),
        ...(write ? { write: (items: ReadonlyArray<readonly [string, unknown]>, keys: readonly string[]) => transaction([...items.map(([key]) => key), ...keys], () => write(items, keys)) } : {}),
        clear: () => transaction([], () => area.clear()),
        close: () => area.close(),
      }
    },
  }
  return {
    storage,
    /** The page closes once this many more write transactions have been issued. */
    closeAfter(transactions: number) {
      left = transactions
    },
    /** Resolves once a write that sets or deletes `key` has landed. */
    landed(key: string): Promise<void> {
      return new Promise((resolve) => {
        const check = (): void => {
          if (landed.has(key)) resolve()
        }
        listeners.push(check)
        check()
      })
    },
  }
}
