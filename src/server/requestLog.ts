import type { IncomingHttpHeaders } from 'node:http'
import type { Route } from './faults'

/** One request the server saw, as it arrived. */
export interface RecordedRequest {
  /** The HTTP method, such as `GET`, `POST` or `OPTIONS`. */
  readonly method: string
  /** The raw path, still percent-encoded. */
  readonly path: string
  /** The query parameters, decoded; for a repeated name, the last value. */
  readonly query: Readonly<Record<string, string>>
  /** A copy of the request headers, names in lower case as Node gives them. */
  readonly headers: Readonly<IncomingHttpHeaders>
  /** The endpoint it called; undefined for preflights and for requests that matched none. */
  readonly route?: Route
}

/** What tests read: counts since the last reset, and the last `limit` requests. */
export interface RequestLog {
  /** Requests to `route`, or all requests (preflights and refused ones included). */
  count(route?: Route): number
  /** The most recent requests, oldest first (the last 1000 by default). */
  readonly log: readonly RecordedRequest[]
  /** Sets every count to zero and empties the log. */
  reset(): void
}

export function createRequestLog(limit = 1000): { requests: RequestLog; record(request: RecordedRequest): void } {
  let entries: RecordedRequest[] = []
  let counts = new Map<Route | 'all', number>()

  const bump = (key: Route | 'all'): void => {
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }

  return {
    requests: {
      count: (route) => counts.get(route ?? 'all') ?? 0,
      get log() {
        return entries.slice()
      },
      reset() {
        entries = []
        counts = new Map()
      },
    },
    record(request) {
      bump('all')
      if (request.route !== undefined) bump(request.route)
      entries.push(request)
      if (entries.length > limit) entries.splice(0, entries.length - limit)
    },
  }
}
