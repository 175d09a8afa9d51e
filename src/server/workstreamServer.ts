import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WorkstreamSyncError } from '../errors'
import type { SeededWorkstreamEvent, WorkstreamEvent, WorkstreamEvents } from '../models'
import { checkWorkstreamEvent } from '../validate'
import { createOriginCheck, isLoopbackHostHeader, type AllowedOrigins } from './cors'
import { createDataFileWriter, readDataFile, type DataFileWriter } from './dataFile'
import { createEventCommands } from './eventCommands'
import { createEventRepository } from './eventRepository'
import { createFaultController, type FaultController } from './faults'
import { createRequestHandler } from './requestHandler'
import { createRequestLog, type RequestLog } from './requestLog'

/** Options of {@link startWorkstreamServer}. Every one is optional; the defaults give an empty, in-memory server on a free loopback port. */
export interface WorkstreamServerOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default '127.0.0.1'. */
  host?: string
  /**
   * A JSON file (a `WorkstreamEvents` body) loaded at start and rewritten atomically after every
   * change, so events survive a restart. Writes coalesce; `close()` waits for the last one.
   */
  dataFile?: string
  /**
   * The initial events, used when there is no data file or it does not exist (or is empty) yet.
   * The server keeps these objects as they are: do not change them afterwards.
   */
  events?: WorkstreamEvent[]
  /** The status of a delete of an unknown id. Default 404; 500 answers like Pieces OS. */
  unknownDeleteStatus?: 404 | 500
  /** Default true: a seed's `internal_identifier` becomes the created event's id, as in Pieces OS. */
  honourInternalIdentifier?: boolean
  /**
   * Browser origins that may call the server. Default: loopback origins only
   * (`http(s)://localhost`, `127.0.0.1` or `[::1]`, any port). Any request from another origin,
   * preflight included, is refused with 403 and gets no Access-Control-Allow-Origin. Requests
   * without an Origin header (Node clients) are always served.
   */
  allowedOrigins?: AllowedOrigins
  /** Default 1 MiB. A larger request body gets 413 and changes nothing. */
  maxBodyBytes?: number
  /** The clock for `created` and `updated`. Default `Date.now`. */
  now?: () => number
  /** Ids for created events without an honoured `internal_identifier`. Default `crypto.randomUUID`. */
  generateId?: () => string
}

