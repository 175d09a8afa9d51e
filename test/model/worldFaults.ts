import type { Fault, Route } from '../../src/server/index'

/** The faults the world injects, by the name the soak counts them under. */
export const FAULT_KINDS = ['status', 'latency', 'timeout', 'drop-before-commit', 'drop-after-commit', 'malformed', 'truncated'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]
export const ROUTES: readonly Route[] = ['snapshot', 'create', 'delete']

/** The server fault of a kind, for a client whose deadline is `timeoutMs`. */
export function faultOf(kind: FaultKind, timeoutMs: number): Fault {
  switch (kind) {
    case 'status':
      return { type: 'status', status: 503 }
    case 'latency':
      return { type: 'latency', ms: 15 }
    case 'timeout':
      // Past the client's deadline, yet committed before the store's grace period ends.
      return { type: 'latency', ms: timeoutMs + 50 }
    default:
      return { type: kind }
  }
}
