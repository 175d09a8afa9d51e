import { jsonEqual } from './equal'
import { WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import type { DecodedSnapshot, DecodeOptions } from './snapshotDecoder'
import type { SnapshotDelta } from './view'

/** The items of `iterable`, as the walk or the full parse found them. */
export interface Items {
  readonly ids: string[]
  readonly values: unknown[]
  /** Whether item k has the bytes of a previous element, whose event it is. */
  readonly reused: boolean[]
  /** Start and end offsets of each item, flat; empty in a full decode. */
  readonly bounds: number[]
}

/** What a decode made of the items: the snapshot's contents, and what the next decode needs. */
export interface Resolution {
  readonly events: WorkstreamEvent[]
  readonly byId: ReadonlyMap<string, WorkstreamEvent>
  readonly quarantined: WorkstreamSyncError[]
  /** Id to item index of the events this decode made (rather than kept). */
  readonly fresh: Map<string, number>
  readonly kept: (WorkstreamEvent | undefined)[]
  readonly changedFrom: SnapshotDelta | undefined
}

/**
 * Validates the items that were parsed, quarantines the invalid ones, and gives every event that
 * equals the previous version of its id that version's identity. The last occurrence of an id
 * wins; a body without duplicate ids (the usual one) is resolved in one pass.
 */
export function resolveItems(items: Items, previous: DecodedSnapshot | undefined, options: DecodeOptions): Resolution {
  // With duplicates, the index of an id is that of its last occurrence.
  return resolvePass(items, previous, options, undefined) ?? resolvePass(items, previous, options, indexOfIds(items.ids))!
}

/**
 * One pass over the items. Without `last` it assumes every id occurs once, and returns undefined
 * when the count of distinct ids shows otherwise; with `last` it skips all but the last occurrence.
 */
function resolvePass(items: Items, previous: DecodedSnapshot | undefined, options: DecodeOptions, last: ReadonlyMap<string, number> | undefined): Resolution | undefined {
  const { ids, values, reused } = items
  const previousById = previous?.byId
  const events: WorkstreamEvent[] = []
  const byId = new Map<string, WorkstreamEvent>()
  const quarantined: WorkstreamSyncError[] = []
  const fresh = new Map<string, number>()
  const kept = new Array<WorkstreamEvent | undefined>(ids.length)
  const changed: string[] = []
  let dropped: Set<string> | undefined
  /** Items whose id the previous result had: fewer than it had means some were removed. */
  let known = 0
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    if (last !== undefined && last.get(id) !== i) continue
    let event = values[i] as WorkstreamEvent
    // A reused item is the previous result's own event for its id (the last occurrence it kept).
    if (reused[i] === true) {
      known++
    } else {
      const was = previousById?.get(id)
      if (was !== undefined) known++
      const before = was ?? options.lastGood?.(id)
      const problem = options.validate(values[i], `iterable[${i}]`)
      if (problem !== undefined) {
        quarantined.push(quarantine(id, `iterable[${i}]`, problem, before !== undefined))
        if (before === undefined) {
          ;(dropped ??= new Set()).add(id)
          continue
        }
        if (before !== was) changed.push(id)
        events.push(before)
        byId.set(id, before)
        continue
      }
      // Parse, then trust: `validate` accepted the value as a WorkstreamEvent.
      if (before !== undefined && jsonEqual(before, event)) event = before
      else fresh.set(id, i)
      if (event !== was) changed.push(id)
    }
    kept[i] = event
    events.push(event)
    byId.set(id, event)
  }
  if (last === undefined) {
    let distinct = byId.size
    if (dropped !== undefined) for (const id of dropped) if (!byId.has(id)) distinct++
    if (distinct !== ids.length) return undefined
  }
  let changedFrom: SnapshotDelta | undefined
  if (previous !== undefined && previousById !== undefined) {
    if (known < previousById.size) for (const id of previousById.keys()) if (!byId.has(id)) changed.push(id)
    changedFrom = { from: previous.stamp, ids: changed }
  }
  return { events, byId, quarantined, fresh, kept, changedFrom }
}

function quarantine(id: string, itemPath: string, problem: string, hasGood: boolean): WorkstreamSyncError {
  // `problem` reads "path: what is wrong"; the path ends at the first ": " after the item's own path.
  const colon = problem.startsWith(itemPath) ? problem.indexOf(': ', itemPath.length) : -1
  const path = colon < 0 ? itemPath : problem.slice(0, colon)
  const outcome = hasGood ? 'its last good version is kept' : 'it is left out, as no good version of it is known'
  const message = `${problem}. Event ${JSON.stringify(id)} is quarantined: ${outcome} until the server sends a valid one.`
  return new WorkstreamSyncError('validation', message, { path, eventId: id })
}

/** Each id's index; of a repeated id, the last. */
export function indexOfIds(ids: readonly string[]): Map<string, number> {
  const index = new Map<string, number>()
  for (let c = 0; c < ids.length; c++) index.set(ids[c]!, c)
  return index
}
