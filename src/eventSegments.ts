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
 * own (a large cache takes larger changes), are merged: reads stay within a quarter more.
 */
export const MAX_DELTA_SEGMENTS = 32

/**
 * One stored value: events' JSON texts end to end, with their ids and lengths, and the ids of
 * events removed since the segments before it. Plain JSON-compatible data, for any storage.
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

interface Slot {
  readonly seq: number
  readonly length: number
}

/**
 * The cached events as a log of segments. A change appends a segment with the changed events'
 * texts and the removed ids, so that writes follow the delta; reading takes each event's newest
 * text. Segments past MAX_DELTA_SEGMENTS are merged, and once stale texts outweigh live ones the
 * whole cache is rewritten, so that reads stay few and the stored size stays near the cache's.
 */
export class EventSegments {
  /** The listed segments, oldest first, each with its size and how much of it is live. */
  #order: number[] = []
  #base = 0
  readonly #chars = new Map<number, number>()
  /** Where each cached event's current text lies. */
  readonly #slots = new Map<string, Slot>()
  /** The events the rewrite's segments hold a text of, current or not. */
  #baseIds = new Set<string>()
  #liveChars = 0
  #totalChars = 0
  #nextSeq = 0
  /** Stored texts are unreadable in part: the next change rewrites everything. */
  #rewriteNext = false

  /** Whether the storage holds segments this log wrote or read. */
  get empty(): boolean {
    return this.#order.length === 0
  }

  layout(): SegmentLayout {
    return { segments: [...this.#order], base: this.#base }
  }

  /** Forgets what storage holds: the next write is a full one. */
  reset(): void {
    this.#order = []
    this.#base = 0
    this.#chars.clear()
    this.#slots.clear()
    this.#baseIds = new Set()
    this.#liveChars = 0
    this.#totalChars = 0
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
    const listed = new Set(layout.segments)
    for (let k = layout.segments.length - 1; k >= 0; k--) {
      const seq = layout.segments[k]!
      const segment = values.get(seq)
      if (!isSegment(segment)) {
        bad.push(SEGMENT_PREFIX + seq)
        continue
      }
      this.#chars.set(seq, segment.text.length)
      this.#totalChars += segment.text.length
      for (const id of segment.removed) seen.add(id)
      let end = segment.text.length
      // Backwards too: within a segment each id appears once, so the order does not matter, and the offsets come free.
      for (let i = segment.ids.length - 1; i >= 0; i--) {
        const id = segment.ids[i]!
        const length = segment.lengths[i]!
        const start = end - length
        end = start
        if (seen.has(id)) continue
        seen.add(id)
        const text = segment.text.slice(start, start + length)
        const event = parse(id, text)
        if (event === undefined) {
          bad.push(id)
          continue
        }
        events.push(event)
        texts.push(text)
        this.#slots.set(id, { seq, length })
        this.#liveChars += length
      }
    }
    this.#order = layout.segments.filter((seq) => this.#chars.has(seq))
    const base = layout.segments.slice(0, layout.base).filter((seq) => this.#chars.has(seq))
    this.#base = base.length
    for (const seq of base) for (const id of (values.get(seq) as Segment).ids) this.#baseIds.add(id)
    this.#rewriteNext = bad.length > 0
    this.#nextSeq = Math.max(-1, ...values.keys()) + 1
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
    const sets = this.#append(changed, gone, textOf)
    this.#order.push(...sets.map(([key]) => Number(key.slice(SEGMENT_PREFIX.length))))
    if (this.#totalChars - this.#liveChars > this.#liveChars + SEGMENT_CHARS) return this.#rewrite(ids, textOf)
    if (this.#order.length - this.#base > Math.max(MAX_DELTA_SEGMENTS, this.#base / 4)) return this.#mergeDeltas(sets, textOf)
    return { sets, deletes: [] }
  }

  /** Writes every event anew and drops every segment before. */
  #rewrite(ids: Iterable<string>, textOf: (id: string) => string): SegmentWrites {
    const deletes = this.#order.map((seq) => SEGMENT_PREFIX + seq)
    this.reset()
    const all = [...ids]
    const sets = this.#append(all, [], textOf)
    this.#order = sets.map(([key]) => Number(key.slice(SEGMENT_PREFIX.length)))
    this.#base = this.#order.length
    this.#baseIds = new Set(all)
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
    for (const [id, slot] of this.#slots) if (!base.has(slot.seq)) live.push(id)
    const removed: string[] = []
    for (const id of this.#baseIds) if (!this.#slots.has(id)) removed.push(id)
    for (const seq of merged) {
      this.#totalChars -= this.#chars.get(seq)!
      this.#chars.delete(seq)
    }
    this.#order = [...base]
    for (const id of live) this.#place(id, undefined)
    const sets = this.#append(live, removed, textOf)
    this.#order.push(...sets.map(([key]) => Number(key.slice(SEGMENT_PREFIX.length))))
    const unwritten = new Set(pending.map(([key]) => key))
    return { sets, deletes: merged.map((seq) => SEGMENT_PREFIX + seq).filter((key) => !unwritten.has(key)) }
  }

  /** New segments with the texts of `ids` and the removal of `removed`; the slots follow. */
  #append(ids: readonly string[], removed: readonly string[], textOf: (id: string) => string): Array<[string, Segment]> {
    const sets: Array<[string, Segment]> = []
    let chunk: { ids: string[]; lengths: number[]; parts: string[]; chars: number } = { ids: [], lengths: [], parts: [], chars: 0 }
    const close = (last: boolean): void => {
      if (chunk.ids.length === 0 && !(last && removed.length > 0)) return
      const seq = this.#nextSeq++
      const text = chunk.parts.join('')
      const segment: Segment = { ids: chunk.ids, lengths: chunk.lengths, text, removed: last ? removed : [] }
      for (let i = 0; i < chunk.ids.length; i++) this.#place(chunk.ids[i]!, { seq, length: chunk.lengths[i]! })
      if (last) for (const id of removed) this.#place(id, undefined)
      this.#chars.set(seq, text.length)
      this.#totalChars += text.length
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

  #place(id: string, slot: Slot | undefined): void {
    const before = this.#slots.get(id)
    if (before !== undefined) this.#liveChars -= before.length
    if (slot === undefined) {
      this.#slots.delete(id)
    } else {
      this.#slots.set(id, slot)
      this.#liveChars += slot.length
    }
  }
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
