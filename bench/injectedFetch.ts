/** Where the injected fetch pretends to be. Nothing listens there: no request leaves the process. */
export const BENCH_BASE_URL = 'http://bench.invalid'
export const SNAPSHOT_URL = `${BENCH_BASE_URL}/workstream_events`

/**
 * A `fetch` that answers every request with a prepared `Response`, so that a measurement covers
 * the client's work only: no network, no server. Each response is built before the timed part
 * (`new Response(bytes)` copies the bytes, which is not the client's work).
 */
export interface InjectedFetch {
  readonly fetch: typeof fetch
  /** Builds the response the next call gets. Without one, a call gets a fresh response of `fallback`. */
  prepare(body: Uint8Array): void
  /** What a call without a prepared response gets (a poll the bench did not ask for). */
  fallback: Uint8Array
  readonly calls: number
}

export function jsonResponse(body: Uint8Array): Response {
  // The bodies are plain Buffers; TypeScript's DOM types only accept ArrayBuffer-backed views.
  return new Response(body as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/json' } })
}

export function createInjectedFetch(fallback: Uint8Array): InjectedFetch {
  let prepared: Response | undefined
  let calls = 0
  const injected: InjectedFetch = {
    fetch: async () => {
      calls++
      const response = prepared ?? jsonResponse(injected.fallback)
      prepared = undefined
      return response
    },
    prepare(body) {
      prepared = jsonResponse(body)
    },
    fallback,
    get calls() {
      return calls
    },
  }
  return injected
}

/** A fetch that stays in flight until `release()`, which answers 503: a cold start's poll that is still on the wire. */
export interface HeldFetch {
  readonly fetch: typeof fetch
  release(): void
}

export function createHeldFetch(): HeldFetch {
  const waiting: Array<(response: Response) => void> = []
  return {
    fetch: () => new Promise<Response>((resolve) => waiting.push(resolve)),
    release() {
      for (const resolve of waiting.splice(0)) resolve(new Response('busy', { status: 503, headers: { 'content-type': 'text/plain' } }))
    },
  }
}
