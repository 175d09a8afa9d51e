import type { GroupedTimestamp, SeededWorkstreamEvent, WorkstreamEvent } from './models'

/**
 * The event Pieces OS makes from a seed: the server's id and timestamps, the seed's fields as they
 * are, and its `summary` as the one entry of `summaries`. Keys follow the official
 * `WorkstreamEventToJSON` order so that bodies look like the real server's.
 */
export function eventFromSeed(seed: SeededWorkstreamEvent, id: string, nowMs: number): WorkstreamEvent {
  const at: GroupedTimestamp = { value: new Date(nowMs).toISOString() }
  const event: WorkstreamEvent = {
    schema: seed.schema,
    id,
    score: seed.score,
    application: seed.application,
    created: at,
    updated: { ...at },
    trigger: seed.trigger,
    context: seed.context,
    summaries: seed.summary == null ? undefined : { iterable: [seed.summary] },
    tags: seed.tags,
    readable: seed.readable,
    workstreamEventsVector: seed.workstreamEventsVector,
    processing: seed.processing,
    anchors: seed.anchors,
    websites: seed.websites,
    persons: seed.persons,
  }
  return withoutAbsent(event)
}

/**
 * Drops top-level keys that hold undefined or null (generated clients write null for unset
 * optionals), so a stored event is the object that its JSON parses back to.
 */
export function withoutAbsent<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] == null) delete value[key]
  }
  return value
}
