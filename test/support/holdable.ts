import type { TabCoordinator, TabMessage } from '../../src/tabs'

/** Wraps a coordinator so that a test can hold what it receives, then deliver it in order. */
export function holdable() {
  let holding = false
  const held: TabMessage[] = []
  const listeners = new Set<(message: TabMessage) => void>()
  type Waiting = Array<{ matches: (message: TabMessage) => boolean; resolve: () => void }>
  const waiting: Waiting = []
  const arriving: Waiting = []
  const notify = (list: Waiting, message: TabMessage): void => {
    for (const w of [...list]) {
      if (!w.matches(message)) continue
      list.splice(list.indexOf(w), 1)
      w.resolve()
    }
  }
  const deliver = (message: TabMessage): void => {
    listeners.forEach((listener) => listener(message))
    notify(waiting, message)
  }
  return {
    wrap(inner: TabCoordinator): TabCoordinator {
      inner.onMessage((message) => {
        if (holding) held.push(message)
        else deliver(message)
        notify(arriving, message)
      })
      return {
        get isLeader() {
          return inner.isLeader
        },
        onLeadership: (listener) => inner.onLeadership(listener),
        post: (message) => inner.post(message),
        onMessage(listener) {
          listeners.add(listener)
          return () => listeners.delete(listener)
        },
        close: () => inner.close(),
      }
    },
    /** Resolves once a message that `matches` has been delivered to the store. */
    received: (matches: (message: TabMessage) => boolean) => new Promise<void>((resolve) => waiting.push({ matches, resolve })),
    /** Resolves once a message that `matches` has arrived, held or delivered. */
    arrived: (matches: (message: TabMessage) => boolean) => new Promise<void>((resolve) => arriving.push({ matches, resolve })),
    hold() {
      holding = true
    },
    /** Delivers what was held, in order, but for what `drop` picks (a message lost on the way). */
    release(drop: (message: TabMessage, index: number) => boolean = () => false) {
      holding = false
      held.splice(0).forEach((message, index) => {
        if (!drop(message, index)) deliver(message)
      })
    },
  }
}
