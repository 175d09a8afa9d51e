import { compareRanges, scanValue, skipWhitespace } from './jsonScanner'

/** Compared at once by commonPrefix and commonSuffix, before they look for the first byte that differs. */
const COMPARED_BLOCK = 1024

/** The largest stretch peek() copies into the shared buffer (which grows to it as needed, and is kept): an event is some kilobytes, a snapshot's `indices` map megabytes. */
const MAX_SHARED = 64 * 1024
let shared = new Uint8Array(16_384)

/** A buffer of its own for bytes(). */
function newBuffer(length: number): Uint8Array {
  return new Uint8Array(length)
}

/** A buffer of at least `length` bytes for peek(): the shared one, grown to twice that up to MAX_SHARED; above it, one of its own, not kept. */
function sharedBuffer(length: number): Uint8Array {
  if (length > MAX_SHARED) return new Uint8Array(length)
  if (length > shared.length) shared = new Uint8Array(Math.min(MAX_SHARED, 2 * length))
  return shared
}

/**
 * A response body read as the chunks it arrived in, addressed as one run of bytes. A snapshot
 * of tens of megabytes arrives in thousands of chunks (Node's fetch reads 64 kB at a time);
 * copying them into one buffer would allocate the whole body a second time on every poll, which
 * at 50k events (183 MB) also sets off a full garbage collection of the store's heap.
 *
 * Reads are mostly in order, so the part of the last read is tried first.
 */
export class ChunkedBody {
  readonly length: number
  /**
   * The chunks, frozen: a body read again as this very array is this body, unchanged. A copy
   * when the array given was not frozen, since its owner may refill it with another body.
   */
  readonly chunks: readonly Uint8Array[]
  readonly #parts: readonly Uint8Array[]
  /** starts[i] is the offset of part i; starts[parts.length] is the length. */
  readonly #starts: number[]
  /** The part of the last read. */
  #at = 0
  /** Per part, made when first compared: a DataView (this body as the new side), the aligned words (as the old side). */
  readonly #views: Array<DataView | undefined> = []
  readonly #words: Array<Float64Array | undefined> = []

