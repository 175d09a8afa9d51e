import { isoTimeMs } from './jsonChecks'
import type { WorkstreamEvent } from './models'
import type { MutationRecord } from './mutation'

/** The server's events as last received: server order, and by id. */
export interface ServerSnapshot {
  readonly events: readonly WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
  /** Names this snapshot to the delta of a later one made from it (a token, retaining nothing). */
  readonly stamp?: object
  /**
   * Set when this snapshot was made from another one: that one's stamp, and the ids whose event
   * differs between the two (added, changed or removed). It lets the view, the cache and the
   * other tabs work in proportion to the change instead of to the snapshot.
   */
  readonly changedFrom?: SnapshotDelta
}

export interface SnapshotDelta {
  readonly from: object
  readonly ids: readonly string[]
}

/** What the app sees: newest `created` first, and by id. */
export interface View {
  readonly events: readonly WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
  /** The snapshot under the view. */
  readonly server: ServerSnapshot
  /** What the mutations lay over it, by id: the event shown instead of (or besides) the server's, or null for hidden. */
  readonly overlay: ReadonlyMap<string, WorkstreamEvent | null>
}

/** What one applied change did to the view. `removed` holds the events' last versions. */
export interface EventChanges {
  /** Events now in the view that were not before. */
  readonly added: readonly WorkstreamEvent[]
  /** Events still in the view that changed (a new object), in their new versions. */
  readonly updated: readonly WorkstreamEvent[]
  /** Events no longer in the view, in their last versions. */
  readonly removed: readonly WorkstreamEvent[]
}

export const EMPTY_SNAPSHOT: ServerSnapshot = { events: [], byId: new Map() }

export function snapshotOf(events: readonly WorkstreamEvent[]): ServerSnapshot {
  const byId = new Map<string, WorkstreamEvent>()
  for (const event of events) byId.set(event.id, event)
  // Duplicate ids: the last occurrence wins in byId, so the list must agree with it.
  const list = byId.size === events.length ? events : [...byId.values()]
  return { events: list, byId, stamp: {} }
}

/** The ids whose event differs between `previous` and `server`, when `server` can tell; else undefined. */
export function changedIds(previous: ServerSnapshot | undefined, server: ServerSnapshot): readonly string[] | undefined {
  if (previous === undefined) return undefined
  if (previous.byId === server.byId) return []
  const delta = server.changedFrom
  return delta !== undefined && previous.stamp !== undefined && delta.from === previous.stamp ? delta.ids : undefined
}

/**
 * The view: the server snapshot with the pending mutations laid over it, in queue order.
 * A create shows its optimistic event (or, once confirmed, the server's answer, unless the
 * snapshot already has a version of its own); a delete hides its event. The snapshot itself is
 * never written to, nor copied: the view's map reads through to it.
 */
export function rebase(server: ServerSnapshot, records: readonly MutationRecord[]): View {
  const base = sortedEvents(server)
  const overlay = new Map<string, WorkstreamEvent | null>()
  for (const record of records) {
    if (record.kind === 'delete') {
      overlay.set(record.eventId, null)
    } else if (record.state === 'confirmed') {
      if (!server.byId.has(record.eventId) && record.confirmed) overlay.set(record.eventId, record.confirmed)
    } else if (record.optimistic) {
      overlay.set(record.eventId, record.optimistic)
    }
  }
  if (overlay.size === 0) return { events: base, byId: server.byId, server, overlay }
  const shown: WorkstreamEvent[] = []
  for (const event of overlay.values()) if (event !== null) shown.push(event)
  const events = mergeOverlay(base, positionsOf(server), overlay, sortNewestFirst(shown))
  return { events, byId: new LayeredMap(server.byId, overlay), server, overlay }
}

/**
 * The server's events are in order already: leaves out those the overlay replaces or hides
 * and puts the few overlay events in at their places (found by binary search), copying the
 * runs in between without looking at their events.
 */
