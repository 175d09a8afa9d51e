import { ChunkedBody } from './chunkedBody'

/** Bytes at the end of a chunk that differs, looked for in the last body to find where the new one goes on. */
const PROBE_BYTES = 64
/**
 * How far from where it is expected the probe is looked for: a changed event moves what follows
 * by a few bytes, a removed one by its length; events added move it by their total length, which
 * only a far search finds.
 */
const SEARCHES = [2 * 1024, 16 * 1024]
const FAR_BYTES = 1024 * 1024
/**
 * A far search costs milliseconds, and fails where the chunk ends inside a changed event (the next
 * chunk's probe is found near): it is made once a second chunk in a row was not placed, and then
 * for one in four (a run of events added, until the last body goes on).
 */
const FAR_EVERY = 4
/** Pieces that differ are merged into one part up to this many bytes; more are kept as they came. */
const MERGED_BYTES = 64 * 1024
/** A body made of views is copied once the buffers it keeps alive hold more than twice its length and this. */
export const COMPACT_SLACK = 64 * 1024

/**
 * Follows a body as it arrives against the last one, which it mostly repeats: a snapshot with a
 * few events added, removed or changed is the last one with a few stretches replaced, and what
 * follows a replaced stretch is the last body shifted. Each chunk is compared with the last body
 * at the shift found so far; where it repeats it, the new body takes views of the last body's
 * bytes, and only the bytes in between are copied. No chunk that repeats any of the last body is
 * kept (one that repeats none of it is, as a copy would hold the same bytes): at 50k events a
 * changed snapshot (183 MB) keeps a few megabytes, which spares the store V8's marking of the
 * whole heap that keeping all of it sets off.
 *
 * Where the end of a chunk that differs is found again in the last body (a probe of its last
 * bytes, near where it was expected) gives the new shift. Every view is of bytes compared equal,
 * so a probe found in the wrong place costs only another search at the next chunk.
 */
export class BodyFollower {
  readonly #last: ChunkedBody
  /** The new body so far: views of the last body's parts and copies of what differs, in order. */
  readonly #parts: Uint8Array[] = []
  /** Bytes that differ from the last body, not yet copied into a part. */
  #pending: Uint8Array[] = []
  /** New offset minus last-body offset, where the new body is expected to repeat the last one. */
  #shift = 0
  #length = 0
  /** Whether every chunk so far repeated the last body at its own offset. */
  #same = true
  /** Chunks in a row that were not placed in the last body (see FAR_EVERY). */
  #misses = 0
  /** Bytes of the last body the searches for probes have looked through. */
  #searched = 0

  constructor(last: ChunkedBody) {
    this.#last = last
  }

