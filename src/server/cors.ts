import type { OutgoingHttpHeaders } from 'node:http'

/** Which browser origins may call the server: a list of exact origins or patterns, or a predicate. */
export type AllowedOrigins = readonly (string | RegExp)[] | ((origin: string) => boolean)

/** `http(s)://localhost`, `127.0.0.1` or `[::1]`, on any port. */
const LOOPBACK_ORIGIN = /^https?:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i

export const ALLOWED_METHODS = 'GET, POST, OPTIONS'
export const ALLOWED_HEADERS = 'Content-Type, X-Application-ID'

/** `localhost`, `127.0.0.1` or `[::1]`, with or without a port. */
const LOOPBACK_HOST = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i

export function isLoopbackOrigin(origin: string): boolean {
  return LOOPBACK_ORIGIN.test(origin)
}

/**
 * Whether a request's Host header may reach a server that listens on loopback. A page that
 * rebinds its own DNS name to 127.0.0.1 sends same-origin requests with no Origin header but
 * with its own name as Host: refusing foreign Host names closes that way in (DNS rebinding).
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  return host === undefined || LOOPBACK_HOST.test(host)
}

/** Whether `origin` may call the server. The default allows loopback origins only. */
export function createOriginCheck(allowed: AllowedOrigins | undefined): (origin: string) => boolean {
  if (allowed === undefined) return isLoopbackOrigin
  if (typeof allowed === 'function') return (origin) => allowed(origin)
  const list = [...allowed]
  return (origin) =>
    list.some((entry) => {
      if (typeof entry === 'string') return entry === origin
      // A global or sticky RegExp keeps lastIndex between test() calls; reset it so each check is independent.
      entry.lastIndex = 0
      return entry.test(origin)
    })
}

/**
 * The CORS headers of a response to `origin` (undefined: not a browser request). A refused
 * origin gets no Access-Control-Allow-Origin, so a browser will not let the page read anything.
 */
export function corsHeaders(origin: string | undefined, allowed: boolean): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { vary: 'Origin' }
  if (origin !== undefined && allowed) headers['access-control-allow-origin'] = origin
  return headers
}

/** The extra headers of an accepted preflight. */
export function preflightHeaders(requestsPrivateNetwork: boolean): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': '600',
  }
  // Chrome's Private Network Access asks before a public page may call a loopback server.
  if (requestsPrivateNetwork) headers['access-control-allow-private-network'] = 'true'
  return headers
}
