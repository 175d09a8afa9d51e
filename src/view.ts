import type { WorkstreamEvent } from './models'
import type { MutationRecord } from './mutation'

/** The server's events as last received: server order, and by id. */
export interface ServerSnapshot {
  readonly events: readonly WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
}

/** What the app sees: newest `created` first, and by id. */
export interface View {
  readonly events: readonly WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
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
  return { events: list, byId }
}

/**
 * The view: the server snapshot with the pending mutations laid over it, in queue order.
 * A create shows its optimistic event (or, once confirmed, the server's answer, unless the
 * snapshot already has a version of its own); a delete hides its event. The snapshot itself is
 * never written to.
 */
export function rebase(server: ServerSnapshot, records: readonly MutationRecord[]): View {
  if (records.length === 0) return { events: sortNewestFirst(server.events), byId: server.byId }
  const byId = new Map(server.byId)
  for (const record of records) {
    if (record.kind === 'delete') {
      byId.delete(record.eventId)
    } else if (record.state === 'confirmed') {
      if (!server.byId.has(record.eventId) && record.confirmed) byId.set(record.eventId, record.confirmed)
    } else if (record.optimistic) {
      byId.set(record.eventId, record.optimistic)
    }
  }
  return { events: sortNewestFirst([...byId.values()]), byId }
}

const createdTimes = new WeakMap<WorkstreamEvent, number>()

function createdTime(event: WorkstreamEvent): number {
  let time = createdTimes.get(event)
  if (time === undefined) {
    time = Date.parse(event.created.value)
    if (Number.isNaN(time)) time = 0
    createdTimes.set(event, time)
  }
  return time
}

function newestFirst(a: WorkstreamEvent, b: WorkstreamEvent): number {
  return createdTime(b) - createdTime(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Newest `created` first, ties by id. Returns the input itself when it is already in order. */
export function sortNewestFirst(events: readonly WorkstreamEvent[]): readonly WorkstreamEvent[] {
  for (let i = 1; i < events.length; i++) {
    if (newestFirst(events[i - 1]!, events[i]!) > 0) return [...events].sort(newestFirst)
  }
  return events
}

/** The events added, changed (by identity) and removed between two views. */
export function diffViews(before: ReadonlyMap<string, WorkstreamEvent>, after: ReadonlyMap<string, WorkstreamEvent>): EventChanges {
  const added: WorkstreamEvent[] = []
  const updated: WorkstreamEvent[] = []
  const removed: WorkstreamEvent[] = []
  if (before === after) return { added, updated, removed }
  for (const [id, event] of after) {
    const previous = before.get(id)
    if (previous === undefined) added.push(event)
    else if (previous !== event) updated.push(event)
  }
  if (before.size + added.length !== after.size) {
    for (const [id, event] of before) if (!after.has(id)) removed.push(event)
  }
  return { added, updated, removed }
}

export function isEmptyChange(changes: EventChanges): boolean {
  return changes.added.length === 0 && changes.updated.length === 0 && changes.removed.length === 0
}
