import type { WorkstreamEvent } from '../../src/models'

/**
 * A fetch whose snapshots carry every event titled `readable` with a `created` that is not a date.
 * hold() keeps the next snapshot requests from the server until release(), which then makes them
 * (as a slow server does); heldOne() resolves once one waits.
 */
export function corruptingFetch(readable: string) {
  let snapshots = 0
  const waiting: Array<{ count: number; resolve: () => void }> = []
  let gate: { opened: Promise<void>; open: () => void; reached: Promise<void>; reach: () => void } | undefined
  const fetchCorrupted: typeof fetch = async (input, init) => {
    const isSnapshot = (init?.method ?? 'GET') === 'GET'
    if (isSnapshot && gate) {
      gate.reach()
      await gate.opened
    }
    const response = await fetch(input, init)
    if (!isSnapshot) return response
    const body = (await response.json()) as { iterable: Array<Record<string, unknown>> }
    for (const item of body.iterable) if (item.readable === readable) item.created = 42
    snapshots++
    for (const w of waiting.filter((w) => snapshots >= w.count)) w.resolve()
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
  }
  return {
    fetch: fetchCorrupted,
    hold(): void {
      let open!: () => void
      let reach!: () => void
      const opened = new Promise<void>((resolve) => (open = resolve))
      const reached = new Promise<void>((resolve) => (reach = resolve))
      gate = { opened, open, reached, reach }
    },
    heldOne: (): Promise<void> => gate?.reached ?? Promise.resolve(),
    release(): void {
      gate?.open()
      gate = undefined
    },
    snapshots: () => snapshots,
    snapshotsReach: (count: number) => new Promise<void>((resolve) => (snapshots >= count ? resolve() : waiting.push({ count, resolve }))),
  }
}

/** The id `create` was confirmed with, or 'still waiting' once `snapshots` more snapshots came without it. */
export function confirmedWithin(create: { confirmed: Promise<WorkstreamEvent> }, corrupt: ReturnType<typeof corruptingFetch>, snapshots: number): Promise<string> {
  return Promise.race([create.confirmed.then((e) => e.id), corrupt.snapshotsReach(corrupt.snapshots() + snapshots).then(() => 'still waiting')])
}
