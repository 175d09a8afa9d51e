import { asciiJson, isWide } from './asciiJson'
import type { WorkstreamEvent } from './models'

/** A segment's key is this prefix and its sequence number. */
export const SEGMENT_PREFIX = 's:'

/**
 * At most this many characters of event JSON per segment: a 10k-event cache is some 150 reads
 * instead of 10k (a browser's IndexedDB pays per record: about 4x faster to read this way in
 * Chromium), while each value stays far below any storage's size limit.
 */
export const SEGMENT_CHARS = 256 * 1024

/**
 * Segments written since the last rewrite beyond this many, or beyond a quarter of the rewrite's
 * own (a large cache takes larger changes), are merged: reads stay within a quarter more. When
 * their current texts would fill more than half of that allowance, everything is rewritten
 * instead, so that a merge leaves room for the changes after it.
 */
export const MAX_DELTA_SEGMENTS = 32

/**
 * One stored value: events' JSON texts end to end (written as ASCII: see asciiJson), with their
 * ids and lengths, and the ids of events removed since the segments before it. Plain
 * JSON-compatible data, for any storage.
 */
export interface Segment {
  readonly ids: readonly string[]
  readonly lengths: readonly number[]
  readonly text: string
  readonly removed: readonly string[]
}

/** Which segments hold the cache, oldest first; the first `base` were written by the last rewrite. */
export interface SegmentLayout {
  readonly segments: readonly number[]
  readonly base: number
}

/** What a change writes: segments to set, segment keys to delete once the meta record lists the new layout. */
export interface SegmentWrites {
  readonly sets: Array<[string, Segment]>
  readonly deletes: string[]
}

export interface SegmentRead {
  readonly events: WorkstreamEvent[]
  /** The JSON text each event was read from, in the same order. */
  readonly texts: string[]
  /** Keys of unreadable segments, and ids of unreadable events in readable ones. */
  readonly bad: string[]
  /** Keys of segments the layout does not list: left over from a rewrite that ended early. */
  readonly stale: string[]
}

/** A listed segment: its size, how many texts it holds, and how many of them are current. */
interface Stats {
  readonly chars: number
  readonly entries: number
  live: number
}

/**
 * The cached events as a log of segments. A change appends a segment with the changed events'
 * texts and the removed ids, so that writes follow the delta; reading takes each event's newest
 * text. Segments past MAX_DELTA_SEGMENTS are merged, and once stale texts outweigh live ones, or
 * the live texts outside the last rewrite outgrow a merge, the whole cache is rewritten, so that
 * reads stay few and the stored size stays near the cache's.
 */
export class EventSegments {
  /** The listed segments, oldest first; the first `#base` were written by the last rewrite. */
  #order: number[] = []
  #base = 0
  readonly #stats = new Map<number, Stats>()
  /**
   * Where each cached event's current text lies: its segment's number times two, plus one when
   * a segment of the last rewrite also holds a text of it (a small integer: no object per event).
   */
  readonly #slots = new Map<string, number>()
  /** Events a segment of the last rewrite holds that are gone since: their removal must outlive a merge. */
  readonly #removedFromBase = new Set<string>()
  #nextSeq = 0
  /** Stored texts are unreadable in part: the next change rewrites everything. */
  #rewriteNext = false

