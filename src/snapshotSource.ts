import type { WorkstreamClient } from './client'
import { jsonEqual } from './equal'
import { WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import { chunksOf, decodeSnapshot, seededSnapshot, type DecodedSnapshot } from './snapshotDecoder'
import { checkWorkstreamEvent } from './validate'
import { inOrder, snapshotOf, snapshotOrder, type ServerSnapshot } from './view'

interface Seed {
  /** The snapshot read from the cache: its stamp makes the first delta apply to the store's own snapshot. */
  readonly snapshot: ServerSnapshot
  /** One per event of the snapshot, in its order. */
  readonly texts: readonly string[]
}

export interface SnapshotResult {
  /** The same object as the last time when nothing changed. */
  readonly snapshot: ServerSnapshot
  readonly quarantined: readonly WorkstreamSyncError[]
  readonly path: 'identical' | 'slices' | 'full' | 'parsed'
  /** The received JSON text of events parsed this time, for the cache. */
  readonly rawText: ((id: string) => string | undefined) | undefined
}

/**
 * Fetches snapshots and turns them into server snapshots that keep the identity of every
 * unchanged event. With a client that gives raw bodies, unchanged bytes are never parsed.
 */
export class SnapshotSource {
  readonly #client: WorkstreamClient
  /** Whether the client gives raw bodies, which are decoded incrementally. */
  readonly #raw: boolean
  readonly #transferables: boolean | undefined
  #last: DecodedSnapshot | undefined
  #lastParsed: ServerSnapshot | undefined
  /** The cache's snapshot and texts, which the first body is compared with instead of a previous one. */
  #seed: Seed | undefined

  constructor(client: WorkstreamClient, transferables: boolean | undefined) {
    this.#client = client
    this.#raw = Boolean(client.snapshotChunks || client.snapshotBody)
    this.#transferables = transferables
  }

  /**
   * `known` gives the store's current version of an event: reused when equal, kept when the new
   * one is invalid. The first decode waits for `hydrated`, which may offer a seed. `signal` aborts
   * the request.
   */
  async fetch(known: (id: string) => WorkstreamEvent | undefined, hydrated?: Promise<unknown>, signal?: AbortSignal): Promise<SnapshotResult> {
    const options = { ...(this.#transferables !== undefined ? { transferables: this.#transferables } : {}), ...(signal ? { signal } : {}) }
    const client = this.#client
    if (this.#raw) {
      const unchangedFrom = chunksOf(this.#last)
      const body = client.snapshotChunks ? await client.snapshotChunks(unchangedFrom ? { ...options, unchangedFrom } : options) : await client.snapshotBody!(options)
      if (this.#last === undefined && hydrated !== undefined) await hydrated
      // The first snapshot after a reload compares bytes with the cached texts instead of
      // parsing every event again.
      const seed = this.#seed
      this.#seed = undefined
      if (seed !== undefined && this.#last === undefined) this.#last = seedInServerOrder(seed)
      const decoded = decodeSnapshot(body, this.#last, { validate: checkEvent, lastGood: known })
      this.#last = decoded
      return { snapshot: decoded, quarantined: decoded.quarantined, path: decoded.path, rawText: (id) => decoded.rawText(id) }
    }
    // A custom client without raw bodies: a deep-equal diff keeps identity instead.
    const envelope = await this.#client.snapshot(options)
    const quarantined: WorkstreamSyncError[] = []
    const events = envelope.iterable.flatMap((event, i) => {
      const current = known(event.id)
      const problem = tooDeep(event, `iterable[${i}]`)
      if (problem !== undefined) {
        quarantined.push(new WorkstreamSyncError('validation', `${problem}. Event ${JSON.stringify(event.id)} is quarantined.`, { path: `iterable[${i}]`, eventId: event.id }))
        return current === undefined ? [] : [current]
      }
      return [current !== undefined && jsonEqual(current, event) ? current : event]
    })
    const previous = this.#lastParsed
    const snapshot = previous && previous.events.length === events.length && events.every((e, i) => e === previous.events[i]) ? previous : snapshotOf(events)
    this.#lastParsed = snapshot
    return { snapshot, quarantined, path: 'parsed', rawText: undefined }
  }

  /**
   * Offers the snapshot read from the cache, with the JSON text each of its events was parsed
   * from. Used once, by the first fetch, if nothing was fetched before.
   */
  seed(snapshot: ServerSnapshot, texts: readonly string[]): void {
    // The texts must line up with the snapshot's events, one each.
    if (this.#raw && this.#last === undefined && this.#lastParsed === undefined && snapshot.events.length === texts.length) {
      this.#seed = { snapshot, texts }
    }
  }

  /** Forgets the last body (after clear()), so that the next snapshot is applied in full. */
  reset(): void {
    this.#last = undefined
    this.#lastParsed = undefined
    this.#seed = undefined
  }
}

/** The usual order of a snapshot is newest first, as the view's: the decoder predicts from it. */
function seedInServerOrder(seed: Seed): DecodedSnapshot {
  const { snapshot, texts } = seed
  const { events, byId } = snapshot
  const stamp = snapshot.stamp ?? {}
  // The view ordered this snapshot when it was shown: its order is known already.
  const order = snapshotOrder(snapshot)
  return seededSnapshot(inOrder(events, order), inOrder(texts, order), stamp, byId)
}

/**
 * Deeper than this, an event is refused (quarantined): JSON.parse reads any depth, but deep
 * equality, JSON.stringify and structuredClone overflow the stack long before a hostile body ends.
 */
const MAX_EVENT_DEPTH = 100

function checkEvent(value: unknown, path: string): string | undefined {
  return checkWorkstreamEvent(value, path) ?? tooDeep(value, path)
}

function tooDeep(value: unknown, path: string): string | undefined {
  return typeof value === 'object' && value !== null && nestsDeeperThan(value, MAX_EVENT_DEPTH) ? `${path}: nests deeper than ${MAX_EVENT_DEPTH} levels, which no WorkstreamEvent does` : undefined
}

/** Recurses at most `limit` levels, whatever the depth of `value`; leaves cost no call (this runs on every parsed event). */
function nestsDeeperThan(value: object, limit: number): boolean {
  if (limit === 0) return true
  // Not value[i]: see jsonEqual on why arrays are walked by builtins.
  if (Array.isArray(value)) return value.some((item: unknown) => typeof item === 'object' && item !== null && nestsDeeperThan(item, limit - 1))
  for (const key in value) {
    const item: unknown = (value as Record<string, unknown>)[key]
    if (typeof item === 'object' && item !== null && nestsDeeperThan(item, limit - 1)) return true
  }
  return false
}
