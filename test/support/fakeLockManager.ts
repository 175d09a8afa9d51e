/**
 * The Web Locks API in one process, exclusive mode only, for tests in Node (Node 20 has no
 * `navigator.locks`): requests queue per name, `signal` aborts a queued request, `steal`
 * takes a held lock at once while the old holder's request rejects with an AbortError, and
 * `ifAvailable` is granted only when nobody holds or waits for the lock (else its callback gets null).
 */
export interface FakeLockManager extends LockManager {
  /** How many requests hold or wait for `name`. */
  waiting(name: string): number
  /** The tab holding `name` is gone without a word (crashed): its lock is released. */
  dropHolder(name: string): void
}

interface LockRequest {
  readonly name: string
  readonly callback: LockGrantedCallback<unknown>
  readonly resolve: (value: unknown) => void
  readonly reject: (reason: unknown) => void
}

export function fakeLockManager(): FakeLockManager {
  const held = new Map<string, LockRequest>()
  const queues = new Map<string, LockRequest[]>()
  const queueOf = (name: string): LockRequest[] => {
    let queue = queues.get(name)
    if (!queue) queues.set(name, (queue = []))
    return queue
  }

  const grantNext = (name: string): void => {
    if (held.has(name)) return
    const next = queueOf(name).shift()
    if (!next) return
    held.set(name, next)
    const lock: Lock = { name, mode: 'exclusive' }
    const release = (): void => {
      if (held.get(name) !== next) return
      held.delete(name)
      grantNext(name)
    }
    Promise.resolve()
      .then(() => next.callback(lock))
      .then(
        (value) => {
          release()
          next.resolve(value)
        },
        (error: unknown) => {
          release()
          next.reject(error)
        },
      )
  }

  function request(name: string, optionsOrCallback: LockOptions | LockGrantedCallback<unknown>, maybeCallback?: LockGrantedCallback<unknown>): Promise<unknown> {
    const options: LockOptions = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback
    return new Promise((resolve, reject) => {
      if (!callback) throw new TypeError('request() needs a callback')
      if (options.mode === 'shared') throw new TypeError('the fake supports exclusive requests only')
      if (options.signal && (options.steal || options.ifAvailable)) throw new DOMException('signal cannot be used with steal or ifAvailable', 'NotSupportedError')
      if (options.ifAvailable && (held.has(name) || queueOf(name).length > 0)) {
        Promise.resolve()
          .then(() => callback(null))
          .then(resolve, reject)
        return
      }
      const { signal } = options
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const entry: LockRequest = { name, callback, resolve, reject }
      if (options.steal) {
        const holder = held.get(name)
        held.delete(name)
        holder?.reject(new DOMException('The lock was stolen by another request.', 'AbortError'))
        queueOf(name).unshift(entry)
      } else {
        queueOf(name).push(entry)
      }
      signal?.addEventListener('abort', () => {
        const queue = queueOf(name)
        const index = queue.indexOf(entry)
        if (index < 0) return
        queue.splice(index, 1)
        reject(signal.reason)
      })
      grantNext(name)
    })
  }

  return {
    request: request as LockManager['request'],
    async query() {
      const snapshot = (requests: LockRequest[]): LockInfo[] => requests.map((r) => ({ name: r.name, mode: 'exclusive' }))
      return { held: snapshot([...held.values()]), pending: snapshot([...queues.values()].flat()) }
    },
    waiting: (name) => (held.has(name) ? 1 : 0) + queueOf(name).length,
    dropHolder(name) {
      held.delete(name)
      grantNext(name)
    },
  }
}
