import type { WorkstreamEvent } from '../models'

/**
 * The server's events, newest `created` first, with each event's JSON cached.
 *
 * Snapshots of 10k to 50k events run to hundreds of megabytes, so a snapshot body is built by
 * concatenating per-event buffers that are serialised once and dropped only when that event
 * changes; the last whole body is kept until anything changes. The repository does not validate
 * or enforce id uniqueness beyond refusing a duplicate insert: the server does that.
 */
export interface EventRepository {
  readonly size: number
  /** Bumps on every change; persistence and caches key on it. */
  readonly revision: number
  has(id: string): boolean
  /** The stored object itself: callers must not mutate it. */
  get(id: string): WorkstreamEvent | undefined
  /** The stored objects, newest first. */
  list(): WorkstreamEvent[]
  /** Adds an event whose id is not stored yet; throws on a duplicate. */
  insert(event: WorkstreamEvent): void
  /** Replaces the stored event with the same id; returns false when there is none. */
  replace(event: WorkstreamEvent): boolean
  remove(id: string): boolean
  /** One event's JSON; without `workstreamEventsVector` when `transferables` is false. */
  eventJson(id: string, transferables: boolean): Buffer | undefined
  /** The `WorkstreamEvents` JSON body: `{"iterable":[...],"indices":{...}}`. */
  snapshotBody(transferables: boolean): Buffer
}

interface Entry {
  event: WorkstreamEvent
  createdMs: number
  /** Insertion order; breaks ties between equal `created` values, later insertions first. */
  seq: number
  full?: Buffer
  light?: Buffer
}

const COMMA = Buffer.from(',')
const ITERABLE_OPEN = Buffer.from('{"iterable":[')

/**
 * `initial` is taken in the order given for equal `created` values (for example a snapshot file,
 * already newest first), then sorted newest first.
 */
export function createEventRepository(initial: readonly WorkstreamEvent[] = []): EventRepository {
  const byId = new Map<string, Entry>()
  const order: Entry[] = []
  let nextSeq = 0
  let revision = 0
  const bodies: { full?: { revision: number; body: Buffer }; light?: { revision: number; body: Buffer } } = {}

  function changed(): void {
    revision += 1
  }

  function insertEntry(entry: Entry): void {
    order.splice(positionOf(order, entry), 0, entry)
    byId.set(entry.event.id, entry)
  }

  function removeEntry(entry: Entry): void {
    const index = positionOf(order, entry)
    if (order[index] === entry) order.splice(index, 1)
    byId.delete(entry.event.id)
  }

  for (let index = initial.length - 1; index >= 0; index -= 1) {
    const event = initial[index]
    if (event === undefined) continue
    if (byId.has(event.id)) throw new Error(`Duplicate event id ${JSON.stringify(event.id)}`)
    insertEntry({ event, createdMs: createdMsOf(event), seq: nextSeq++ })
  }

  function entryJson(entry: Entry, transferables: boolean): Buffer {
    if (transferables) {
      entry.full ??= Buffer.from(JSON.stringify(entry.event))
      return entry.full
    }
    if (entry.light === undefined) {
      const { workstreamEventsVector: _heavy, ...light } = entry.event
      entry.light = Buffer.from(JSON.stringify(light))
    }
    return entry.light
  }

  function buildBody(transferables: boolean): Buffer {
    const parts: Buffer[] = [ITERABLE_OPEN]
    const indices: string[] = []
    order.forEach((entry, index) => {
      if (index > 0) parts.push(COMMA)
      parts.push(entryJson(entry, transferables))
      indices.push(`${JSON.stringify(entry.event.id)}:${index}`)
    })
    parts.push(Buffer.from(`],"indices":{${indices.join(',')}}}`))
    return Buffer.concat(parts)
  }

  return {
    get size() {
      return byId.size
    },
    get revision() {
      return revision
    },
    has: (id) => byId.has(id),
    get: (id) => byId.get(id)?.event,
    list: () => order.map((entry) => entry.event),
    insert(event) {
      if (byId.has(event.id)) throw new Error(`Duplicate event id ${JSON.stringify(event.id)}`)
      insertEntry({ event, createdMs: createdMsOf(event), seq: nextSeq++ })
      changed()
    },
    replace(event) {
      const entry = byId.get(event.id)
      if (entry === undefined) return false
      removeEntry(entry)
      insertEntry({ event, createdMs: createdMsOf(event), seq: entry.seq })
      changed()
      return true
    },
    remove(id) {
      const entry = byId.get(id)
      if (entry === undefined) return false
      removeEntry(entry)
      changed()
      return true
    },
    eventJson(id, transferables) {
      const entry = byId.get(id)
      return entry === undefined ? undefined : entryJson(entry, transferables)
    },
    snapshotBody(transferables) {
      const key = transferables ? 'full' : 'light'
      const cached = bodies[key]
      if (cached !== undefined && cached.revision === revision) return cached.body
      const body = buildBody(transferables)
      bodies[key] = { revision, body }
      return body
    },
  }
}

function createdMsOf(event: WorkstreamEvent): number {
  const ms = Date.parse(event.created.value)
  return Number.isNaN(ms) ? -Infinity : ms
}

/** Newest first; equal times put the later insertion first. */
function comesBefore(a: Entry, b: Entry): boolean {
  return a.createdMs > b.createdMs || (a.createdMs === b.createdMs && a.seq > b.seq)
}

/** The index where `entry` is, or where it belongs (binary search over the sorted order). */
function positionOf(order: readonly Entry[], entry: Entry): number {
  let low = 0
  let high = order.length
  while (low < high) {
    const middle = (low + high) >>> 1
    const other = order[middle]
    if (other !== undefined && comesBefore(other, entry)) low = middle + 1
    else high = middle
  }
  return low
}
