import type { WorkstreamEvent } from './models'
import type { Ending, MutationRecord } from './mutation'
import type { Renames, SyncState } from './state'
import { SEGMENT_PREFIX, type SegmentLayout } from './eventSegments'
import { checkSeededWorkstreamEvent, checkWorkstreamEvent } from './validate'
import { ENDINGS_KEY, readEndings } from './storedEndings'

/**
 * The cache's format. A cache of another format is discarded (there is no migration yet).
 * 2: events in segments (1: one key per event).
 */
export const CACHE_FORMAT = 2

export const META_KEY = 'meta'
export const RECORD_PREFIX = 'm:'
/**
 * A follower's own copy of a mutation it queued, written at once so that it survives the tab.
 * The leader's version ('m:') supersedes it: two tabs writing one key would let the older version
 * land last, and a reload would send a create again that the leader had sent.
 */
export const HANDED_PREFIX = 'f:'

/** What the meta record keeps of how the server names created events. */
export type Naming = Pick<SyncState, 'renamed' | 'clientIdsHonoured'>

export interface Meta extends SegmentLayout {
  readonly format: number
  readonly namespace: string
  readonly lastSyncedAt?: number
  readonly renamed?: Renames
  readonly clientIdsHonoured?: true
  readonly clearedBy?: string
}

/** What storage holds, read: what is unreadable in it is listed, not trusted. */
export interface StoredCache {
  readonly meta: Meta
  /** Storage holds only followers' copies of their mutations, and so no meta record: `meta` lists no segments. */
  readonly onlyHanded: boolean
  /** Every stored segment, by sequence number, for EventSegments.read. */
  readonly segments: ReadonlyMap<number, unknown>
  /** The leader's mutation records and the followers' copies it has not superseded, in queue order. */
  readonly records: MutationRecord[]
  /** The keys of followers' copies the leader's records supersede. */
  readonly superseded: readonly string[]
  /** The keys of unreadable entries. */
  readonly bad: string[]
  /** How the leader ended the latest of other tabs' creates (see StoredEndings). */
  readonly endings: ReadonlyMap<string, Ending>
}

/**
 * The events and the meta record that lists them are the leader's to write: a tab that led
 * until a moment ago would land its late segments over the new leader's, under the same keys.
 */
export function isOwnersKey(key: string): boolean {
  return key === META_KEY || key === ENDINGS_KEY || key.startsWith(SEGMENT_PREFIX)
}

/** The meta record of a cache whose events lie as `layout` says: it goes in the same write as the segments. */
export function metaRecord(namespace: string, layout: SegmentLayout, lastSyncedAt: number | undefined, naming: Naming, clearedBy: string | undefined): Meta {
  const { renamed, clientIdsHonoured } = naming
  return {
    format: CACHE_FORMAT,
    namespace,
    ...layout,
    ...(lastSyncedAt !== undefined ? { lastSyncedAt } : {}),
    ...(renamed.size ? { renamed: [...renamed] } : {}),
    ...(clientIdsHonoured ? { clientIdsHonoured } : {}),
    ...(clearedBy !== undefined ? { clearedBy } : {}),
  }
}

/**
 * Reads the entries of a storage area that holds some (an empty one holds no cache at all).
 * `unreadable`: the cache is not one this version reads, and says what storage holds instead.
 */
