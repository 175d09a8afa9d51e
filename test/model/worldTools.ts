import { manualSource, type ManualSource } from '../../src/environment'
import { WorkstreamSyncError } from '../../src/errors'
import type { WorkstreamEvent } from '../../src/models'

export type Switchable = ManualSource

/** An online source that the world switches. */
export const switchable = (initial: boolean): Switchable => manualSource(initial)

/** `promise`, or a rejection naming `what` when it has not settled within `ms`: every wait is bounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stuck: ${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** Whether two lists hold the same events, id for id and key for key, whatever their order. */
export function sameEvents(a: readonly WorkstreamEvent[], b: readonly WorkstreamEvent[]): boolean {
  if (a.length !== b.length) return false
  const byId = new Map(b.map((e) => [e.id, JSON.stringify(e)]))
  return byId.size === b.length && a.every((e) => byId.get(e.id) === JSON.stringify(e))
}

/** The events of `a` that `b` lacks or holds in another version, by id. */
export function eventDifferences(a: readonly WorkstreamEvent[], b: readonly WorkstreamEvent[]): string[] {
  const byId = new Map(b.map((e) => [e.id, JSON.stringify(e)]))
  return a.filter((e) => byId.get(e.id) !== JSON.stringify(e)).map((e) => e.id)
}

/** A caller's rejection, in words. */
export function describeRejection(rejected: unknown): string {
  return rejected instanceof WorkstreamSyncError ? `${rejected.kind}: ${rejected.message}` : String(rejected)
}
