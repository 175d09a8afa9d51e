/** What went wrong, in a form that code can branch on. */
export type WorkstreamSyncErrorKind =
  | 'network'
  | 'timeout'
  | 'http'
  | 'validation'
  | 'storage'
  | 'invalid-input'
  | 'aborted'

export interface WorkstreamSyncErrorOptions {
  status?: number
  /** Defaults by kind: network, timeout, 408, 429 and 5xx are retryable; the rest are not. */
  retryable?: boolean
  cause?: unknown
  /** The JSON path of a validation failure, for example `iterable[3].created.value`. */
  path?: string
  /** The id of the event or mutation the error is about, when there is one. */
  eventId?: string
  mutationId?: string
}

/**
 * The one error type of workstream-sync. `kind` says what failed, `retryable` says whether
 * trying again can help, and `status` carries the HTTP status when there was one.
 */
export class WorkstreamSyncError extends Error {
  override readonly name = 'WorkstreamSyncError'
  readonly kind: WorkstreamSyncErrorKind
  readonly status?: number
  readonly retryable: boolean
  readonly path?: string
  readonly eventId?: string
  readonly mutationId?: string

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