  layout(): SegmentLayout {
    return { segments: [...this.#order], base: this.#base }
  }

  /** Forgets what storage holds: the next write is a full one. */
  reset(): void {
    this.#order = []
    this.#base = 0
    this.#stats.clear()
    this.#slots.clear()
    this.#removedFromBase.clear()
    this.#rewriteNext = false
  }

  /**
   * Reads the segments `layout` lists from `values` (every stored segment, by sequence number),
   * newest first, keeping each event's newest text. `parse` turns a text into an event, or
   * undefined when it is unreadable.
   */
  read(layout: SegmentLayout, values: ReadonlyMap<number, unknown>, parse: (id: string, text: string) => WorkstreamEvent | undefined): SegmentRead {
    this.reset()
    const events: WorkstreamEvent[] = []
    const texts: string[] = []
    const bad: string[] = []
    const seen = new Set<string>()
    const readable = new Map<number, Segment>()
    for (let k = layout.segments.length - 1; k >= 0; k--) {
      const seq = layout.segments[k]!
      const segment = values.get(seq)
      if (!isSegment(segment)) {
        bad.push(SEGMENT_PREFIX + seq)
        continue
      }
      readable.set(seq, segment)
      const stats: Stats = { chars: segment.text.length, entries: segment.ids.length, live: 0 }
      this.#stats.set(seq, stats)
      for (const id of segment.removed) seen.add(id)
      let end = segment.text.length
      // Backwards too: within a segment each id appears once, so the order does not matter, and the offsets come free.
      for (let i = segment.ids.length - 1; i >= 0; i--) {
        const id = segment.ids[i]!
        const start = end - segment.lengths[i]!
        const stop = end
        end = start
        if (seen.has(id)) continue
        seen.add(id)
        const text = segment.text.slice(start, stop)
        const event = parse(id, text)
        if (event === undefined) {
          bad.push(id)
          continue
        }
        events.push(event)
        texts.push(text)
        this.#slots.set(id, seq * 2)
        stats.live++
      }
    }
    this.#order = layout.segments.filter((seq) => readable.has(seq))
    const base = layout.segments.slice(0, layout.base).filter((seq) => readable.has(seq))
    this.#base = base.length
    for (const seq of base) {
      for (const id of readable.get(seq)!.ids) {
        const slot = this.#slots.get(id)
        if (slot === undefined) this.#removedFromBase.add(id)
        else this.#slots.set(id, slot | 1)
      }
    }
    this.#rewriteNext = bad.length > 0
    this.#nextSeq = Math.max(-1, ...values.keys()) + 1
    const listed = new Set(layout.segments)
    const stale = [...values.keys()].filter((seq) => !listed.has(seq)).map((seq) => SEGMENT_PREFIX + seq)
    return { events: events.reverse(), texts: texts.reverse(), bad, stale }
  }

  /**
   * Records a change of the cache: `changed` ids were added or updated, `removed` ids are gone,
   * and `ids` is the whole cache after it. `textOf` gives an event's JSON text to store.
   */
  write(changed: readonly string[], removed: readonly string[], ids: Iterable<string>, textOf: (id: string) => string): SegmentWrites {
    if (this.#order.length === 0 || this.#rewriteNext) return this.#rewrite(ids, textOf)
    const gone = removed.filter((id) => this.#slots.has(id))
    if (changed.length === 0 && gone.length === 0) return { sets: [], deletes: [] }
    const sets = this.#append(changed, gone, textOf, false)
    if (this.#staleChars() > this.#totalChars() / 2 + SEGMENT_CHARS) return this.#rewrite(ids, textOf)
    const allowance = Math.max(MAX_DELTA_SEGMENTS, this.#base / 4)
    if (this.#order.length - this.#base > allowance) {
      // A cache that grew since its last rewrite has more live text outside it than a merge can
      // take: merged, it would fill the allowance again, and every change would merge it anew.
      // It joins the rewrite's segments instead.
      if (this.#deltaLiveChars() > (allowance / 2) * SEGMENT_CHARS) return this.#rewrite(ids, textOf)
      return this.#mergeDeltas(sets, textOf)
    }
    return { sets, deletes: [] }
  }

  /** How much current text the segments since the last rewrite hold, as #staleChars estimates it. */
  #deltaLiveChars(): number {
    let sum = 0
    for (const seq of this.#order.slice(this.#base)) {
      const { chars, entries, live } = this.#stats.get(seq)!
      if (entries > 0) sum += (chars * live) / entries
    }
    return sum
  }

  #totalChars(): number {
    let sum = 0
    for (const stats of this.#stats.values()) sum += stats.chars
    return sum
  }

  /** How much of what storage holds is stale, assuming a segment's texts are about the same size. */
  #staleChars(): number {
    let sum = 0
    for (const { chars, entries, live } of this.#stats.values()) if (entries > 0) sum += (chars * (entries - live)) / entries
    return sum
  }

  /** Writes every event anew and drops every segment before. */
  #rewrite(ids: Iterable<string>, textOf: (id: string) => string): SegmentWrites {
    const deletes = this.#order.map((seq) => SEGMENT_PREFIX + seq)
    this.reset()
    const sets = this.#append([...ids], [], textOf, true)
    this.#base = this.#order.length
    return { sets, deletes }
  }

  /**
   * Merges the segments written since the last rewrite into new ones: the events they hold, and
   * the removal of events the rewrite's segments still hold. `pending` are this change's
   * segments, which the merge replaces before they are written.
   */
  #mergeDeltas(pending: ReadonlyArray<[string, Segment]>, textOf: (id: string) => string): SegmentWrites {
    const merged = this.#order.slice(this.#base)
    const base = new Set(this.#order.slice(0, this.#base))
    const live: string[] = []
    for (const [id, slot] of this.#slots) if (!base.has(Math.floor(slot / 2))) live.push(id)
    for (const seq of merged) this.#stats.delete(seq)
    this.#order = [...base]
    // Back in; each keeps its mark of a text in the rewrite's segments, which must outlive it.
    const sets = this.#append(live, [...this.#removedFromBase], textOf, false)
    const unwritten = new Set(pending.map(([key]) => key))
    return { sets, deletes: merged.map((seq) => SEGMENT_PREFIX + seq).filter((key) => !unwritten.has(key)) }
  }

  /** New listed segments with the texts of `ids` and the removal of `removed`; the slots follow. `base`: a rewrite's. */
  #append(ids: readonly string[], removed: readonly string[], textOf: (id: string) => string, base: boolean): Array<[string, Segment]> {
    const sets: Array<[string, Segment]> = []
    let chunk: { ids: string[]; lengths: number[]; parts: string[]; chars: number } = { ids: [], lengths: [], parts: [], chars: 0 }
    const close = (last: boolean): void => {
      if (chunk.ids.length === 0 && !(last && removed.length > 0)) return
      const seq = this.#nextSeq++
      const parts = inFewerBytes(chunk.parts)
      const text = parts.join('')
      const segment: Segment = { ids: chunk.ids, lengths: parts === chunk.parts ? chunk.lengths : parts.map((part) => part.length), text, removed: last ? removed : [] }
      this.#stats.set(seq, { chars: text.length, entries: chunk.ids.length, live: 0 })
      this.#order.push(seq)
      for (const id of chunk.ids) this.#place(id, seq, base)
      if (last) for (const id of removed) this.#place(id, undefined, false)
      sets.push([SEGMENT_PREFIX + seq, segment])
      chunk = { ids: [], lengths: [], parts: [], chars: 0 }
    }
    for (const id of ids) {
      const text = textOf(id)
      if (chunk.chars + text.length > SEGMENT_CHARS && chunk.ids.length > 0) close(false)
      chunk.ids.push(id)
      chunk.lengths.push(text.length)
      chunk.parts.push(text)
      chunk.chars += text.length
    }
    close(true)
    return sets
  }

  /** Moves `id`'s current text to segment `seq`, or (undefined) records its removal. */
  #place(id: string, seq: number | undefined, base: boolean): void {
    const before = this.#slots.get(id)
    const inBase = base || (before !== undefined ? (before & 1) === 1 : this.#removedFromBase.has(id))
    if (before !== undefined) {
      const stats = this.#stats.get(Math.floor(before / 2))
      if (stats !== undefined) stats.live--
    }
    if (seq === undefined) {
      this.#slots.delete(id)
      if (inBase) this.#removedFromBase.add(id)
      return
    }
    this.#slots.set(id, seq * 2 + (inBase ? 1 : 0))
    this.#stats.get(seq)!.live++
    this.#removedFromBase.delete(id)
  }
}

/**
 * A segment's texts as they came, or escaped to ASCII (see asciiJson), whichever a string of them
 * holds in fewer bytes: one a character when every character is within Latin-1, else two. Texts
 * mostly in ASCII with some emoji or CJK take half the room escaped; texts mostly in CJK, or in
 * Latin-1 only, take more.
 */
function inFewerBytes(texts: readonly string[]): readonly string[] {
  let chars = 0
  let escapedChars = 0
  let wide = false
  let stillWide = false
  const escaped = texts.map((text) => {
    const ascii = asciiJson(text)
    chars += text.length
    escapedChars += ascii.length
    if (ascii !== text) wide ||= isWide(text)
    else if (isWide(text)) wide = stillWide = true
    return ascii
  })
  return (stillWide ? 2 : 1) * escapedChars < (wide ? 2 : 1) * chars ? escaped : texts
}

/** A segment as this version writes it: ids and lengths that line up, and a text as long as their sum. */
export function isSegment(value: unknown): value is Segment {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Partial<Segment>
  if (typeof s.text !== 'string' || !Array.isArray(s.ids) || !Array.isArray(s.lengths) || !Array.isArray(s.removed)) return false
  if (s.ids.length !== s.lengths.length || !s.ids.every((id) => typeof id === 'string') || !s.removed.every((id) => typeof id === 'string')) return false
  let sum = 0
  for (const length of s.lengths) {
    if (!Number.isInteger(length) || length < 0) return false
    sum += length
  }
  return sum === s.text.length
}
