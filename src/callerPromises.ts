import { WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import type { Settlement } from './mutation'

interface Deferred {
  resolve(event: WorkstreamEvent | undefined): void
  reject(error: WorkstreamSyncError): void
  readonly promise: Promise<unknown>
}

/** The promises that callers of create() and delete() hold, by mutation id. */
export class CallerPromises {
  readonly #pending = new Map<string, Deferred>()

  /** A promise for the mutation's outcome. */
  defer(mutationId: string): Promise<unknown> {
    let resolve!: (value: unknown) => void
    let reject!: (error: unknown) => void
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res
      reject = rej
    })
    this.#pending.set(mutationId, { resolve, reject, promise: handled(promise) })
    return promise
  }

  /** The promise of a mutation still pending here, if any. */
  get(mutationId: string): Promise<unknown> | undefined {
    return this.#pending.get(mutationId)?.promise
  }

  settle(settled: readonly Settlement[]): void {
    for (const settlement of settled) {
      const deferred = this.#pending.get(settlement.mutationId)
      if (!deferred) continue
      this.#pending.delete(settlement.mutationId)
      if (settlement.outcome === 'resolved') {
        deferred.resolve(settlement.event)
      } else {
        const { kind, message, status } = settlement.error
        deferred.reject(new WorkstreamSyncError(kind, message, { ...(status !== undefined ? { status } : {}), mutationId: settlement.mutationId }))
      }
    }
  }

  rejectAll(error: WorkstreamSyncError): void {
    for (const deferred of this.#pending.values()) deferred.reject(error)
    this.#pending.clear()
  }
}

/**
 * Marks a promise as handled and returns it. Failures also reach errors$, so a caller who
 * ignores a mutation's promise must not get an unhandled rejection for it.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {})
  return promise
}
