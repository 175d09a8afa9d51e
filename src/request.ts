import { WorkstreamSyncError } from './errors'
import { createRangeComparer } from './jsonScanner'

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
  /** A body byte-identical to this one resolves as this very array, never assembled again. */
  unchangedFrom?: Uint8Array
}

export interface RawResponse {
  status: number
  contentType: string | null
  body: Uint8Array
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
  const init: RequestInit = { method: options.method, headers: options.headers, signal: controller.signal }
  if (options.body !== undefined) init.body = options.body
  try {
    const response = await fetchImpl(options.url, init)
    const body = await readBody(response, options.unchangedFrom)
    return { status: response.status, contentType: response.headers.get('content-type'), body }
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

/** The error's message, with the system's code when the runtime gives one (Node: "fetch failed" has it in its cause). */
function networkDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  return typeof cause?.code === 'string' && !message.includes(cause.code) ? `${message} (${cause.code})` : message
}

function abortedError(what: string, signal: AbortSignal): WorkstreamSyncError {
  return new WorkstreamSyncError('aborted', `${what} was aborted by the caller.`, { cause: signal.reason })
}

/**
 * Reads the body through its reader into one buffer. Node 20 reads large bodies several times
 * faster this way than through arrayBuffer(), and the bytes are what the snapshot decoder wants.
 * Chunks are compared with `unchangedFrom` as they arrive: a body identical to it resolves as
 * `unchangedFrom` itself, and the chunks (a few thousand of 64 kB for a large snapshot over
 * HTTP) are never copied into a buffer of their own.
 */
async function readBody(response: Response, unchangedFrom: Uint8Array | undefined): Promise<Uint8Array> {
  const stream = response.body
  if (!stream || typeof stream.getReader !== 'function') return new Uint8Array(await response.arrayBuffer())
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  let same = unchangedFrom !== undefined
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (same) same = total + value.byteLength <= unchangedFrom!.byteLength && createRangeComparer(value, unchangedFrom!)(0, total, value.byteLength)
    chunks.push(value)
    total += value.byteLength
  }
  if (same && total === unchangedFrom!.byteLength) return unchangedFrom!
  if (chunks.length === 1) return chunks[0]!
  const body = new Uint8Array(total)
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

/** Turns a non-2xx response into an http error that carries the body's text. */
export function httpError(response: RawResponse, what: string): WorkstreamSyncError {
  const text = decodeText(response.body.subarray(0, 2000)).trim()
  const hint = response.status >= 500 || response.status === 429 || response.status === 408
    ? 'The server may recover: a later attempt can succeed.'
    : 'The request was refused; sending it again as it is will not help.'
  return new WorkstreamSyncError('http', `${what} answered ${response.status}${text ? `: ${excerpt(text)}` : ''}. ${hint}`, { status: response.status })
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (flat === '') return 'an empty body'
  return flat.length > 120 ? `"${flat.slice(0, 120)}…"` : `"${flat}"`
}