function mergeOverlay(base: readonly WorkstreamEvent[], positions: ReadonlyMap<string, number>, overlay: ReadonlyMap<string, WorkstreamEvent | null>, order: readonly WorkstreamEvent[]): WorkstreamEvent[] {
  const skip: number[] = []
  for (const id of overlay.keys()) {
    const at = positions.get(id)
    if (at !== undefined) skip.push(at)
  }
  skip.sort((a, b) => a - b)
  // Nondecreasing, as `order` is sorted like `base`.
  const inserts = order.map((event) => insertionPoint(base, event))
  const pieces: (readonly WorkstreamEvent[])[] = []
  let from = 0
  let s = 0
  let k = 0
  while (s < skip.length || k < inserts.length) {
    const nextSkip = s < skip.length ? skip[s]! : Infinity
    const nextInsert = k < inserts.length ? inserts[k]! : Infinity
    if (nextInsert <= nextSkip) {
      if (nextInsert > from) pieces.push(base.slice(from, nextInsert))
      pieces.push([order[k++]!])
      from = nextInsert
    } else {
      if (nextSkip > from) pieces.push(base.slice(from, nextSkip))
      from = nextSkip + 1
      s++
    }
  }
  // A create (one insert at the front) copies the events once, not twice: above about 32k events
  // every copy is a large object, which costs far more per event than a small one.
  pieces.push(from === 0 ? base : base.slice(from))
  // slice and concat copy natively; concat takes the pieces in batches, as one argument each.
  let events: WorkstreamEvent[] = []
  for (let i = 0; i < pieces.length; i += CONCAT_BATCH) events = events.concat(...pieces.slice(i, i + CONCAT_BATCH))
  return events
}

/** Arguments per concat call: far below any engine's limit on the arguments of a call. */
const CONCAT_BATCH = 4096

/** The first index of `base` (sorted newest first) that `event` goes before. */
function insertionPoint(base: readonly WorkstreamEvent[], event: WorkstreamEvent): number {
  let low = 0
  let high = base.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (newestFirst(event, base[middle]!) <= 0) high = middle
    else low = middle + 1
  }
  return low
}

export const EMPTY_VIEW: View = { events: [], byId: EMPTY_SNAPSHOT.byId, server: EMPTY_SNAPSHOT, overlay: new Map() }

const sorted = new WeakMap<ServerSnapshot, readonly WorkstreamEvent[]>()
const orders = new WeakMap<ServerSnapshot, readonly number[] | null>()

/** The server's events newest first, computed once per snapshot. */
function sortedEvents(server: ServerSnapshot): readonly WorkstreamEvent[] {
  let events = sorted.get(server)
  if (events === undefined) {
    sorted.set(server, (events = inOrder(server.events, snapshotOrder(server))))
  }
  return events
}

/**
 * The positions of a snapshot's events newest first, or undefined when they are in that order
 * already: computed once per snapshot, for the view and for whoever lines other lists up with it.
 */
export function snapshotOrder(server: ServerSnapshot): readonly number[] | undefined {
  let order = orders.get(server)
  if (order === undefined) orders.set(server, (order = newestFirstOrder(server.events) ?? null))
  return order ?? undefined
}

const positions = new WeakMap<ServerSnapshot, ReadonlyMap<string, number>>()

/** Where each of the server's events is in sortedEvents, computed once per snapshot (when something is pending). */
function positionsOf(server: ServerSnapshot): ReadonlyMap<string, number> {
  let byId = positions.get(server)
  if (byId === undefined) {
    const events = sortedEvents(server)
    const map = new Map<string, number>()
    for (let i = 0; i < events.length; i++) map.set(events[i]!.id, i)
    positions.set(server, (byId = map))
  }
  return byId
}

function createdMs(event: WorkstreamEvent): number {
  const time = isoTimeMs(event.created.value)
  return Number.isNaN(time) ? 0 : time
}

