import { WorkstreamSyncError } from '../errors'

/** The three Pieces OS WorkstreamEvents endpoints, as the server names them in faults and counts. */
export type Route = 'snapshot' | 'create' | 'delete'

/** A route, or `'*'` for every route. */
export type FaultTarget = Route | '*'

const FAULT_TARGETS: readonly FaultTarget[] = ['snapshot', 'create', 'delete', '*']

/**
 * A scripted misbehaviour for one request.
 *
 * - `latency`: wait `ms`, then handle the request (combines with one other fault).
 * - `status`: answer with `status` (and `body` as text/plain, default a JSON error), change nothing.
 * - `drop-before-commit`: destroy the socket without changing anything.
 * - `drop-after-commit`: apply the change, then destroy the socket (the response is lost).
 * - `malformed`: answer 200 with a JSON content type and a body that is not JSON, change nothing.
 * - `truncated`: apply the change, then answer with the first half of the real body. Content-Length
 *   matches the half, so the client reads invalid JSON rather than seeing a network error.
 *   A delete has no body to cut, so it answers normally.
 * - `body`: any raw response (`status` default 200, `contentType` default `application/json; charset=utf-8`),
 *   change nothing.
 * - `trickle`: apply the change, then send the real body `chunkBytes` at a time every `intervalMs`.
 */
export type Fault =
  | { type: 'latency'; ms: number }
  | { type: 'status'; status: number; body?: string }
  | { type: 'drop-before-commit' }
  | { type: 'drop-after-commit' }
  | { type: 'malformed' }
  | { type: 'truncated' }
  | { type: 'body'; status?: number; body: string | Uint8Array; contentType?: string }
  | { type: 'trickle'; chunkBytes: number; intervalMs: number }

export type LatencyFault = Extract<Fault, { type: 'latency' }>
export type ResponseFault = Exclude<Fault, LatencyFault>

/** Options of `FaultController.add`. */
export interface AddFaultOptions {
  /** How many requests the fault applies to. Default 1; `Infinity` keeps it until cleared. */
  times?: number
}

/**
 * Scripts faults per route. Faults apply in the order they were added (first in, first out,
 * `'*'` entries in the same queue as route ones). Each request consumes at most one `latency`
 * fault and at most one other fault: the latency is waited first, then the other fault applies.
 * Requests refused before they reach a route (404, 405, CORS, 413) consume nothing.
 */
export interface FaultController {
  /**
   * Queues `fault` for the next requests to `target` (`'*'`: any route), once by default
   * (`options.times`). Throws an `invalid-input` WorkstreamSyncError for an unknown target, a
   * bad `times` or an invalid fault.
   */
  add(target: FaultTarget, fault: Fault, options?: AddFaultOptions): void
  /** Removes the faults added for `target` (only the `'*'` ones for `'*'`), or all of them. */
  clear(target?: FaultTarget): void
  /**
   * How many more requests the faults would affect: for a route, its own faults and the `'*'`
   * ones; for `'*'`, only those added for `'*'`; with no argument, all. `Infinity` when unbounded.
   */
  pending(target?: FaultTarget): number
}

/** What one request drew from the script. */
export interface DrawnFaults {
  latency?: LatencyFault
  fault?: ResponseFault
}

interface FaultEntry {
  readonly target: FaultTarget
  readonly fault: Fault
  remaining: number
}

/** The controller the server exposes, and `draw` that only the server calls. */
export function createFaultController(): { controller: FaultController; draw(route: Route): DrawnFaults } {
  let entries: FaultEntry[] = []

  const controller: FaultController = {
    add(target, fault, options = {}) {
      if (!FAULT_TARGETS.includes(target)) {
        throw invalidFault(`the target must be one of ${FAULT_TARGETS.join(', ')}, got ${JSON.stringify(target)}`)
      }
      const times = options.times ?? 1
      if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) {
        throw invalidFault(`times must be a positive integer or Infinity, got ${String(times)}`)
      }
      checkFault(fault)
      entries.push({ target, fault: { ...fault }, remaining: times })
    },
    clear(target) {
      entries = target === undefined ? [] : entries.filter((entry) => entry.target !== target)
    },
    pending(target) {
      return entries
        .filter((entry) => target === undefined || entry.target === target || (target !== '*' && entry.target === '*'))
        .reduce((sum, entry) => sum + entry.remaining, 0)
    },
  }

  function takeFirst(route: Route, wantLatency: boolean): Fault | undefined {
    const index = entries.findIndex(
      (entry) => (entry.target === route || entry.target === '*') && (entry.fault.type === 'latency') === wantLatency,
    )
    const entry = entries[index]
    if (entry === undefined) return undefined
    entry.remaining -= 1
    if (entry.remaining <= 0) entries.splice(index, 1)
    return entry.fault
  }

  function draw(route: Route): DrawnFaults {
    const drawn: DrawnFaults = {}
    const latency = takeFirst(route, true)
    const fault = takeFirst(route, false)
    if (latency?.type === 'latency') drawn.latency = latency
    if (fault !== undefined && fault.type !== 'latency') drawn.fault = fault
    return drawn
  }

  return { controller, draw }
}

function checkFault(fault: Fault): void {
  switch (fault.type) {
    case 'latency':
      if (!(Number.isFinite(fault.ms) && fault.ms >= 0)) throw invalidFault(`latency ms must be a finite number >= 0`)
      return
    case 'status':
      if (!isHttpStatus(fault.status)) throw invalidFault(`status must be an integer from 100 to 599`)
      return
    case 'body':
      if (fault.status !== undefined && !isHttpStatus(fault.status)) {
        throw invalidFault(`body status must be an integer from 100 to 599`)
      }
      return
    case 'trickle':
      if (!(Number.isInteger(fault.chunkBytes) && fault.chunkBytes >= 1)) {
        throw invalidFault(`trickle chunkBytes must be an integer >= 1`)
      }
      if (!(Number.isFinite(fault.intervalMs) && fault.intervalMs >= 0)) {
        throw invalidFault(`trickle intervalMs must be a finite number >= 0`)
      }
      return
    case 'drop-before-commit':
    case 'drop-after-commit':
    case 'malformed':
    case 'truncated':
      return
    default:
      throw invalidFault(`unknown fault type ${JSON.stringify((fault as { type?: unknown }).type)}`)
  }
}

function isHttpStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 100 && status <= 599
}

function invalidFault(problem: string): WorkstreamSyncError {
  return new WorkstreamSyncError('invalid-input', `Cannot add the fault: ${problem}.`)
}
