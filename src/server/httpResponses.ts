import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

export type BodyResult = { kind: 'read'; body: Buffer } | { kind: 'too-large'; bytes: number }

/**
 * Reads a request body up to `maxBytes`. A larger body is read to its end and thrown away, so
 * that the 413 reaches the client instead of a reset connection. Rejects when the client goes away.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    let settled = false
    const settle = (action: () => void): void => {
      if (settled) return
      settled = true
      action()
    }
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= maxBytes) chunks.push(chunk)
      else chunks.length = 0
    })
    request.on('end', () =>
      settle(() => resolve(bytes <= maxBytes ? { kind: 'read', body: Buffer.concat(chunks) } : { kind: 'too-large', bytes })),
    )
    request.on('error', (error) => settle(() => reject(error)))
    request.on('close', () => settle(() => reject(new Error('The client closed the connection before the body ended.'))))
  })
}

export function sendBody(
  response: ServerResponse,
  status: number,
  body: Buffer | Uint8Array | string,
  contentType: string | undefined,
  headers: OutgoingHttpHeaders = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const all: OutgoingHttpHeaders = { ...headers, 'content-length': String(bytes.byteLength) }
  if (contentType !== undefined) all['content-type'] = contentType
  response.writeHead(status, all)
  response.end(bytes)
}

/** `{ "error": message }`, the one error shape of the server. */
export function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  sendBody(response, status, JSON.stringify({ error: message }), JSON_CONTENT_TYPE, headers)
}

export function sendEmpty(response: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  response.writeHead(status, headers)
  response.end()
}

/**
 * Sends the whole body, `chunkBytes` at a time every `intervalMs`, with the full Content-Length.
 * Stops, destroying the socket, when `signal` aborts (server closing); stops quietly when the client leaves.
 */
export async function sendTrickle(
  response: ServerResponse,
  status: number,
  body: Buffer,
  contentType: string,
  headers: OutgoingHttpHeaders,
  pace: { chunkBytes: number; intervalMs: number },
  signal: AbortSignal,
): Promise<void> {
  response.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': String(body.length) })
  response.flushHeaders()
  for (let offset = 0; offset < body.length; offset += pace.chunkBytes) {
    if (offset > 0) await delay(pace.intervalMs, undefined, { signal })
    if (response.destroyed) return
    response.write(body.subarray(offset, offset + pace.chunkBytes))
  }
  response.end()
}