function newestFirst(a: WorkstreamEvent, b: WorkstreamEvent): number {
  return createdMs(b) - createdMs(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Newest `created` first, ties by id. Returns the input itself when it is already in order. */
export function sortNewestFirst(events: readonly WorkstreamEvent[]): readonly WorkstreamEvent[] {
  return inOrder(events, newestFirstOrder(events))
}

/** `items` taken in `order` (positions in it), or `items` itself when there is no order to apply. */
export function inOrder<T>(items: readonly T[], order: readonly number[] | undefined): readonly T[] {
  return order === undefined ? items : order.map((i) => items[i]!)
}

/** The indices of `events` newest `created` first, ties by id; undefined when they are in order already. */
function newestFirstOrder(events: readonly WorkstreamEvent[]): number[] | undefined {
  const n = events.length
  // Each time is parsed once per call rather than once per comparison.
  const times = new Float64Array(n)
  for (let i = 0; i < n; i++) times[i] = createdMs(events[i]!)
  const before = (i: number, j: number): number => {
    const a = events[i]!.id
    const b = events[j]!.id
    return times[j]! - times[i]! || (a < b ? -1 : a > b ? 1 : 0)
  }
  let inOrder = true
  for (let i = 1; i < n && inOrder; i++) inOrder = before(i - 1, i) <= 0
  return inOrder ? undefined : Array.from({ length: n }, (_, i) => i).sort(before)
}

/** A snapshot's map with a few events replaced, added or hidden, read through without a copy. */
class LayeredMap implements ReadonlyMap<string, WorkstreamEvent> {
  readonly size: number
  readonly #base: ReadonlyMap<string, WorkstreamEvent>
  readonly #overlay: ReadonlyMap<string, WorkstreamEvent | null>

  constructor(base: ReadonlyMap<string, WorkstreamEvent>, overlay: ReadonlyMap<string, WorkstreamEvent | null>) {
    this.#base = base
    this.#overlay = overlay
    let size = base.size
    for (const [id, event] of overlay) {
      if (event === null) size -= base.has(id) ? 1 : 0
      else size += base.has(id) ? 0 : 1
    }
    this.size = size
  }

  get(id: string): WorkstreamEvent | undefined {
    const over = this.#overlay.get(id)
    return over === undefined ? this.#base.get(id) : (over ?? undefined)
  }

  has(id: string): boolean {
    return this.get(id) !== undefined
  }

  *entries(): MapIterator<[string, WorkstreamEvent]> {
    for (const [id, event] of this.#base) {
      const over = this.#overlay.get(id)
      if (over === undefined) yield [id, event]
      else if (over !== null) yield [id, over]
    }
    for (const [id, event] of this.#overlay) if (event !== null && !this.#base.has(id)) yield [id, event]
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id
  }

  *values(): MapIterator<WorkstreamEvent> {
    for (const [, event] of this.entries()) yield event
  }

  [Symbol.iterator](): MapIterator<[string, WorkstreamEvent]> {
    return this.entries()
  }

  forEach(callback: (value: WorkstreamEvent, key: string, map: ReadonlyMap<string, WorkstreamEvent>) => void): void {
    for (const [id, event] of this.entries()) callback(event, id, this)
  }
}

/**
 * The events added, changed (by identity) and removed between two views. When both stand on the
 * same snapshot, or the later snapshot knows its delta from the earlier one, only the ids the
 * overlays and the delta name can differ.
 */
export function diffViews(before: View, after: View): EventChanges {
  const added: WorkstreamEvent[] = []
  const updated: WorkstreamEvent[] = []
  const removed: WorkstreamEvent[] = []
  if (before.byId === after.byId) return { added, updated, removed }
  const delta = changedIds(before.server, after.server)
  const compare = (id: string, was: WorkstreamEvent | undefined, now: WorkstreamEvent | undefined): void => {
    if (was === now) return
    if (was === undefined) added.push(now!)
    else if (now === undefined) removed.push(was)
    else updated.push(now)
  }
  if (delta !== undefined) {
    const ids = new Set([...delta, ...before.overlay.keys(), ...after.overlay.keys()])
    for (const id of ids) compare(id, before.byId.get(id), after.byId.get(id))
    return { added, updated, removed }
  }
  for (const [id, event] of after.byId) compare(id, before.byId.get(id), event)
  if (before.byId.size + added.length !== after.byId.size) {
    for (const [id, event] of before.byId) if (!after.byId.has(id)) removed.push(event)
  }
  return { added, updated, removed }
}

export function isEmptyChange(changes: EventChanges): boolean {
  return changes.added.length === 0 && changes.updated.length === 0 && changes.removed.length === 0
}
