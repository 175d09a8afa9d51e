/**
 * What went wrong, in a form that code can branch on.
 *
 * - `network`: the request never got an answer (refused, reset, DNS). Retryable.
 * - `timeout`: no full answer within `timeoutMs`. Retryable; the server may still have acted.
 * - `http`: the server answered with a non-2xx `status`. Retryable for 408, 429 and 5xx.
 * - `validation`: the server's body is not JSON or not the expected model (`path` says where).
 * - `storage`: the cache could not be read or written; sync goes on in memory.
 * - `invalid-input`: the caller passed something invalid (a bad seed, an empty id, bad options).
 * - `aborted`: a caller's `AbortSignal` fired, the store was disposed or cleared, a delete cancelled
 *   a create that had not reached the server, or a dead letter was discarded.
 */
export type WorkstreamSyncErrorKind =
  | 'network'
  | 'timeout'
  | 'http'
  | 'validation'
  | 'storage'
  | 'invalid-input'
  | 'aborted'

/** Options of the {@link WorkstreamSyncError} constructor. All are optional. */
export interface WorkstreamSyncErrorOptions {
  /** The HTTP status, for kind `http`. Default: none. */
  status?: number
  /**
   * Defaults by kind: network, timeout, 408, 429 and 5xx are retryable; the rest are not (the
   * client marks some validation errors retryable, such as a delete answered 2xx with a body that
   * is not JSON).
   */
  retryable?: boolean
  /** The underlying error, kept as the standard `Error.cause`. Default: none. */
  cause?: unknown
  /** The JSON path of a validation failure, for example `iterable[3].created.value`. */
  path?: string
  /** The id of the event the error is about, when there is one. */
  eventId?: string
  /** The id of the outbox mutation the error is about (see `PendingMutation.id`). */
  mutationId?: string
}

/**
 * The one error type of workstream-sync. `kind` says what failed, `retryable` says whether
 * trying again can help, and `status` carries the HTTP status when there was one.
 */
export class WorkstreamSyncError extends Error {
  /** Always `'WorkstreamSyncError'`. */
  override readonly name = 'WorkstreamSyncError'
  /** What failed: see {@link WorkstreamSyncErrorKind}. */
  readonly kind: WorkstreamSyncErrorKind
  /** The HTTP status, when the server answered (kind `http`). */
  readonly status?: number
  /** Whether trying again can help: network errors, timeouts, 408, 429 and 5xx. */
  readonly retryable: boolean
  /** For `validation` errors: the JSON path of the problem, for example `iterable[3].created.value`. */
  readonly path?: string
  /** The event the error is about, when there is one. */
  readonly eventId?: string
  /** The outbox mutation the error is about, when there is one. */
  readonly mutationId?: string

  /**
   * Makes an error; `retryable` is derived from `kind` and `status` unless given.
   *
   * @param kind - What failed.
   * @param message - A readable message that says what to do next.
   * @param options - Status, cause, path and ids. `retryable` defaults by kind and status.
   */
  constructor(kind: WorkstreamSyncErrorKind, message: string, options: WorkstreamSyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.kind = kind
    if (options.status !== undefined) this.status = options.status
    if (options.path !== undefined) this.path = options.path
    if (options.eventId !== undefined) this.eventId = options.eventId
    if (options.mutationId !== undefined) this.mutationId = options.mutationId
    this.retryable = options.retryable ?? isRetryableByDefault(kind, options.status)
  }
}

/** Network errors, timeouts, 408, 429 and 5xx can succeed on a retry; everything else cannot. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

function isRetryableByDefault(kind: WorkstreamSyncErrorKind, status: number | undefined): boolean {
  if (kind === 'network' || kind === 'timeout') return true
  if (kind === 'http') return status !== undefined && isRetryableStatus(status)
  return false
}

/** Wraps anything thrown into a WorkstreamSyncError, keeping one that already is. */
export function toSyncError(error: unknown, kind: WorkstreamSyncErrorKind, message: string): WorkstreamSyncError {
  if (error instanceof WorkstreamSyncError) return error
  const detail = error instanceof Error ? error.message : String(error)
  return new WorkstreamSyncError(kind, `${message}: ${detail}`, { cause: error })
}

/** The error that pending promises reject with when the store that owns them is disposed. */
export function disposedError(what: string): WorkstreamSyncError {
  return new WorkstreamSyncError(
    'aborted',
    `${what}: the store was disposed. Queued mutations stay persisted and a new store on the same storage sends them.`,
  )
}

/** The longest delay a timer keeps (2^31 - 1 ms, about 24.8 days): setTimeout fires a longer one at once. */
export const MAX_DELAY_MS = 2_147_483_647

/** `value`, a duration option in milliseconds; refused unless it is at least 0 (above 0 when `positive`) and at most MAX_DELAY_MS. */
export function checkDelay(name: string, value: number, positive = false, hint = ''): number {
  if ((positive ? value > 0 : value >= 0) && value <= MAX_DELAY_MS) return value
  throw new WorkstreamSyncError('invalid-input', `${name} must be ${positive ? 'more than 0' : '0 or more'} and at most ${MAX_DELAY_MS} milliseconds (a timer cannot wait longer), got ${String(value)}.${hint}`)
}
