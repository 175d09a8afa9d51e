/** Where the injected fetch pretends to be. Nothing listens there: no request leaves the process. */
export const BENCH_BASE_URL = 'http://bench.invalid'
export const SNAPSHOT_URL = `${BENCH_BASE_URL}/workstream_events`

/**
 * A `fetch` that answers every request with a prepared `Response`, so that a measurement covers
 * the client's work only: no network, no server. Each response is built before the timed part.
 */
export interface InjectedFetch {
  readonly fetch: typeof fetch
  /** Builds the response the next call gets. Without one, a call gets a fresh response of `fallback`. */
  prepare(body: Uint8Array): void
  /** What a call without a prepared response gets (a poll the bench did not ask for). */
  fallback: Uint8Array
  readonly calls: number
}

/**
 * What Node's fetch reads from the embedded server over loopback: chunks of 64 kB (measured: 590
 * to 725 chunks for a 36 MB snapshot, every one but the last exactly 65,536 bytes).
 */
export const CHUNK_BYTES = 65_536

/**
 * A response whose body arrives as a real HTTP body does, in chunks of {@link CHUNK_BYTES}, each
 * a new buffer (a copy, as a socket read makes), so that a client that keeps the body keeps
 * memory of its own. Every reader gets the same bytes.
 */
export function jsonResponse(body: Uint8Array): Response {
  let offset = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= body.byteLength) {
        controller.close()
        return
      }
      // Not body.slice(): on a Buffer that is a view, not a copy.
      controller.enqueue(new Uint8Array(body.subarray(offset, offset + CHUNK_BYTES)))
      offset += CHUNK_BYTES
    },
  })
  return new Response(stream, { headers: { 'content-type': 'application/json' } })
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
