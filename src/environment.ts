/** Something that is either on or off, and says when it changes (online, page visible). */
export interface SignalSource {
  /** The current value. Called often: keep it cheap. */
  get(): boolean
  /** Calls `listener` on every change; returns the function that unsubscribes. */
  subscribe(listener: (value: boolean) => void): () => void
}

/** Timers, injectable so that tests can use fake ones. Defaults read the globals at call time. */
export interface Timers {
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown
  /** Cancels a timer by the handle `setTimeout` returned. */
  clearTimeout(handle: unknown): void
}

export const globalTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

/**
 * Settles as `work` does, or, if it has not settled within `ms`, with what `late()` returns (or
 * rejects with what it throws). The timer is cleared either way.
 */
export function within<T>(timers: Timers, ms: number, work: Promise<T>, late: () => T): Promise<T> {
  let handle: unknown
  const deadline = new Promise<T>((resolve, reject) => {
    handle = timers.setTimeout(() => {
      try {
        resolve(late())
      } catch (error) {
        reject(error)
      }
    }, ms)
  })
  return Promise.race([work, deadline]).finally(() => timers.clearTimeout(handle))
}

/**
 * `navigator.onLine` with the window's `online`/`offline` events. Where there is no window
 * (Node), it is always online: a failed request then tells the truth.
 */
export function browserOnlineSource(): SignalSource {
  return {
    get: () => (typeof navigator !== 'undefined' && typeof navigator.onLine === 'boolean' ? navigator.onLine : true),
    subscribe(listener) {
      const target = globalThis as unknown as Partial<EventTargetLike>
      if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') return () => {}
      const online = (): void => listener(true)
      const offline = (): void => listener(false)
      target.addEventListener('online', online)
      target.addEventListener('offline', offline)
      return () => {
        target.removeEventListener!('online', online)
        target.removeEventListener!('offline', offline)
      }
    },
  }
}

/** `document.visibilityState` with `visibilitychange`. Without a document (Node), always visible. */
export function browserVisibilitySource(): SignalSource {
  const visible = (): boolean => typeof document === 'undefined' || document.visibilityState !== 'hidden'
  return {
    get: visible,
    subscribe(listener) {
      if (typeof document === 'undefined') return () => {}
      const onChange = (): void => listener(visible())
      document.addEventListener('visibilitychange', onChange)
      return () => document.removeEventListener('visibilitychange', onChange)
    },
  }
}

/** A {@link SignalSource} switched by hand with `set`. */
export interface ManualSource extends SignalSource {
  /** Changes the value and tells the listeners; setting the current value again does nothing. */
  set(value: boolean): void
}

/**
 * A source switched by hand: for tests, or for an app that knows better than the browser
 * whether it is online (for example from its own health check).
 */
export function manualSource(initial = true): ManualSource {
  let value = initial
  const listeners = new Set<(value: boolean) => void>()
  return {
    get: () => value,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    set(next) {
      if (next === value) return
      value = next
      for (const listener of [...listeners]) listener(next)
    },
  }
}

/** A source that is always on, for stores that must not pause. */
export function alwaysOn(): SignalSource {
  return { get: () => true, subscribe: () => () => {} }
}

/** A random id: crypto.randomUUID where it exists, else a random 128-bit hex string. */
export function randomId(random: () => number = Math.random): string {
  const cryptoApi = globalThis.crypto as Crypto | undefined
  if (cryptoApi && typeof cryptoApi.randomUUID === 'function') return cryptoApi.randomUUID()
  let hex = ''
  for (let i = 0; i < 32; i++) hex += Math.floor(random() * 16).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
