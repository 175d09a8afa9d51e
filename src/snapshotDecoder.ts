import type { WorkstreamEvent } from './models'
import type { SnapshotDelta } from './view'
import { WorkstreamSyncError } from './errors'
import { ChunkedBody, scanValueIn } from './chunkedBody'
import { hasByteOrderMark, isFlatNumberMap, NOT_JSON, parseJsonSlice } from './jsonScanner'
import { idOf, parseSlice, walkIterable, type SliceTable } from './iterableWalk'
import { resolveItems, type Items, type Resolution } from './resolveItems'

/**
 * A decoded snapshot. Results of decodeSnapshot also carry, opaquely, the body and the slice table
 * that the next decode needs: pass the last one back as `previous`, and let older ones go.
 */
export interface DecodedSnapshot {
  /**
   * Events in server order, duplicates removed: the last occurrence of an id wins, at its own
   * position, as in any map built from the list and in JSON.parse of duplicate keys, so that every
   * reader of a snapshot agrees on it. Quarantined items appear as their last good version when
   * there is one, and are left out when there is none.
   */
  readonly events: readonly WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
  /** Items that have an id but failed validation: one error each (kind 'validation', eventId and path set). */
  readonly quarantined: readonly WorkstreamSyncError[]
  /**
   * Whether this result was computed with the fast path (for tests and the logger). A byte-identical
   * body returns the previous result itself, which then reports 'identical'.
   */
  readonly path: 'identical' | 'slices' | 'full'
  /**
   * Raw JSON text of an event that was new or changed in the decode that made this result, for the
   * persistence layer to store without re-stringifying; undefined for events kept from before.
   */
  rawText(id: string): string | undefined
  readonly stamp: object
  /** The ids that differ from `previous` (when one was given): what consumers need to look at. */
  readonly changedFrom?: SnapshotDelta
}

export interface DecodeOptions {
  /** Validates one item: undefined when valid, else "path: problem". The store passes checkWorkstreamEvent. */
  validate: (value: unknown, path: string) => string | undefined
  /**
   * The last good version of an event the store knows (for quarantine when `previous` lacks it,
   * e.g. after a cache hydration). A new event equal to it keeps its identity.
   */
  lastGood?: (id: string) => WorkstreamEvent | undefined
}

class Snapshot implements DecodedSnapshot {
  readonly events: readonly WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
  readonly quarantined: readonly WorkstreamSyncError[]
  readonly changedFrom: SnapshotDelta | undefined
  readonly stamp: object
  /** Set to 'identical' when a byte-identical body returns this result again. */
  path: 'identical' | 'slices' | 'full'
  readonly #table: SliceTable
  readonly #fresh: ReadonlyMap<string, number>

  constructor(resolved: Resolution, path: 'slices' | 'full', table: SliceTable, stamp: object = {}) {
    this.stamp = stamp
    this.events = resolved.events
    this.byId = resolved.byId
    this.quarantined = resolved.quarantined
    this.changedFrom = resolved.changedFrom
    this.path = path
    this.#table = table
    this.#fresh = resolved.fresh
  }

  /** The slice table of a result of this module; undefined for anything else, or when its body was transferred away. */
  static tableOf(snapshot: DecodedSnapshot | undefined): SliceTable | undefined {
    if (!(snapshot instanceof Snapshot)) return undefined
    const table = snapshot.#table
    return (table.body.length > 0 && table.body.intact) || table.texts !== undefined ? table : undefined
  }

  rawText(id: string): string | undefined {
    const k = this.#fresh.get(id)
    if (k === undefined) return undefined
    const { body, bounds } = this.#table
    // A full decode kept no offsets: the event re-stringified is the same JSON value.
    if (bounds.length === 0) return JSON.stringify(this.byId.get(id))
    return new TextDecoder().decode(body.peek(bounds[2 * k]!, bounds[2 * k + 1]!))
  }
}

/**
 * Decodes a `GET /workstream_events` body, whole or as the chunks it arrived in (which are not
 * copied into one buffer). A body byte-identical to the previous one returns the
 * previous result itself; otherwise only the events whose bytes changed are parsed, and unchanged
 * events keep their object identity. The result retains `body` (do not mutate it afterwards) for
 * the next decode, and never retains `previous`.
 *
 * Throws WorkstreamSyncError kind 'validation' when the body is not JSON, not an object envelope,
 * has no `iterable` array, or has an item without a non-empty string `id` (then nobody can tell
 * which events the snapshot holds, so the whole snapshot is rejected).
 */
export function decodeSnapshot(received: Uint8Array | readonly Uint8Array[], previous: DecodedSnapshot | undefined, options: DecodeOptions): DecodedSnapshot {
  const body = ChunkedBody.of(received)
  const table = Snapshot.tableOf(previous)
  // A reader that found the body identical as it arrived hands back the previous chunks themselves.
  if (table !== undefined && table.texts === undefined && (received === table.body.chunks || (table.body.length === body.length && body.equals(0, table.body, 0, body.length)))) {
    const same = previous as Snapshot
    same.path = 'identical'
    return same
  }
  const decoder = new TextDecoder()
  return decodeSlices(body, previous, table, options, decoder) ?? decodeFull(body, previous, options, decoder)
}

/**
 * The chunks `snapshot` was decoded from, which the next body may be compared with as it arrives
 * (see SnapshotChunksOptions.unchangedFrom); undefined for a seeded result, which has none.
 */
export function chunksOf(snapshot: DecodedSnapshot | undefined): readonly Uint8Array[] | undefined {
  const table = Snapshot.tableOf(snapshot)
  return table !== undefined && table.texts === undefined ? table.body.chunks : undefined
}

