import type { SeededWorkstreamEvent, WorkstreamEvent } from './models'

/**
 * How far the server's `created` may be earlier than the time the create was queued and still
 * count as the same event: Pieces OS runs on the same machine, so clocks agree within this.
 */
export const FINGERPRINT_CLOCK_SKEW_MS = 60_000

/**
 * Whether `event` is what the server made of `seed`, for servers that do not honour
 * `internal_identifier`: the same application, trigger, context and text, created no earlier
 * than the create was queued.
 */
export function fingerprintMatches(seed: SeededWorkstreamEvent, event: WorkstreamEvent, queuedAt: number): boolean {
  if (event.application.id !== seed.application.id) return false
  if ((event.readable ?? undefined) !== (seed.readable ?? undefined)) return false
  const created = Date.parse(event.created.value)
  if (!(created >= queuedAt - FINGERPRINT_CLOCK_SKEW_MS)) return false
  return canonical(event.trigger) === canonical(seed.trigger) && canonical(event.context) === canonical(seed.context)
}

/** JSON with sorted keys and without null or undefined members, so that equal data compares equal. */
export function canonical(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const record = value as Record<string, unknown>
  const parts: string[] = []
  for (const key of Object.keys(record).sort()) {
    const member = record[key]
    if (member === null || member === undefined) continue
    parts.push(`${JSON.stringify(key)}:${canonical(member)}`)
  }
  return `{${parts.join(',')}}`
}
