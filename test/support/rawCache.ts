import type { Segment } from '../../src/eventSegments'
import { CACHE_FORMAT } from '../../src/cacheFormat'

/** A stored segment that holds these texts, each under its id, and these removals. */
export function segmentOf(entries: ReadonlyArray<readonly [string, string]>, removed: readonly string[] = []): Segment {
  return { ids: entries.map(([id]) => id), lengths: entries.map(([, text]) => text.length), text: entries.map(([, text]) => text).join(''), removed }
}

/** The meta record of a cache whose events are in `segments`, the first `base` of them from a rewrite. */
export function cacheMeta(namespace: string, segments: readonly number[], base = segments.length): Record<string, unknown> {
  return { format: CACHE_FORMAT, namespace, segments, base }
}
