import { BodyFollower } from './bodyFollower'
import type { ChunkedBody } from './chunkedBody'
import { WorkstreamSyncError } from './errors'

export type FetchLike = typeof fetch

/**
 * Resolves the fetch to use at call time: the injected one, else the global, else cross-fetch.
 * cross-fetch is loaded lazily so that environments with a global fetch never load it.
 */
export async function resolveFetch(injected: FetchLike | undefined): Promise<FetchLike> {
  if (injected) return injected
  if (typeof globalThis.fetch === 'function') return globalThis.fetch.bind(globalThis)
  const module = await import('cross-fetch')
  return module.fetch as unknown as FetchLike
}

export interface RequestOptions {
  method: 'GET' | 'POST'
  url: string
  headers: Record<string, string>
  body?: string
  timeoutMs: number
  signal?: AbortSignal
  /** Names the call in error messages, e.g. "GET /workstream_events". */
  what: string
  /** A body received before, which the new one likely repeats (see readChunks). */
  previous?: ChunkedBody
}

export interface RawResponse {
  status: number
  contentType: string | null
  /** The body as it arrived, in chunks. */
  chunks: readonly Uint8Array[]
  /** The body in one buffer, assembled on first use. */
  readonly body: Uint8Array
}

/**
 * Sends one request and reads the whole body, under a single deadline that covers the body too:
 * a server that trickles its body past the timeout is a timeout, not a hang.
 */
export async function sendRequest(fetchImpl: FetchLike, options: RequestOptions): Promise<RawResponse> {
  const { signal: callerSignal, timeoutMs, what } = options
  if (callerSignal?.aborted) throw abortedError(what, callerSignal)
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onCallerAbort = (): void => controller.abort()
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true })
  // Every answer is the server's now: a browser's HTTP cache would give an old snapshot back when
  // the server (or a gateway) says its answers may be cached.
  const init: RequestInit = { method: options.method, headers: options.headers, signal: controller.signal, cache: 'no-store' }
  if (options.body !== undefined) init.body = options.body
  try {
    const response = await fetchImpl(options.url, init)
    const chunks = await readChunks(response, options.previous)
    let body: Uint8Array | undefined
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      chunks,
      get body() {
        return (body ??= concat(chunks))
      },
    }
  } catch (error) {
    if (timedOut) {
      throw new WorkstreamSyncError('timeout', `${what} timed out after ${timeoutMs} ms. The request may still reach the server; raise timeoutMs if the server is slow.`, { cause: error })
    }
    if (callerSignal?.aborted) throw abortedError(what, callerSignal)
    if (error instanceof WorkstreamSyncError) throw error
    throw new WorkstreamSyncError('network', `${what} failed: ${networkDetail(error)}. Check that Pieces OS (or the embedded server) is running at ${new URL(options.url).origin}.`, { cause: error })
  } finally {
    clearTimeout(timer)
    callerSignal?.removeEventListener('abort', onCallerAbort)
  }
}

/**
 * The error's message, with what its cause says (Node: "fetch failed" keeps the reason in its
 * cause, a system code such as ECONNREFUSED or a message such as "bad port"), without a final period.
 */
function networkDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined
  const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined
  const detail = reason !== undefined && reason !== '' && !message.includes(reason) ? `${message} (${reason})` : message
  return detail.replace(/\.+$/, '')
}

function abortedError(what: string, signal: AbortSignal): WorkstreamSyncError {
  return new WorkstreamSyncError('aborted', `${what} was aborted by the caller.`, { cause: signal.reason })
}

/**
 * Reads the body through its reader, as the chunks it arrives in. Node 20 reads large bodies
 * several times faster this way than through arrayBuffer(), and the snapshot decoder reads the
 * chunks where they are, without a copy of the whole body.
 *
 * With `previous`, each chunk is compared with it as it arrives and let go (see BodyFollower):
 * the body is made of views of `previous` where it repeats it, and copies of what differs. A
 * body identical to `previous` is `previous.chunks` itself. A snapshot thus never keeps a second
 * copy of what it repeats, even for a moment (183 MB at 50k events).
 */
async function readChunks(response: Response, previous: ChunkedBody | undefined): Promise<readonly Uint8Array[]> {
  const stream = response.body
  if (!stream || typeof stream.getReader !== 'function') return [new Uint8Array(await response.arrayBuffer())]
  const reader = stream.getReader()
  const follower = previous === undefined ? undefined : new BodyFollower(previous)
  const chunks: Uint8Array[] = []
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (follower !== undefined) follower.push(value)
    else chunks.push(value)
  }
  return follower !== undefined ? follower.finish() : chunks
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const body = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body
}

const decoder = /* @__PURE__ */ new TextDecoder()

/** Decodes UTF-8 bytes to text. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/** Parses a JSON body, with a validation error that shows the start of what came instead. */
export function parseJsonBody(response: RawResponse, what: string): unknown {
  const text = decodeText(response.body)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new WorkstreamSyncError('validation', `${what} answered ${response.status} with a body that is not JSON (${excerpt(text)}). Is the base URL pointing at Pieces OS?`, { cause: error })
  }
}

/** Fails on a declared content type that is not JSON: an HTML error page is not a snapshot. */
export function assertJsonContentType(response: RawResponse, what: string): void {
  const type = response.contentType
  if (type === null || /\bjson\b/i.test(type)) return
  throw new WorkstreamSyncError('validation', `${what} answered with content type "${type}" instead of JSON (${excerpt(decodeText(response.body.subarray(0, 200)))}). Is the base URL pointing at Pieces OS?`)
}

/** Turns a non-2xx response into an http error that carries the body's text, and `hint` (else one from the status) on what to do. */
export function httpError(response: RawResponse, what: string, hint?: string): WorkstreamSyncError {
  const text = decodeText(response.body.subarray(0, 2000)).trim()
  hint ??= response.status >= 500 || response.status === 429 || response.status === 408
    ? 'The server may recover: a later attempt can succeed.'
    : 'The request was refused; sending it again as it is will not help.'
  return new WorkstreamSyncError('http', `${what} answered ${response.status}${text ? `: ${excerpt(text)}` : ''}. ${hint}`, { status: response.status })
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (flat === '') return 'an empty body'
  return flat.length > 120 ? `"${flat.slice(0, 120)}…"` : `"${flat}"`
}
