import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AppBundle } from './appBundle'
import { FAULT_MODES, isFaultMode, type FaultMode } from './faultModes'

/** Where the app reads (GET) and sets (POST `{ "mode": "fail" }`) the embedded server's fault mode. */
export const CONTROL_PATH = '/control/faults'

const MAX_CONTROL_BODY_BYTES = 1024

export interface AppServerOptions {
  port: number
  host: string
  page: string
  bundle: AppBundle
  faultMode(): FaultMode
  setFaultMode(mode: FaultMode): void
}

export interface AppServer {
  readonly url: string
  close(): Promise<void>
}

/** Serves the demo's page, its bundle and the fault-mode control endpoint. */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const assets: Readonly<Record<string, { type: string; body: string | Uint8Array }>> = {
    '/': { type: 'text/html; charset=utf-8', body: options.page },
    '/index.html': { type: 'text/html; charset=utf-8', body: options.page },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: options.bundle.js },
    '/app.css': { type: 'text/css; charset=utf-8', body: options.bundle.css },
    '/app.js.map': { type: 'application/json; charset=utf-8', body: options.bundle.map },
  }

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://app.invalid').pathname
    if (path === CONTROL_PATH) {
      handleControl(request, response, options).catch((error: unknown) => {
        send(response, 500, 'application/json', JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
      })
      return
    }
    const asset = Object.hasOwn(assets, path) ? assets[path] : undefined
    if (asset === undefined) return send(response, 404, 'text/plain; charset=utf-8', `No ${path} here. The demo app is at /.\n`)
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain; charset=utf-8', 'Use GET.\n', { allow: 'GET, HEAD' })
    send(response, 200, asset.type, request.method === 'HEAD' ? '' : asset.body)
  })

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`The demo app cannot listen on ${options.host}:${options.port}: ${error.message}. Choose another port with --port.`)))
    server.listen(options.port, options.host, () => resolve((server.address() as AddressInfo).port))
  })

  let closed: Promise<void> | undefined
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    },
  }
}

async function handleControl(request: IncomingMessage, response: ServerResponse, options: AppServerOptions): Promise<void> {
  if (request.method === 'GET') return sendJson(response, 200, { mode: options.faultMode(), modes: FAULT_MODES })
  if (request.method !== 'POST') return send(response, 405, 'text/plain; charset=utf-8', 'Use GET or POST.\n', { allow: 'GET, POST' })
  // Only the demo's own page may switch modes: other sites cannot send JSON here without a preflight we never answer.
  const origin = request.headers.origin
  if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) {
    return sendJson(response, 403, { error: `Origin ${origin} may not switch the demo server's mode.` })
  }
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    return sendJson(response, 415, { error: 'Send JSON: { "mode": "normal" | "fail" | "slow" }.' })
  }
  const text = await readBody(request, MAX_CONTROL_BODY_BYTES)
  if (text === undefined) return sendJson(response, 413, { error: `The body is over ${MAX_CONTROL_BODY_BYTES} bytes.` })
  let mode: unknown
  try {
    mode = (JSON.parse(text) as { mode?: unknown } | null)?.mode
  } catch {
    // Not JSON: answered like a body without a valid mode, just below.
    mode = undefined
  }
  if (!isFaultMode(mode)) return sendJson(response, 400, { error: `Send { "mode": ... } with one of ${FAULT_MODES.join(', ')}.` })
  options.setFaultMode(mode)
  sendJson(response, 200, { mode: options.faultMode(), modes: FAULT_MODES })
}

/** The body as text, or undefined past `limit` bytes. */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body))
}

function send(response: ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers })
  response.end(body)
}
