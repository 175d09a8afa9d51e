import { ChunkedBody } from './chunkedBody'
import { checkDelay, WorkstreamSyncError } from './errors'
import type { SeededWorkstreamEvent, WorkstreamEvent, WorkstreamEvents } from './models'
import {
  assertJsonContentType,
  httpError,
  parseJsonBody,
  resolveFetch,
  sendRequest,
  type FetchLike,
  type RawResponse,
} from './request'
import { isValidId, parseSeededWorkstreamEvent, parseWorkstreamEvent, parseWorkstreamEvents } from './validate'

/** Options of {@link createWorkstreamClient}. */
export interface ClientOptions {
  /** The Pieces OS base URL. Default `'http://localhost:1000'`. */
  baseUrl?: string
  /** The fetch to use. Default: `globalThis.fetch` at call time, else `cross-fetch`. */
  fetch?: FetchLike
  /** Sent as the `X-Application-ID` header when set: printable ASCII, no spaces at either end. Default: not sent. */
  applicationId?: string
  /** Deadline of each request, body included, in milliseconds. Default `30000`. */
  timeoutMs?: number
}

/** Options of {@link WorkstreamClient.snapshot} and {@link WorkstreamClient.create}. */
export interface SnapshotOptions {
  /** Ask for the heavy transferable data. Default: not sent, so the server's default (true) applies. */
  transferables?: boolean
  /** Aborts the request; it then rejects with kind `aborted`. Default: none (only `timeoutMs` ends it). */
  signal?: AbortSignal
}

/** Options of {@link WorkstreamClient.snapshotChunks}. */
export interface SnapshotChunksOptions extends SnapshotOptions {
  /**
   * The chunks of a snapshot body received before. Each chunk of the new body is compared with
   * it as it arrives and let go: the body is made of views of these where it repeats them (at
   * whatever offset the changes before moved them to) and copies of what differs; a body
   * identical to it resolves as this very array. Default: none.
   */
  unchangedFrom?: readonly Uint8Array[]
}

/** Options of {@link WorkstreamClient.delete}. */
export interface DeleteOptions {
  /** Aborts the request; it then rejects with kind `aborted`. Default: none (only `timeoutMs` ends it). */
  signal?: AbortSignal
}

/**
 * Typed calls to the three WorkstreamEvents endpoints. Stateless. Every method rejects with a
 * {@link WorkstreamSyncError}. A custom client (for a store's `client` option) implements the
 * three methods; the readonly fields are optional and only name the store's cache namespace and
 * its grace period.
 */
export interface WorkstreamClient {
  /** The normalized base URL, without a trailing slash. */
  readonly baseUrl?: string
  /** The `X-Application-ID` the client sends, if any. */
  readonly applicationId?: string | undefined
  /** The deadline of each request, in milliseconds. */
  readonly timeoutMs?: number
  /** `GET /workstream_events`, parsed and validated. */
  snapshot(options?: SnapshotOptions): Promise<WorkstreamEvents>
  /**
   * `GET /workstream_events`, as the raw bytes of a 200 JSON response, not parsed. The store
   * decodes these incrementally; a custom client may leave this out.
   */
  snapshotBody?(options?: SnapshotOptions): Promise<Uint8Array>
  /**
   * The same as `snapshotBody`, as the chunks the body arrived in, not copied into one buffer.
   * The store prefers it; a custom client may leave it out.
   */
  snapshotChunks?(options?: SnapshotChunksOptions): Promise<readonly Uint8Array[]>
  /** `POST /workstream_events/create`. Resolves with the event the server made. */
  create(seed: SeededWorkstreamEvent, options?: SnapshotOptions): Promise<WorkstreamEvent>
  /** `POST /workstream_events/{id}/delete`. */
  delete(id: string, options?: DeleteOptions): Promise<void>
}

/** Where Pieces OS listens by default: `'http://localhost:1000'`. */
export const DEFAULT_BASE_URL = 'http://localhost:1000'
/** The default deadline of each request, body included: `30000` milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000

/**
 * Creates a client for the Pieces OS WorkstreamEvents API. Every failure is a
 * {@link WorkstreamSyncError}: `network`, `timeout`, `aborted`, `http` (with `status`) or
 * `validation` (a body that is not JSON or not the expected model). Ids are URL-encoded into
 * paths; seeds are validated before anything is sent (`invalid-input`).
 *
 * Defaults: `baseUrl` `'http://localhost:1000'`, `timeoutMs` `30000`, `fetch` the global one
 * (read at call time) else `cross-fetch`, no `X-Application-ID`.
 *
 * @example
 * ```ts
 * const client = createWorkstreamClient({ baseUrl: 'http://localhost:1000' })
 * const { iterable } = await client.snapshot({ transferables: false })
 * ```
 * @throws {@link WorkstreamSyncError} of kind `invalid-input` for a `baseUrl` that is not an
 *   absolute http(s) URL without a query or fragment, an `applicationId` that cannot be a
 *   header value, or a `timeoutMs` that is not above 0 and at most 2147483647.
 */
