import { checkDelay, WorkstreamSyncError } from './errors'

/** Retry settings of the outbox and the poller. */
export interface RetryOptions {
  /** Delay before the first retry, in milliseconds. Default `1000`. */
  baseDelayMs?: number
  /** Upper bound of any delay, in milliseconds. Default `30000`. */
  maxDelayMs?: number
  /** Attempts (the first send included) before a mutation becomes a dead letter. Default `8`. */
  maxAttempts?: number
}

export type ResolvedRetryOptions = Required<RetryOptions>

export const DEFAULT_RETRY: ResolvedRetryOptions = { baseDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: 8 }

export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY, ...stripUndefined(options ?? {}) }
  checkDelay('retry.baseDelayMs', resolved.baseDelayMs)
  checkDelay('retry.maxDelayMs', resolved.maxDelayMs)
  if (!(resolved.baseDelayMs >= 0) || !(resolved.maxDelayMs >= resolved.baseDelayMs) || !(resolved.maxAttempts >= 1)) {
    throw new WorkstreamSyncError('invalid-input', `retry options need 0 <= baseDelayMs <= maxDelayMs and maxAttempts >= 1, got ${JSON.stringify(options)}; leave a field out for its default.`)
  }
  return resolved
}

/**
 * The delay before retry number `failures` (1 for the first retry): exponential, capped, with
 * "equal jitter" (half fixed, half random) so that many clients that failed together do not
 * come back together, while no retry comes sooner than half its nominal delay.
 */
export function backoffDelay(failures: number, options: ResolvedRetryOptions, random: () => number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30)
  const nominal = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent)
  return Math.round(nominal / 2 + random() * (nominal / 2))
}

/**
 * The delay before poll number `failures` after failed ones: the retry backoff, growing up to
 * twice `intervalMs` where that is more than `maxDelayMs`, so that once the quick first retries
 * are over a failing server is polled no more often than a healthy one.
 */
export function pollBackoffDelay(failures: number, options: ResolvedRetryOptions, intervalMs: number, random: () => number): number {
  return backoffDelay(failures, { ...options, maxDelayMs: Math.max(options.maxDelayMs, 2 * intervalMs) }, random)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const result: Partial<T> = {}
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] !== undefined) result[key] = value[key]
  }
  return result
}
