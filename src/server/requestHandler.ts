import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { corsHeaders, preflightHeaders } from './cors'
import type { EventCommands } from './eventCommands'
import type { EventRepository } from './eventRepository'
import type { DrawnFaults, ResponseFault, Route } from './faults'
import { JSON_CONTENT_TYPE, readBody, sendBody, sendEmpty, sendError, sendTrickle } from './httpResponses'
import type { RecordedRequest } from './requestLog'
import { matchRoute, splitTarget } from './routes'

export interface RequestHandlerContext {
  repository: EventRepository
  commands: EventCommands
  drawFaults(route: Route): DrawnFaults
  record(request: RecordedRequest): void
  isAllowedOrigin(origin: string): boolean
  /** Whether the Host header may be served (loopback names only when listening on loopback). */
  isAllowedHost(host: string | undefined): boolean
  maxBodyBytes: number
  unknownDeleteStatus: 404 | 500
  /** Aborts when the server closes, ending latency waits and trickles. */
  closing: AbortSignal
}

/** What a route answers, before any fault shapes how it is sent. */
interface Outcome {
  status: number
  body?: Buffer
  contentType?: string
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void

const MALFORMED_BODY = '{"iterable":[{"id":"malformed" <this is not JSON>'

export function createRequestHandler(context: RequestHandlerContext): Handler {
  return (request, response) => {
    handle(context, request, response).catch((error: unknown) => {
      if (context.closing.aborted || response.destroyed) {
        response.destroy()
      } else if (!response.headersSent) {
        sendError(response, 500, `The server failed: ${error instanceof Error ? error.message : String(error)}`)
      } else {
        response.destroy()
      }
    })
  }
}

async function handle(context: RequestHandlerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const method = request.method ?? 'GET'
  const rawUrl = request.url ?? '/'
  const match = matchRoute(method, rawUrl)
  const { path, query } = splitTarget(rawUrl)
  context.record({
    method,
    path,
    query,
    headers: { ...request.headers },
    ...(match.kind === 'route' ? { route: match.route } : {}),
  })

  const origin = request.headers.origin
  if (!context.isAllowedHost(request.headers.host)) {
    sendError(response, 403, `The host name ${request.headers.host} is not this server's; use http://127.0.0.1 or http://localhost.`, {})
    return
  }
  const allowed = origin === undefined || context.isAllowedOrigin(origin)
  const headers = corsHeaders(origin, allowed)
  if (!allowed) {
    // A browser sends a simple POST without a preflight, so refusing here is what keeps other
    // sites from changing the user's events; GETs are refused too so nothing is served to them.
    sendError(response, 403, `The origin ${origin} may not call this server; add it to the allowedOrigins option.`, headers)
    return
  }
  if (match.kind === 'refused') {
    sendError(response, match.status, match.message, match.allow === undefined ? headers : { ...headers, allow: match.allow })
    return
  }
  if (match.kind === 'preflight') {
    const privateNetwork = request.headers['access-control-request-private-network'] === 'true'
    sendEmpty(response, 204, { ...headers, ...preflightHeaders(privateNetwork) })
    return
  }

  const read = await readBody(request, context.maxBodyBytes)
  if (read.kind === 'too-large') {
    sendError(
      response,
      413,
      `The request body is ${read.bytes} bytes, over the limit of ${context.maxBodyBytes}; nothing was changed.`,
      headers,
    )
    return
  }

  const { latency, fault } = context.drawFaults(match.route)
  if (latency !== undefined) await delay(latency.ms, undefined, { signal: context.closing })
  if (fault !== undefined && answerWithoutCommit(fault, request, response, headers)) return

  const outcome = perform(context, match, read.body)
  await send(context, fault, request, response, headers, outcome)
}

/** Faults that replace the route: they answer (or hang up) and change nothing. */
function answerWithoutCommit(
  fault: ResponseFault,
  request: IncomingMessage,
  response: ServerResponse,
  headers: OutgoingHttpHeaders,
): boolean {
  switch (fault.type) {
    case 'status':
      if (fault.body === undefined) {
        sendError(response, fault.status, `Injected fault: status ${fault.status}.`, headers)
      } else {
        sendBody(response, fault.status, fault.body, 'text/plain; charset=utf-8', headers)
      }
      return true
    case 'drop-before-commit':
      request.socket.destroy()
      return true
    case 'malformed':
      sendBody(response, 200, MALFORMED_BODY, JSON_CONTENT_TYPE, headers)
      return true
    case 'body':
      sendBody(response, fault.status ?? 200, fault.body, fault.contentType ?? JSON_CONTENT_TYPE, headers)
      return true
    default:
      return false
  }
}

/** Sends the route's outcome, shaped by a fault that applies after the commit. */
async function send(
  context: RequestHandlerContext,
  fault: ResponseFault | undefined,
  request: IncomingMessage,
  response: ServerResponse,
  headers: OutgoingHttpHeaders,
  outcome: Outcome,
): Promise<void> {
  const { status, body, contentType } = outcome
  if (fault?.type === 'drop-after-commit') {
    request.socket.destroy()
    return
  }
  if (body === undefined) {
    sendEmpty(response, status, headers)
    return
  }
  if (fault?.type === 'truncated') {
    sendBody(response, status, body.subarray(0, Math.floor(body.length / 2)), contentType, headers)
    return
  }
  if (fault?.type === 'trickle') {
    await sendTrickle(response, status, body, contentType ?? JSON_CONTENT_TYPE, headers, fault, context.closing)
    return
  }
  sendBody(response, status, body, contentType, headers)
}

function perform(
  context: RequestHandlerContext,
  match: { route: Route; id?: string; transferables: boolean },
  body: Buffer,
): Outcome {
  switch (match.route) {
    case 'snapshot':
      return { status: 200, body: context.repository.snapshotBody(match.transferables), contentType: JSON_CONTENT_TYPE }
    case 'create':
      return create(context, body, match.transferables)
    case 'delete':
      return remove(context, match.id ?? '')
  }
}

function create(context: RequestHandlerContext, body: Buffer, transferables: boolean): Outcome {
  if (body.length === 0) return jsonError(400, 'The request body is empty; send a SeededWorkstreamEvent as JSON.')
  let seed: unknown
  try {
    seed = JSON.parse(body.toString('utf8'))
  } catch (error) {
    return jsonError(
      400,
      `The request body is not JSON (${error instanceof Error ? error.message : String(error)}); send a SeededWorkstreamEvent as JSON.`,
    )
  }
  const outcome = context.commands.create(seed)
  if (outcome.kind === 'invalid') return jsonError(400, outcome.message)
  if (outcome.kind === 'conflict') return jsonError(409, outcome.message)
  const json = context.repository.eventJson(outcome.event.id, transferables)
  return { status: 200, body: json ?? Buffer.from(JSON.stringify(outcome.event)), contentType: JSON_CONTENT_TYPE }
}

function remove(context: RequestHandlerContext, id: string): Outcome {
  if (context.commands.remove(id)) return { status: 204 }
  if (context.unknownDeleteStatus === 500) {
    // Pieces OS answers an unknown id with a 500 and a plain-text message, not a 404.
    return {
      status: 500,
      body: Buffer.from(`Internal Server Error: workstream_event with id ${JSON.stringify(id)} was not found.`),
      contentType: 'text/plain; charset=utf-8',
    }
  }
  return jsonError(404, `No workstream event has the id ${JSON.stringify(id)}.`)
}

function jsonError(status: number, message: string): Outcome {
  return { status, body: Buffer.from(JSON.stringify({ error: message })), contentType: JSON_CONTENT_TYPE }
}
