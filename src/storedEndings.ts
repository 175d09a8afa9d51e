import type { CacheArea } from './cacheArea'
import type { WorkstreamSyncErrorKind } from './errors'
import type { WorkstreamEvent } from './models'
import type { Ending, MutationError, Settlement } from './mutation'
import { checkWorkstreamEvent } from './validate'

/** Storage's key of the list. Only the leader writes it (see isOwnersKey). */
export const ENDINGS_KEY = 'ended'

/**
 * How many endings storage keeps. A tab hears how its mutation ended in the leader's next state
 * message, a moment later: the list is for a leader tab that closed or died in that moment.
 */
export const ENDINGS_KEPT = 32

const ERROR_KINDS: readonly WorkstreamSyncErrorKind[] = ['network', 'timeout', 'http', 'validation', 'storage', 'invalid-input', 'aborted']

/**
 * How the leader ended the latest of other tabs' creates, by mutation id, oldest first: written
 * in the batch that deletes the create's record. A tab that takes over after the leader's tab
 * closed (or died) before its state message said so finds its create gone from storage; this list
 * tells it how its caller's promise ends. A key of its own, not a field of the meta record: the
 * meta record is written again with every changed snapshot, and the list holds events.
 */
export class StoredEndings {
  readonly #area: CacheArea
  #endings = new Map<string, Ending>()

  constructor(area: CacheArea) {
    this.#area = area
  }

  /** What storage held (a takeover goes on adding to it), or nothing, once it held no cache. */
  adopt(endings: ReadonlyMap<string, Ending>): void {
    this.#endings = new Map(endings)
  }

  /** Queues a write of the list with these settlements added: call it with the save that deletes their records. */
  add(settled: readonly Settlement[]): void {
    if (settled.length === 0) return
    for (const { mutationId, origin: _, ...ending } of settled) {
      this.#endings.delete(mutationId)
      this.#endings.set(mutationId, ending)
    }
    for (const id of this.#endings.keys()) {
      if (this.#endings.size <= ENDINGS_KEPT) break
      this.#endings.delete(id)
    }
    this.#area.queueSet(ENDINGS_KEY, [...this.#endings])
  }
}

/**
 * The endings a stored list holds. Storage may hold anything (another version wrote it, or the
 * disk did): entries that are not an ending are skipped, and a value that is not a list is none.
 */
export function readEndings(value: unknown): ReadonlyMap<string, Ending> {
  const endings = new Map<string, Ending>()
  if (!Array.isArray(value)) return endings
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') continue
    const ending = readEnding(entry[1])
    if (ending) endings.set(entry[0], ending)
  }
  return endings
}

function readEnding(value: unknown): Ending | undefined {
  if (!value || typeof value !== 'object') return undefined
  const { outcome, event, error } = value as { outcome?: unknown; event?: unknown; error?: unknown }
  if (outcome === 'resolved') {
    if (event === undefined) return { outcome }
    return checkWorkstreamEvent(event) === undefined ? { outcome, event: event as WorkstreamEvent } : undefined
  }
  if (outcome !== 'rejected' || !isError(error)) return undefined
  return { outcome, error: { kind: error.kind, message: error.message, ...(error.status !== undefined ? { status: error.status } : {}) } }
}

function isError(value: unknown): value is MutationError {
  if (!value || typeof value !== 'object') return false
  const { kind, message, status } = value as Partial<MutationError>
  return ERROR_KINDS.includes(kind as WorkstreamSyncErrorKind) && typeof message === 'string' && (status === undefined || (Number.isInteger(status) && status >= 100 && status <= 599))
}
