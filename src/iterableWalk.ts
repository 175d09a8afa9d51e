import { ESCAPED_OFFSET, isAsciiEscaped, unescapeAsciiJson } from './asciiJson'
import { ChunkedBody, scanValueIn } from './chunkedBody'
import { NOT_JSON, parseJsonSlice } from './jsonScanner'
import type { WorkstreamEvent } from './models'
import { indexOfIds, type Items } from './resolveItems'

/** What the next decode needs from this one. */
export interface SliceTable {
  /** Kept for the byte comparisons: a body must not be mutated after it was decoded. */
  readonly body: ChunkedBody
  /** Element k of `iterable` spans [bounds[2k], bounds[2k + 1]); empty after a full decode. */
  readonly bounds: Int32Array
  readonly ids: readonly string[]
  /** The event made from element k; undefined when its bytes must be parsed again (quarantined or overridden). */
  readonly events: readonly (WorkstreamEvent | undefined)[]
  /** A seeded table has no body: element k is `texts[k]` in UTF-8, encoded when a walk compares it. */
  readonly texts?: readonly string[]
}

/**
 * Walks the `iterable` array at `p` into `items` and returns the position after it, or -1. At
 * each element it predicts the next element of the previous body (or one of the three after it,
 * which skips deletions): when the bytes are identical, the element is that previously parsed and
 * validated object, as JSON objects are self-delimiting (the `,` or `]` after it is checked as after
 * any element). Otherwise it parses the element and, when its id was further on in the previous
 * body, moves the prediction to just after it.
 */
export function walkIterable(body: ChunkedBody, p: number, table: SliceTable | undefined, known: ReadonlyMap<string, unknown> | undefined, decoder: TextDecoder, items: Items): number {
  if (body.byteAt(p) !== 0x5b) return -1
  p = body.skipWhitespace(p + 1)
  if (body.byteAt(p) === 0x5d) return p + 1
  const match = table === undefined ? undefined : table.texts !== undefined ? textMatcher(body, table, table.texts) : sliceMatcher(body, table)
  const count = table === undefined ? 0 : table.ids.length
  const lookup: Lookup = { scans: 0, indexById: undefined }
  let j = 0
  // Where the prediction was before it jumped far ahead: an event moved to the front looks like a
  // run of deletions until the next element shows which of the two it was.
  let resume = -1
  for (;;) {
    if (body.byteAt(p) !== 0x7b) return -1
    let k = -1
    let length = -1
    if (match !== undefined) {
      for (let c = j, stop = Math.min(j + 4, count); c < stop && length < 0; c++) if ((length = match(p, c)) >= 0) k = c
      if (length < 0 && resume >= 0 && (length = match(p, resume)) >= 0) k = resume
    }
    let end: number
    if (table !== undefined && length >= 0) {
      end = p + length
      items.ids.push(table.ids[k]!)
      items.values.push(table.events[k])
      items.reused.push(true)
      j = k + 1
      resume = -1
    } else {
      end = scanValueIn(body, p)
      const value = end < 0 ? NOT_JSON : parseSlice(decoder, body, p, end)
      const id = idOf(value)
      // Invalid JSON or an item without an id rejects the snapshot; the full decode words the error.
      if (id === undefined) return -1
      items.ids.push(id)
      items.values.push(value)
      items.reused.push(false)
      if (table !== undefined) {
        const before = previousIndex(table, id, j, known, lookup)
        if (before >= j + 4 && resume < 0) resume = j
        if (before >= j) j = before + 1
      }
    }
    items.bounds.push(p, end)
    p = body.skipWhitespace(end)
    if (body.byteAt(p) === 0x5d) return p + 1
    if (body.byteAt(p) !== 0x2c) return -1
    p = body.skipWhitespace(p + 1)
  }
}

/** How far past the prediction an id is looked for first among the previous ids. */
const LOOK_AHEAD = 8
/** Scans of the rest of the previous ids per walk, before a map of them is built instead. */
const MAX_SCANS = 4

interface Lookup {
  scans: number
  indexById: Map<string, number> | undefined
}

/**
 * Where `id` was at or after the prediction `j` in the previous body, or -1. An updated event is
 * usually at `j`, a new one is not in `known` (the previous snapshot's ids), and a run of
 * deletions is found by a few scans: a map of all the previous ids, which costs as much as the
 * rest of a changed poll's bookkeeping, is built only when the order changed more than that.
 */
function previousIndex(table: SliceTable, id: string, j: number, known: ReadonlyMap<string, unknown> | undefined, lookup: Lookup): number {
  const { ids } = table
  const stop = Math.min(j + LOOK_AHEAD, ids.length)
  for (let c = j; c < stop; c++) if (ids[c] === id) return c
  if (known !== undefined && !known.has(id)) return -1
  if (lookup.indexById === undefined && lookup.scans < MAX_SCANS) {
    lookup.scans++
    for (let c = stop; c < ids.length; c++) if (ids[c] === id) return c
    return -1
  }
  lookup.indexById ??= indexOfIds(ids)
  const before = lookup.indexById.get(id) ?? -1
  return before >= j ? before : -1
}

/** The byte length of the previous element k when the bytes at `p` repeat it (and it was valid), else -1. */
type ElementMatcher = (p: number, k: number) => number

function sliceMatcher(body: ChunkedBody, table: SliceTable): ElementMatcher {
  return (p, k) => {
    const start = table.bounds[2 * k]!
    const length = table.bounds[2 * k + 1]! - start
    return table.events[k] !== undefined && endsElement(body, p, length) && body.equals(p, table.body, start, length) ? length : -1
  }
}

/**
 * Compares with a seeded table's texts, each encoded into one reused buffer when first compared
 * (stored as ASCII, its escapes undone: see asciiJson).
 */
function textMatcher(body: ChunkedBody, table: SliceTable, texts: readonly string[]): ElementMatcher {
  const encoder = new TextEncoder()
  let scratch = new Uint8Array(16_384)
  let encodedBody = ChunkedBody.of(scratch)
  let encoded = -1
  let start = 0
  let length = 0
  return (p, k) => {
    if (table.events[k] === undefined) return -1
    if (encoded !== k) {
      const text = texts[k]!
      let result = encoder.encodeInto(text, scratch)
      // encodeInto writes whole characters only; no text takes more than three bytes a character.
      if (result.read < text.length) {
        scratch = new Uint8Array(3 * text.length)
        encodedBody = ChunkedBody.of(scratch)
        result = encoder.encodeInto(text, scratch)
      }
      encoded = k
      start = isAsciiEscaped(text) ? ESCAPED_OFFSET : 0
      length = (start === 0 ? result.written : unescapeAsciiJson(scratch, result.written)) - start
    }
    return endsElement(body, p, length) && body.equals(p, encodedBody, start, length) ? length : -1
  }
}

/** The cheap test first: an element of `length` bytes at `p` fits the body and ends with `}`. */
function endsElement(body: ChunkedBody, p: number, length: number): boolean {
  return length > 0 && p + length <= body.length && body.byteAt(p + length - 1) === 0x7d
}

/** JSON.parse of the bytes [start, end), or NOT_JSON. */
export function parseSlice(decoder: TextDecoder, body: ChunkedBody, start: number, end: number): unknown {
  const bytes = body.peek(start, end)
  return parseJsonSlice(decoder, bytes, 0, bytes.length)
}

export function idOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const id: unknown = (value as { id?: unknown }).id
  return typeof id === 'string' && id !== '' ? id : undefined
}