/**
 * A previous result made from events and the exact JSON text each was parsed from (a cache that
 * stores what the server sent), so that the first decode after a reload compares bytes instead
 * of parsing every event again. The walk predicts the next element from the order given, which
 * should be the server's usual order. `stamp` is that of the snapshot the caller already holds
 * with these very events, so that the next delta applies to it; `byId`, that snapshot's map of
 * them, if the caller has one.
 */
export function seededSnapshot(events: readonly WorkstreamEvent[], texts: readonly string[], stamp?: object, byId: ReadonlyMap<string, WorkstreamEvent> = new Map(events.map((event) => [event.id, event]))): DecodedSnapshot {
  // Nothing writes to a result's lists: the events and the table's events can be one copy.
  const list = [...events]
  const resolved: Resolution = { events: list, byId, quarantined: [], fresh: new Map(), kept: list, changedFrom: undefined }
  // The texts are encoded one at a time as the walk reaches them, not into one body up front: a
  // body of them all would double the bytes allocated by the first poll after a reload.
  return new Snapshot(resolved, 'full', { body: ChunkedBody.of([]), bounds: new Int32Array(0), ids: events.map((e) => e.id), events: resolved.kept, texts }, stamp)
}

/** The fast path. Returns undefined on anything it cannot handle confidently: the full decode decides. */
function decodeSlices(body: ChunkedBody, previous: DecodedSnapshot | undefined, table: SliceTable | undefined, options: DecodeOptions, decoder: TextDecoder): Snapshot | undefined {
  // Offsets are kept as int32, which also keeps them small integers in V8's optimized code.
  if (body.length > 0x7fffffff) return undefined
  let p = body.skipWhitespace(hasByteOrderMark(body.bytes(0, 3)) ? 3 : 0)
  if (body.byteAt(p) !== 0x7b) return undefined
  p = body.skipWhitespace(p + 1)
  let items: Items | undefined
  for (;;) {
    if (body.byteAt(p) !== 0x22) return undefined
    const keyEnd = scanValueIn(body, p)
    const key = keyEnd < 0 ? NOT_JSON : parseSlice(decoder, body, p, keyEnd)
    if (key === NOT_JSON) return undefined
    p = body.skipWhitespace(keyEnd)
    if (body.byteAt(p) !== 0x3a) return undefined
    p = body.skipWhitespace(p + 1)
    if (key === 'iterable') {
      // Of duplicate keys JSON.parse keeps the last; rare enough to leave to the full decode.
      if (items !== undefined) return undefined
      items = { ids: [], values: [], reused: [], bounds: [] }
      p = walkIterable(body, p, table, previous?.byId, decoder, items)
    } else {
      // `schema`, `score`, `indices` and unknown keys are checked only to reject invalid JSON.
      // `indices` is not used: `iterable` is authoritative, and indices that disagree with it
      // (stale, partial, or built by a buggy server) must not drop, duplicate or reorder events.
      const end = scanValueIn(body, p)
      const bytes = end < 0 ? undefined : body.bytes(p, end)
      p = bytes === undefined || !(isFlatNumberMap(bytes, 0, bytes.length) || parseJsonSlice(decoder, bytes, 0, bytes.length) !== NOT_JSON) ? -1 : end
    }
    if (p < 0) return undefined
    p = body.skipWhitespace(p)
    if (body.byteAt(p) === 0x7d) break
    if (body.byteAt(p) !== 0x2c) return undefined
    p = body.skipWhitespace(p + 1)
  }
  if (items === undefined || body.skipWhitespace(p + 1) !== body.length) return undefined
  const resolved = resolveItems(items, previous, options)
  return new Snapshot(resolved, 'slices', { body, bounds: Int32Array.from(items.bounds), ids: items.ids, events: resolved.kept })
}

/** The fallback: the whole body through JSON.parse, then the same per-item rules as the fast path. */
function decodeFull(body: ChunkedBody, previous: DecodedSnapshot | undefined, options: DecodeOptions, decoder: TextDecoder): Snapshot {
  let envelope: unknown
  try {
    // TextDecoder drops a leading byte order mark, as the fast path skips it.
    envelope = JSON.parse(decoder.decode(body.whole()))
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new WorkstreamSyncError('validation', `The snapshot body is not valid JSON (${detail}). ${REJECTED}`, { cause: error })
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw new WorkstreamSyncError('validation', `The snapshot body is ${describe(envelope)}, not a WorkstreamEvents object. ${REJECTED}`)
  }
  const iterable: unknown = (envelope as { iterable?: unknown }).iterable
  if (!Array.isArray(iterable)) throw rejection('iterable', `expected an array, got ${describe(iterable)}`)
  const items: Items = { ids: [], values: iterable, reused: [], bounds: [] }
  for (let i = 0; i < iterable.length; i++) {
    const item: unknown = iterable[i]
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw rejection(`iterable[${i}]`, `expected an event object, got ${describe(item)}`)
    }
    const id = idOf(item)
    if (id === undefined) throw rejection(`iterable[${i}].id`, `expected a non-empty string, got ${describe((item as { id?: unknown }).id)}`)
    items.ids.push(id)
    items.reused.push(false)
  }
  return new Snapshot(resolveItems(items, previous, options), 'full', { body, bounds: new Int32Array(0), ids: [], events: [] })
}

const REJECTED = 'The whole snapshot is rejected and the last good events are kept; the server sent bad data. Check that baseUrl points at Pieces OS (or a compatible server).'

function rejection(path: string, problem: string): WorkstreamSyncError {
  return new WorkstreamSyncError('validation', `${path}: ${problem}. ${REJECTED}`, { path })
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (value === '') return 'an empty string'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