  constructor(chunks: readonly Uint8Array[]) {
    this.chunks = Object.isFrozen(chunks) ? chunks : Object.freeze([...chunks])
    this.#parts = chunks.filter((part) => part.byteLength > 0)
    this.#starts = [0]
    let length = 0
    for (const part of this.#parts) this.#starts.push((length += part.byteLength))
    this.length = length
  }

  static of(body: Uint8Array | readonly Uint8Array[]): ChunkedBody {
    // isView, not instanceof: a Uint8Array from another realm (an iframe, a vm context) is one too.
    // A list made here is frozen as it is: no copy to make, on every chunk a reader compares.
    return new ChunkedBody(ArrayBuffer.isView(body) ? Object.freeze([body as Uint8Array]) : (body as readonly Uint8Array[]))
  }

  /** False once a part lost its bytes (its buffer was transferred away). */
  get intact(): boolean {
    return this.#parts.every((part, i) => part.byteLength === this.#starts[i + 1]! - this.#starts[i]!)
  }

  /** The byte at `p`, or -1 past the end. */
  byteAt(p: number): number {
    if (p < 0 || p >= this.length) return -1
    const i = this.#part(p)
    return this.#parts[i]![p - this.#starts[i]!]!
  }

  /** The first position at or after `p` that is not JSON whitespace (space, tab, LF, CR), part by part. */
  skipWhitespace(p: number): number {
    while (p < this.length) {
      const i = this.#part(p)
      const start = this.#starts[i]!
      const part = this.#parts[i]!
      const at = skipWhitespace(part, p - start)
      if (at < part.length) return start + at
      p = start + part.length
    }
    return p
  }

  /** The bytes [start, end): a view of the part that holds them all, else a copy. */
  bytes(start: number, end: number): Uint8Array {
    return this.#read(start, end, newBuffer)
  }

  /**
   * The bytes [start, end) to read at once, never to keep: a view of the part that holds them
   * all, else a copy into a buffer shared by every body, which the next peek() overwrites. A
   * changed element of a followed body mostly spans parts (the copies of what differs are
   * small); copying each into a new buffer allocated tens of megabytes a poll at 50k events,
   * which set off collections of their own.
   */
  peek(start: number, end: number): Uint8Array {
    return this.#read(start, end, sharedBuffer)
  }

  /** The bytes [start, end): a view of the part that holds them all, else copied into the front of `into(length)`. */
  #read(start: number, end: number, into: (length: number) => Uint8Array): Uint8Array {
    end = Math.min(end, this.length)
    if (start >= end) return new Uint8Array(0)
    const i = this.#part(start)
    const from = start - this.#starts[i]!
    const length = end - start
    if (end <= this.#starts[i + 1]!) return this.#parts[i]!.subarray(from, from + length)
    const copy = into(length)
    for (let at = 0, j = i; at < length; j++) {
      const part = this.#parts[j]!
      const piece = part.subarray(at === 0 ? from : 0, Math.min(part.length, (at === 0 ? from : 0) + length - at))
      copy.set(piece, at)
      at += piece.length
    }
    return copy.length === length ? copy : copy.subarray(0, length)
  }

  /** All of it in one buffer (the first part itself when there is only one). */
  whole(): Uint8Array {
    return this.#parts.length === 1 ? this.#parts[0]! : this.bytes(0, this.length)
  }

  /** The end (exclusive) of the part that holds `p` (0 <= p < length). */
  partEnd(p: number): number {
    return this.#starts[this.#part(p) + 1]!
  }

  /**
   * Whether `length` bytes from `start` equal those of `other` from `otherStart`. `other` must
   * hold no NUL bytes, as any JSON text does (see compareRanges).
   */
  equals(start: number, other: ChunkedBody, otherStart: number, length: number): boolean {
    if (start < 0 || otherStart < 0 || start + length > this.length || otherStart + length > other.length) return false
    while (length > 0) {
      const i = this.#part(start)
      const j = other.#part(otherStart)
      const a = this.#parts[i]!
      const b = other.#parts[j]!
      const aStart = start - this.#starts[i]!
      const bStart = otherStart - other.#starts[j]!
      const n = Math.min(length, a.length - aStart, b.length - bStart)
      // Views of the same bytes (a body that took them from the last one) are equal as they are.
      const same = a.buffer === b.buffer && a.byteOffset + aStart === b.byteOffset + bStart
      if (!same && !compareRanges(a, this.#view(i), b, other.#wordsOf(j), aStart, bStart, n)) return false
      start += n
      otherStart += n
      length -= n
    }
    return true
  }

  /** Views of the bytes [start, end), one per part they lie in (no copy). */
  views(start: number, end: number): Uint8Array[] {
    const views: Uint8Array[] = []
    for (let p = start; p < end; ) {
      const i = this.#part(p)
      const from = p - this.#starts[i]!
      const to = Math.min(this.#starts[i + 1]!, end) - this.#starts[i]!
      views.push(this.#parts[i]!.subarray(from, to))
      p += to - from
    }
    return views
  }

  /** How many bytes from `start` equal those of `chunk` from `chunkStart`, at most `max`. */
  commonPrefix(start: number, chunk: Uint8Array, chunkStart: number, max: number): number {
    const other = ChunkedBody.of(chunk)
    // Mostly all of it: one comparison, before a search block by block.
    if (other.equals(chunkStart, this, start, max)) return max
    for (let n = 0; n < max; ) {
      const step = Math.min(COMPARED_BLOCK, max - n)
      if (other.equals(chunkStart + n, this, start + n, step)) {
        n += step
        continue
      }
      for (let i = 0; i < step; i++) if (this.byteAt(start + n + i) !== chunk[chunkStart + n + i]) return n + i
      // Equal after all: the block held a word that is NaN as a double, which compares unequal to itself.
      n += step
    }
    return max
  }

  /** How many bytes before `end` equal those of `chunk` before `chunkEnd`, at most `max`. */
  commonSuffix(end: number, chunk: Uint8Array, chunkEnd: number, max: number): number {
    const other = ChunkedBody.of(chunk)
    for (let n = 0; n < max; ) {
      const step = Math.min(COMPARED_BLOCK, max - n)
      if (other.equals(chunkEnd - n - step, this, end - n - step, step)) {
        n += step
        continue
      }
      for (let i = 1; i <= step; i++) if (this.byteAt(end - n - i) !== chunk[chunkEnd - n - i]) return n + i - 1
      n += step
    }
    return max
  }

  /**
   * Where the `length` bytes of `chunk` from `from` are in this body, starting within `radius` of
   * `expected`: the start nearest to it, or undefined.
   */
  find(chunk: Uint8Array, from: number, length: number, expected: number, radius: number): number | undefined {
    const low = Math.max(0, expected - radius)
    const high = Math.min(this.length - length, expected + radius)
    if (length < 2 || high < low) return undefined
    const probe = ChunkedBody.of(chunk)
    const first = chunk[from]!
    const second = chunk[from + 1]!
    let best: number | undefined
    for (let p = low; p <= high; ) {
      const i = this.#part(p)
      const part = this.#parts[i]!
      const partStart = this.#starts[i]!
      const stop = Math.min(part.length, high - partStart + 1)
      for (let k = part.indexOf(first, p - partStart); k >= 0 && k < stop; k = part.indexOf(first, k + 1)) {
        const at = partStart + k
        if ((k + 1 < part.length ? part[k + 1] : this.byteAt(at + 1)) !== second || !probe.equals(from, this, at, length)) continue
        if (best === undefined || Math.abs(at - expected) < Math.abs(best - expected)) best = at
        // Further on, every start is further from the one expected.
        else if (at > expected) return best
      }
      p = partStart + part.length
    }
    return best
  }

  #view(i: number): DataView {
    let view = this.#views[i]
    if (view === undefined) {
      const part = this.#parts[i]!
      this.#views[i] = view = new DataView(part.buffer, part.byteOffset, part.byteLength)
    }
    return view
  }

  #wordsOf(i: number): Float64Array {
    let words = this.#words[i]
    if (words === undefined) {
      const { buffer } = this.#parts[i]!
      this.#words[i] = words = new Float64Array(buffer, 0, buffer.byteLength >>> 3)
    }
    return words
  }

  /** The part that holds `p` (0 <= p < length). */
  #part(p: number): number {
    const starts = this.#starts
    let i = this.#at
    if (p >= starts[i]! && p < starts[i + 1]!) return i
    if (p >= starts[i + 1]! && p < starts[i + 2]!) return (this.#at = i + 1)
    let low = 0
    let high = this.#parts.length - 1
    while (low < high) {
      const mid = (low + high + 1) >>> 1
      if (starts[mid]! <= p) low = mid
      else high = mid - 1
    }
    return (this.#at = low)
  }
}

/**
 * The end (exclusive) of the JSON value at `p` in `body`, as scanValue finds it, or -1. Scans the
 * rest of p's part first, and copies a longer stretch only for a value that runs past it.
 */
export function scanValueIn(body: ChunkedBody, p: number): number {
  if (p >= body.length) return -1
  let end = body.partEnd(p)
  for (;;) {
    const found = scanValue(body.peek(p, end), 0)
    // A value that ends where the stretch ends may go on (a number, or a cut string or object).
    if (found >= 0 && (p + found < end || end === body.length)) return p + found
    if (end === body.length) return -1
    end = Math.min(body.length, p + Math.max(2 * (end - p), 16_384))
  }
}
