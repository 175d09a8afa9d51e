import type { Route } from './faults'

/** Where a request goes, or why it goes nowhere. */
export type RouteMatch =
  | { kind: 'route'; route: Route; id?: string; transferables: boolean }
  | { kind: 'preflight'; route: Route }
  | { kind: 'refused'; status: 400 | 404 | 405; message: string; allow?: string }

/** A request target split into its path and query, as the request log records it. */
export interface RequestTarget {
  path: string
  query: Record<string, string>
}

const METHOD_OF: Record<Route, 'GET' | 'POST'> = { snapshot: 'GET', create: 'POST', delete: 'POST' }

export function splitTarget(rawUrl: string): RequestTarget & { search: URLSearchParams } {
  const queryStart = rawUrl.indexOf('?')
  const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart)
  const search = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1))
  return { path, query: Object.fromEntries(search), search }
}

/**
 * Matches the Pieces OS paths exactly. The delete id is one path segment, URL-decoded after the
 * split, so an encoded `%2F` belongs to the id while a raw `/`, `.` or `..` segment never matches
 * (the path is not normalised, so it cannot climb to another route).
 */
export function matchRoute(method: string, rawUrl: string): RouteMatch {
  const { path, search } = splitTarget(rawUrl)
  const found = routeOfPath(path)
  if (found.kind === 'refused') return found
  const { route, id } = found

  if (method === 'OPTIONS') return { kind: 'preflight', route }
  if (method !== METHOD_OF[route]) {
    return {
      kind: 'refused',
      status: 405,
      message: `${method} is not allowed on ${path}; use ${METHOD_OF[route]}.`,
      allow: `${METHOD_OF[route]}, OPTIONS`,
    }
  }

  const transferables = parseTransferables(search)
  if (transferables === undefined) {
    return {
      kind: 'refused',
      status: 400,
      message: `The query parameter transferables must be "true" or "false", got ${JSON.stringify(search.get('transferables'))}.`,
    }
  }
  return id === undefined ? { kind: 'route', route, transferables } : { kind: 'route', route, id, transferables }
}

type PathMatch = { kind: 'path'; route: Route; id?: string } | Extract<RouteMatch, { kind: 'refused' }>

function routeOfPath(path: string): PathMatch {
  const notFound = {
    kind: 'refused',
    status: 404,
    message: `No route for ${path}. The server answers GET /workstream_events, POST /workstream_events/create and POST /workstream_events/{id}/delete.`,
  } as const
  if (!path.startsWith('/')) return notFound
  const segments = path.slice(1).split('/')
  if (segments[0] !== 'workstream_events') return notFound
  if (segments.length === 1) return { kind: 'path', route: 'snapshot' }
  if (segments.length === 2 && segments[1] === 'create') return { kind: 'path', route: 'create' }
  const rawId = segments[1]
  if (segments.length !== 3 || segments[2] !== 'delete' || rawId === undefined) return notFound
  if (rawId === '' || rawId === '.' || rawId === '..') return notFound
  try {
    return { kind: 'path', route: 'delete', id: decodeURIComponent(rawId) }
  } catch {
    return {
      kind: 'refused',
      status: 400,
      message: `The event id in ${path} is not valid percent-encoding; encode it with encodeURIComponent.`,
    }
  }
}

function parseTransferables(search: URLSearchParams): boolean | undefined {
  const value = search.get('transferables')
  if (value === null || value === 'true') return true
  if (value === 'false') return false
  return undefined
}