/** A running, Pieces-compatible WorkstreamEvents server. */
export interface WorkstreamServer {
  /** The base URL, for example `http://127.0.0.1:53211`. */
  readonly url: string
  /** The port it listens on: the one asked for, or the free one it picked for the default `port: 0`. */
  readonly port: number
  /** Scripted faults: latency, statuses, dropped connections, malformed or slow bodies. */
  readonly faults: FaultController
  /** Counts and a bounded log (the last 1000) of the requests seen. */
  readonly requests: RequestLog
  /** Copies of the events, newest `created` first. */
  events(): WorkstreamEvent[]
  /**
   * Creates an event as another client would, with the same rules as the HTTP API. Throws an
   * `invalid-input` WorkstreamSyncError for an invalid seed or an id that exists already.
   */
  create(seed: SeededWorkstreamEvent): WorkstreamEvent
  /** Deletes an event as another client would; false when there is none with that id. */
  delete(id: string): boolean
  /**
   * Changes an event as an update made elsewhere would: the patch's keys replace the event's
   * (undefined or null removes an optional key) and `updated` moves to now unless the patch sets
   * it. Undefined when there is no such event; throws `invalid-input` when the result is invalid.
   */
  update(id: string, patch: Partial<WorkstreamEvent>): WorkstreamEvent | undefined
  /** Stops listening, closes every connection (keep-alive ones too), ends fault timers, then
   * waits for the data file. Safe to call more than once. */
  close(): Promise<void>
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/** Starts the server; resolves once it listens. */
export async function startWorkstreamServer(options: WorkstreamServerOptions = {}): Promise<WorkstreamServer> {
  const host = options.host ?? '127.0.0.1'
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes >= 0)) {
    throw new WorkstreamSyncError('invalid-input', `maxBodyBytes must be an integer >= 0, got ${String(maxBodyBytes)}.`)
  }

  const loaded = options.dataFile === undefined ? undefined : await readDataFile(options.dataFile)
  const initial = loaded ?? options.events ?? []
  if (loaded === undefined) checkInitialEvents(initial)
  const repository = createEventRepository(initial)

  const writer: DataFileWriter | undefined =
    options.dataFile === undefined
      ? undefined
      : createDataFileWriter(
          options.dataFile,
          { get revision() { return repository.revision }, body: () => repository.snapshotBody(true) },
          loaded === undefined ? undefined : repository.revision,
        )
  // A new data file holds the initial events from the start, so a restart finds them.
  if (writer !== undefined && loaded === undefined) await writer.flush()

  const closing = new AbortController()
  const faults = createFaultController()
  const requestLog = createRequestLog()
  const commands = createEventCommands({
    repository,
    now: options.now ?? Date.now,
    generateId: options.generateId ?? randomUUID,
    honourInternalIdentifier: options.honourInternalIdentifier ?? true,
    onChange: () => writer?.schedule(),
  })

  const server = createServer(
    createRequestHandler({
      repository,
      commands,
      drawFaults: faults.draw,
      record: requestLog.record,
      isAllowedOrigin: createOriginCheck(options.allowedOrigins),
      // Only a loopback listener is guarded by host name; one on a real interface has real names.
      isAllowedHost: isLoopbackHost(host) ? isLoopbackHostHeader : () => true,
      maxBodyBytes,
      unknownDeleteStatus: options.unknownDeleteStatus ?? 404,
      closing: closing.signal,
    }),
  )
  const port = await listen(server, options.port ?? 0, host)
  const url = `http://${urlHost(host)}:${port}`

  let closed: Promise<void> | undefined
  const assertOpen = (what: string): void => {
    if (closing.signal.aborted) {
      throw new WorkstreamSyncError('aborted', `Cannot ${what}: the server is closed. Start a new one.`)
    }
  }

  return {
    url,
    port,
    faults: faults.controller,
    requests: requestLog.requests,
    // Parsing the cached body is several times faster than structuredClone on large snapshots.
    events: () => (JSON.parse(repository.snapshotBody(true).toString('utf8')) as WorkstreamEvents).iterable,
    create(seed) {
      assertOpen('create an event')
      const outcome = commands.create(structuredClone(seed))
      if (outcome.kind !== 'created') {
        throw new WorkstreamSyncError('invalid-input', outcome.message, outcome.kind === 'conflict' ? { eventId: outcome.id } : {})
      }
      return structuredClone(outcome.event)
    },
    delete(id) {
      assertOpen('delete an event')
      return commands.remove(id)
    },
    update(id, patch) {
      assertOpen('update an event')
      const outcome = commands.update(id, structuredClone(patch))
      if (outcome.kind === 'missing') return undefined
      if (outcome.kind === 'invalid') throw new WorkstreamSyncError('invalid-input', outcome.message, { eventId: id })
      return structuredClone(outcome.event)
    },
    close() {
      closed ??= (async () => {
        closing.abort()
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await stopped
        await writer?.flush()
      })()
      return closed
    },
  }
}

function checkInitialEvents(events: readonly WorkstreamEvent[]): void {
  const seen = new Set<string>()
  events.forEach((event, index) => {
    const problem = checkWorkstreamEvent(event, `events[${index}]`)
    if (problem !== undefined) {
      throw new WorkstreamSyncError('invalid-input', `The initial events are not valid: ${problem}.`, {
        path: `events[${index}]`,
      })
    }
    if (seen.has(event.id)) {
      throw new WorkstreamSyncError('invalid-input', `The initial events hold the id ${JSON.stringify(event.id)} twice.`, {
        eventId: event.id,
      })
    }
    seen.add(event.id)
  })
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new WorkstreamSyncError('network', `Cannot listen on ${host}:${port}: ${error.message}`, { cause: error }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

/** A host a client can connect to: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}