export function readStoredCache(stored: ReadonlyArray<readonly [string, unknown]>, namespace: string): StoredCache | { readonly unreadable: string } {
  // Followers' own mutations may be all there is: a follower writes no meta record (it lists
  // the leader's segments, which a follower's copy of it would hide).
  const onlyHanded = stored.every(([key]) => key.startsWith(HANDED_PREFIX))
  const meta = (onlyHanded ? { format: CACHE_FORMAT, namespace, segments: [], base: 0 } : stored.find(([key]) => key === META_KEY)?.[1]) as Partial<Meta> | undefined
  if (!meta || typeof meta !== 'object' || meta.format !== CACHE_FORMAT || meta.namespace !== namespace || !isLayout(meta)) {
    const found = !meta || typeof meta !== 'object' ? 'no readable meta record' : meta.format !== CACHE_FORMAT ? `a cache of format ${String(meta.format)}` : meta.namespace !== namespace ? `the cache of another namespace (${JSON.stringify(meta.namespace)})` : 'an unreadable list of segments'
    return { unreadable: found }
  }
  const segments = new Map<number, unknown>()
  const records: MutationRecord[] = []
  const handed: MutationRecord[] = []
  const bad: string[] = []
  let endings: ReadonlyMap<string, Ending> = new Map()
  // Keys this version does not know are left alone: a later version may keep more beside the cache.
  for (const [key, value] of stored) {
    if (key === ENDINGS_KEY) {
      endings = readEndings(value)
    } else if (key.startsWith(SEGMENT_PREFIX)) {
      const seq = Number(key.slice(SEGMENT_PREFIX.length))
      if (Number.isInteger(seq) && seq >= 0) segments.set(seq, value)
      else bad.push(key)
    } else if (key.startsWith(RECORD_PREFIX) || key.startsWith(HANDED_PREFIX)) {
      if (isRecord(value)) (key.startsWith(RECORD_PREFIX) ? records : handed).push(value)
      else bad.push(key)
    }
  }
  // A follower's copy of a mutation the leader has saved is superseded: deleted, not read.
  const leaders = new Set(records.map((r) => r.id))
  const superseded: string[] = []
  for (const record of handed) {
    if (leaders.has(record.id)) superseded.push(HANDED_PREFIX + record.id)
    else records.push(record)
  }
  sortInQueueOrder(records)
  return { meta, onlyHanded, segments, records, superseded, bad, endings }
}

/** The renames a meta record lists; anything unreadable (written by another version) is skipped. */
export function readRenames(value: unknown): Renames {
  if (!Array.isArray(value)) return []
  return value.filter((pair): pair is [string, string] => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string')
}

/** An event's stored JSON text, parsed and checked; undefined when it is unreadable or not the event `id`. */
export function readEvent(id: string, text: string): WorkstreamEvent | undefined {
  let event: unknown
  try {
    event = JSON.parse(text)
  } catch {
    return undefined
  }
  if (checkWorkstreamEvent(event, 'event') !== undefined) return undefined
  return (event as WorkstreamEvent).id === id ? (event as WorkstreamEvent) : undefined
}

/**
 * Storage keeps no order, and one millisecond (or a clock set back) can hold a create and the
 * delete of its event: whatever the clock says, the create must go out first.
 */
function sortInQueueOrder(records: MutationRecord[]): void {
  const createdAt = new Map<string, number>()
  for (const r of records) if (r.kind === 'create') createdAt.set(r.eventId, r.queuedAt)
  const at = (r: MutationRecord): number => (r.kind === 'create' ? r.queuedAt : Math.max(r.queuedAt, createdAt.get(r.eventId) ?? -Infinity))
  const rank = (r: MutationRecord): number => (r.kind === 'create' ? 0 : 1)
  records.sort((a, b) => at(a) - at(b) || rank(a) - rank(b))
}

/** The meta record's list of segments: sequence numbers, and how many of them the last rewrite wrote. */
function isLayout(meta: Partial<Meta>): meta is Meta {
  const { segments, base } = meta
  return Array.isArray(segments) && segments.every((seq) => Number.isInteger(seq) && seq >= 0) && Number.isInteger(base) && base! >= 0 && base! <= segments.length
}

function isRecord(value: unknown): value is MutationRecord {
  if (!value || typeof value !== 'object') return false
  const r = value as Partial<MutationRecord>
  if (typeof r.id !== 'string' || typeof r.eventId !== 'string' || r.eventId === '') return false
  if (typeof r.attempts !== 'number' || typeof r.queuedAt !== 'number' || typeof r.queuedSeq !== 'number') return false
  if (!['queued', 'sending', 'waiting', 'dead', 'confirmed'].includes(r.state as string)) return false
  if (r.kind === 'delete') return true
  if (r.kind !== 'create') return false
  if (r.state === 'confirmed') return r.confirmed === undefined || checkWorkstreamEvent(r.confirmed, 'confirmed') === undefined
  return checkSeededWorkstreamEvent(r.seed, 'seed') === undefined && checkWorkstreamEvent(r.optimistic, 'optimistic') === undefined
}