export function createWorkstreamClient(options: ClientOptions = {}): WorkstreamClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL)
  const timeoutMs = checkDelay('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, true)
  const applicationId = checkApplicationId(options.applicationId)

  function headers(json: boolean): Record<string, string> {
    const result: Record<string, string> = {}
    if (json) result['Content-Type'] = 'application/json'
    if (applicationId !== undefined) result['X-Application-ID'] = applicationId
    return result
  }

  async function send(method: 'GET' | 'POST', path: string, what: string, signal: AbortSignal | undefined, body?: string, previous?: ChunkedBody): Promise<RawResponse> {
    const fetchImpl = await resolveFetch(options.fetch)
    const request = { method, url: baseUrl + path, headers: headers(body !== undefined), timeoutMs, what, ...(signal ? { signal } : {}), ...(body !== undefined ? { body } : {}), ...(previous ? { previous } : {}) }
    const response = await sendRequest(fetchImpl, request)
    // A route that is not there: the base URL points at something else (a delete's 404 is about its id).
    const wrongPlace = response.status === 404 && !path.endsWith('/delete') ? `Check that baseUrl (${baseUrl}) points at Pieces OS or the embedded server.` : undefined
    if (response.status < 200 || response.status > 299) throw httpError(response, what, wrongPlace)
    return response
  }

  async function snapshotResponse(o: SnapshotOptions, previous?: ChunkedBody): Promise<RawResponse> {
    const what = 'GET /workstream_events'
    const response = await send('GET', `/workstream_events${query(o.transferables)}`, what, o.signal, undefined, previous)
    assertJsonContentType(response, what)
    return response
  }

  return {
    baseUrl,
    applicationId,
    timeoutMs,
    snapshotBody: async (o = {}) => (await snapshotResponse(o)).body,
    async snapshotChunks(o = {}) {
      const previous = o.unchangedFrom ? new ChunkedBody(o.unchangedFrom) : undefined
      const { chunks } = await snapshotResponse(o, previous)
      // An identical body comes back as the caller's own array.
      return chunks === previous?.chunks ? o.unchangedFrom! : chunks
    },
    async snapshot(o = {}) {
      return parseWorkstreamEvents(parseJsonBody(await snapshotResponse(o), 'GET /workstream_events'))
    },
    async create(seed, o = {}) {
      const valid = parseSeededWorkstreamEvent(seed)
      const what = 'POST /workstream_events/create'
      const response = await send('POST', `/workstream_events/create${query(o.transferables)}`, what, o.signal, JSON.stringify(valid))
      assertJsonContentType(response, what)
      return parseWorkstreamEvent(parseJsonBody(response, what), 'response')
    },
    async delete(id, o = {}) {
      const path = `/workstream_events/${encodeEventId(id)}/delete`
      const what = `POST /workstream_events/{id}/delete (id ${JSON.stringify(id)})`
      const response = await send('POST', path, what, o.signal)
      // The answer is empty (204). A 2xx with an HTML page or a garbled body came from something
      // else (a proxy, a broken server) and says nothing about the delete: it is tried again.
      if (response.body.length > 0) {
        try {
          assertJsonContentType(response, what)
          parseJsonBody(response, what)
        } catch (error) {
          throw new WorkstreamSyncError('validation', `${(error as Error).message} The delete is tried again.`, { retryable: true, cause: error })
        }
      }
    },
  }
}

function query(transferables: boolean | undefined): string {
  return transferables === undefined ? '' : `?transferables=${transferables}`
}

function normalizeBaseUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new WorkstreamSyncError('invalid-input', `baseUrl ${JSON.stringify(value)} is not an absolute URL. Pass something like 'http://localhost:1000'.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WorkstreamSyncError('invalid-input', `baseUrl must be an http(s) URL, got ${JSON.stringify(value)}. Pass something like 'http://localhost:1000'.`)
  }
  // The API's paths are appended to it: after a query or a fragment they would be part of those.
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    throw new WorkstreamSyncError('invalid-input', `baseUrl ${JSON.stringify(value)} has a query or a fragment, which the API's paths cannot follow. Pass the server's address alone, like 'http://localhost:1000'.`)
  }
  return url.href.replace(/\/+$/, '')
}

/**
 * `id`, if it can be sent as a header value. fetch refuses line breaks and characters beyond
 * Latin-1 only when a request is made, as a network error that would be retried for ever.
 */
function checkApplicationId(id: string | undefined): string | undefined {
  if (id === undefined || (typeof id === 'string' && /^[\x20-\x7e]*$/.test(id) && id.trim() === id)) return id
  throw new WorkstreamSyncError('invalid-input', `applicationId ${JSON.stringify(id)} cannot be sent as the X-Application-ID header: use printable ASCII characters, with no spaces at either end.`)
}

/**
 * Why `id` cannot name an event in a URL path, or undefined when it can. "." and ".." cannot:
 * URL parsers resolve them (encoded or not) as dot segments, so they would address another route.
 * Neither can a string that is not well-formed UTF-16.
 */
export function eventIdProblem(id: unknown): string | undefined {
  if (!isValidId(id)) return `An event id must be a non-empty string, got ${describe(id)}.`
  if (id === '.' || id === '..') return `The event id ${JSON.stringify(id)} cannot be addressed in a URL path.`
  // A lone UTF-16 surrogate (JSON can carry one) has no UTF-8 form: encodeURIComponent throws.
  if (/\p{Cs}/u.test(id)) return `The event id ${JSON.stringify(id)} has a lone UTF-16 surrogate, which no URL path can carry.`
  return undefined
}

/** Encodes an id as exactly one path segment; an id that cannot be one is invalid input. */
export function encodeEventId(id: unknown): string {
  const problem = eventIdProblem(id)
  if (problem !== undefined) throw new WorkstreamSyncError('invalid-input', problem)
  return encodeURIComponent(id as string)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return 'an empty string'
  if (value === null) return 'null'
  return typeof value
}