  /** Takes the next chunk of the new body (read only: it is not kept). */
  push(chunk: Uint8Array): void {
    const start = this.#length
    const length = chunk.byteLength
    this.#length += length
    if (length === 0) return
    const last = this.#last
    const at = start - this.#shift
    const repeated = at >= 0 && at < last.length ? last.commonPrefix(at, chunk, 0, Math.min(length, last.length - at)) : 0
    if (repeated === length) {
      this.#misses = 0
      // While the body repeats the last one from the start, its views are made only if it stops.
      if (!this.#same) this.#view(at, at + length)
      return
    }
    if (this.#same) {
      this.#same = false
      if (start > 0) this.#view(0, start)
    }
    if (repeated > 0) this.#view(at, at + repeated)
    // Where does the last body go on? Look for the chunk's last bytes near where they were expected.
    const probeStart = rareStart(chunk)
    if (probeStart > repeated) {
      const expected = at + probeStart
      const misses = this.#misses++
      const far = misses > 0 && (misses - 1) % FAR_EVERY === 0
      let found = last.find(chunk, probeStart, PROBE_BYTES, expected, 0)
      for (const radius of far ? [...SEARCHES, FAR_BYTES] : SEARCHES) found ??= this.#search(chunk, probeStart, expected, radius)
      if (found !== undefined) {
        this.#misses = 0
        // The bytes around the probe that repeat the last body there are views too.
        const back = last.commonSuffix(found, chunk, probeStart, Math.min(found, probeStart - repeated))
        const on = last.commonPrefix(found, chunk, probeStart, Math.min(length - probeStart, last.length - found))
        if (probeStart - back > repeated) this.#pending.push(copy(chunk, repeated, probeStart - back))
        this.#view(found - back, found + on)
        if (probeStart + on < length) this.#pending.push(copy(chunk, probeStart + on, length))
        this.#shift = start + probeStart - found
        return
      }
    }
    // Nothing of it repeats the last body: the chunk itself, as a copy would hold the same bytes.
    this.#pending.push(repeated === 0 ? chunk : copy(chunk, repeated, length))
  }

  /**
   * find() within `radius`, while the searches of this body have looked through less than the
   * last body's length: a body that repeats nothing (another account's events) costs one look.
   */
  #search(chunk: Uint8Array, probeStart: number, expected: number, radius: number): number | undefined {
    const window = Math.min(2 * radius, this.#last.length)
    if (this.#searched + window > this.#last.length) return undefined
    this.#searched += window
    return this.#last.find(chunk, probeStart, PROBE_BYTES, expected, radius)
  }

  /**
   * The new body: the last one's own chunks when it repeated them all, else views and copies. A
   * body made of views keeps the last body's buffers alive: when they add up to more than twice
   * its length (old stretches no longer used, after many changes), it is copied once instead.
   */
  finish(): readonly Uint8Array[] {
    const last = this.#last
    if (this.#same) {
      if (this.#length === last.length) return last.chunks
      // A prefix of the last body.
      if (this.#length > 0) this.#view(0, this.#length)
      return this.#parts
    }
    this.#flush()
    const parts = this.#parts
    const buffers = new Set<ArrayBufferLike>()
    let held = 0
    for (const part of parts) {
      if (buffers.has(part.buffer)) continue
      buffers.add(part.buffer)
      held += part.buffer.byteLength
    }
    return held > 2 * this.#length + COMPACT_SLACK ? [ChunkedBody.of(parts).bytes(0, this.#length)] : parts
  }

  /** Adds a view of the last body's bytes [start, end), after what differs before them. */
  #view(start: number, end: number): void {
    this.#flush()
    for (const view of this.#last.views(start, end)) {
      const before = this.#parts.at(-1)
      // A view that goes on where the part before it ends, in the same buffer, joins it.
      if (before !== undefined && before.buffer === view.buffer && before.byteOffset + before.byteLength === view.byteOffset) {
        this.#parts[this.#parts.length - 1] = new Uint8Array(view.buffer, before.byteOffset, before.byteLength + view.byteLength)
      } else {
        this.#parts.push(view)
      }
    }
  }

  /** Adds the bytes that differ: small pieces copied into one part, whole chunks as they are. */
  #flush(): void {
    if (this.#pending.length === 0) return
    const pending = this.#pending
    this.#pending = []
    const total = pending.reduce((sum, part) => sum + part.byteLength, 0)
    if (pending.length === 1 || total > MERGED_BYTES) this.#parts.push(...pending)
    else this.#parts.push(ChunkedBody.of(pending).bytes(0, total))
  }
}

/** A copy of `chunk`'s bytes [start, end): never a view, which would keep the whole chunk alive. */
function copy(chunk: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(chunk.subarray(start, end))
}

/**
 * Where a probe of the chunk's last bytes starts: at one of the PROBE_BYTES before the last ones
 * whose byte is rare in JSON text (not a letter, a digit, a space, `":,{}[]`, nor the `-` and
 * `.` of ids and dates), so that the search stops at few places; else at the first of them.
 */
function rareStart(chunk: Uint8Array): number {
  const from = Math.max(0, chunk.byteLength - 2 * PROBE_BYTES)
  const to = chunk.byteLength - PROBE_BYTES
  for (let p = to; p >= from; p--) if (isRare(chunk[p]!)) return p
  return to
}

function isRare(byte: number): boolean {
  const letterOrDigit = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
  return !letterOrDigit && byte !== 0x22 && byte !== 0x3a && byte !== 0x2c && byte !== 0x7b && byte !== 0x7d && byte !== 0x5b && byte !== 0x5d && byte !== 0x20 && byte !== 0x2d && byte !== 0x2e
}
