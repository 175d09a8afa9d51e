import type { WorkstreamEvent } from '../src/index'
import { generateSampleEvents, seededRandom } from '../src/server/index'

/** How the changed body differs from the first one: ids of the events added, updated and removed. */
export interface SnapshotDelta {
  readonly added: ReadonlySet<string>
  readonly updated: ReadonlySet<string>
  readonly removed: ReadonlySet<string>
}

/** Two snapshot bodies of one size, as the embedded server would send them. */
export interface SnapshotFixture {
  readonly count: number
  /** The first snapshot: `count` sample events, newest first. */
  readonly bodyA: Uint8Array
  /** The same snapshot 2% later: 1% of the events updated, 0.5% added at the front, 0.5% removed. */
  readonly bodyB: Uint8Array
  /** The ids of bodyA's events, in order. */
  readonly idsA: readonly string[]
  /** The ids of bodyB's events, in order. */
  readonly idsB: readonly string[]
  /** From bodyA to bodyB. */
  readonly delta: SnapshotDelta
}

const DAY_MS = 86_400_000

/**
 * Generates `count` seeded sample events once and serialises them twice: as they are, and with 2%
 * of them changed. Unchanged events keep their exact bytes in both bodies, as they do on a real
 * server, which serialises each event once and caches it.
 */
export function buildFixture(count: number, seed = 1): SnapshotFixture {
  const events = generateSampleEvents({ count, seed })
  const random = seededRandom(seed + 7919)
  const updatedCount = Math.max(1, Math.round(count * 0.01))
  const addedCount = Math.max(1, Math.round(count * 0.005))
  const removedCount = Math.max(1, Math.round(count * 0.005))
  const picked = pickIndices(count, updatedCount + removedCount, random)
  const updatedAt = new Set(picked.slice(0, updatedCount))
  const removedAt = new Set(picked.slice(updatedCount))
  const newest = events[0] === undefined ? Date.UTC(2025, 5, 2) : Date.parse(events[0].created.value)
  // A different seed gives other ids; `now` a day later puts every added event before the newest one.
  const added = generateSampleEvents({ count: addedCount, seed: seed + 104_729, now: newest + DAY_MS })

  const jsonA = events.map(eventJson)
  const itemsB: Array<{ id: string; json: Buffer }> = added.map((event) => ({ id: event.id, json: eventJson(event) }))
  const delta = { added: new Set(added.map((e) => e.id)), updated: new Set<string>(), removed: new Set<string>() }
  events.forEach((event, index) => {
    if (removedAt.has(index)) {
      delta.removed.add(event.id)
    } else if (updatedAt.has(index)) {
      delta.updated.add(event.id)
      itemsB.push({ id: event.id, json: eventJson(edited(event)) })
    } else {
      itemsB.push({ id: event.id, json: jsonA[index]! })
    }
  })
  const idsA = events.map((e) => e.id)
  if (new Set([...idsA, ...delta.added]).size !== count + addedCount) throw new Error('The fixture generated a duplicate event id; pick another seed.')
  return {
    count,
    bodyA: serializeSnapshot(idsA, jsonA),
    bodyB: serializeSnapshot(itemsB.map((i) => i.id), itemsB.map((i) => i.json)),
    idsA,
    idsB: itemsB.map((i) => i.id),
    delta,
  }
}

/**
 * The `WorkstreamEvents` body exactly as the embedded server writes it (src/server/eventRepository.ts):
 * `{"iterable":[...],"indices":{"<id>":<index>,...}}`, with no whitespace.
 */
export function serializeSnapshot(ids: readonly string[], eventJsons: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [Buffer.from('{"iterable":[')]
  const indices: string[] = []
  eventJsons.forEach((json, index) => {
    if (index > 0) parts.push(COMMA)
    parts.push(json)
    indices.push(`${JSON.stringify(ids[index])}:${index}`)
  })
  parts.push(Buffer.from(`],"indices":{${indices.join(',')}}}`))
  return Buffer.concat(parts)
}

const COMMA = Buffer.from(',')

function eventJson(event: WorkstreamEvent): Buffer {
  return Buffer.from(JSON.stringify(event))
}

/** An update as the server would make it: new content and a later `updated`, the same `created` (so the same place). */
function edited(event: WorkstreamEvent): WorkstreamEvent {
  const updated = new Date(Date.parse(event.updated.value) + 60_000).toISOString()
  return { ...event, updated: { value: updated, readable: 'Just now' }, readable: `${event.readable ?? ''} (edited: "v2" {ok})` }
}

/** `k` distinct indices below `n`, in a seeded random order (a partial Fisher-Yates shuffle). */
function pickIndices(n: number, k: number, random: () => number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i)
  const take = Math.min(k, n)
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (n - i))
    const swap = pool[i]!
    pool[i] = pool[j]!
    pool[j] = swap
  }
  return pool.slice(0, take)
}
