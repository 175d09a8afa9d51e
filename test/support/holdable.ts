import type { TabCoordinator, TabMessage } from '../../src/tabs'

/** Wraps a coordinator so that a test can hold what it receives, then deliver it in order. */
export function holdable() {
  let holding = false
  const held: TabMessage[] = []
  const listeners = new Set<(message: TabMessage) => void>()
  const waiting: Array<{ matches: (message: TabMessage) => boolean; resolve: () => void }> = []
  const deliver = (message: TabMessage): void => {
    listeners.forEach((listener) => listener(message))
    for (const w of [...waiting]) {
      if (!w.matches(message)) continue
      waiting.splice(waiting.indexOf(w), 1)
      w.resolve()
    }
  }
  return {
    wrap(inner: TabCoordinator): TabCoordinator {
      inner.onMessage((message) => (holding ? held.push(message) : deliver(message)))
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
