import { Configuration, WorkstreamEventsApi } from '@pieces.app/pieces-os-client'
import { QueryClient } from '@tanstack/query-core'
import { BehaviorSubject } from 'rxjs'
import type { WorkstreamEvents } from '../src/index'
import type { SnapshotFixture } from './fixture'
import { NOT_EMITTED, startStopwatch, type Checks, type Row, type RowSet, type Sample, type Stopwatch } from './harness'
import { BENCH_BASE_URL, SNAPSHOT_URL, type InjectedFetch } from './injectedFetch'

export interface PeerContext {
  readonly fixture: SnapshotFixture
  readonly injected: InjectedFetch
  readonly checks: Checks
  /** False: only the baseline, the reader floor and `JSON.parse`, which the other rows are compared with. */
  readonly allPeers: boolean
}

/** The rows every table has; the other peers can be left out of the largest tables to save minutes. */
export const REFERENCE_ROWS: readonly string[] = ['naive', 'reader', 'parse']

const QUERY_KEY = ['workstream_events']

/**
 * What the other ways of polling the snapshot cost: each reads the same injected response of
 * the first body, and none of them can skip a decode or a parse.
 */
export function peerRows({ fixture, injected, checks, allPeers }: PeerContext): RowSet {
  const { bodyA, bodyB, count, delta } = fixture
  /**
   * What a peer already holds when it polls (its last result; the data in TanStack's cache and in
   * the BehaviorSubject): one parse of the first body, made for each of its runs and let go after
   * it. A parsed copy kept alive for the whole table would double what every collection during
   * this store's rows has to mark, though the store holds its own events instead.
   */
  const parseFirstBody = (): WorkstreamEvents => JSON.parse(new TextDecoder().decode(bodyA)) as WorkstreamEvents
  const naive = async (): Promise<WorkstreamEvents> => (await (await injected.fetch(SNAPSHOT_URL)).json()) as WorkstreamEvents
  const official = new WorkstreamEventsApi(new Configuration({ basePath: BENCH_BASE_URL, fetchApi: injected.fetch }))
  const queryClient = new QueryClient({ defaultOptions: { queries: { gcTime: Infinity, retry: false } } })
  let tanstackIdentity = ''

  /**
   * TanStack fetching one body into a cache that holds the first body's data. fetchQuery resolves
   * with the query function's own result; the structurally shared data is what the cache (and so
   * every observer) holds, and it is written before fetchQuery resolves.
   */
  const tanstack = async (body: Uint8Array, settle: () => void): Promise<{ sample: Sample; existing: WorkstreamEvents; data: WorkstreamEvents | undefined }> => {
    const existing = parseFirstBody()
    queryClient.setQueryData(QUERY_KEY, existing)
    injected.prepare(body)
    settle()
    const stopwatch = startStopwatch()
    await queryClient.fetchQuery({ queryKey: QUERY_KEY, queryFn: naive, staleTime: 0 })
    const sample = stopwatch.lap()
    const data = queryClient.getQueryData<WorkstreamEvents>(QUERY_KEY)
    queryClient.removeQueries({ queryKey: QUERY_KEY })
    return { sample, existing, data }
  }

  /**
   * Times one read of the first body by a client that parses all of it, and checks the count. The
   * client's last result stays alive meanwhile, as in an app that polls (and as this store holds
   * its events): the collections during the read have it to mark too.
   */
  const timedRead = async (name: string, read: () => Promise<{ iterable: readonly unknown[] }>, settle: () => void): Promise<Sample> => {
    const last = parseFirstBody()
    injected.prepare(bodyA)
    settle()
    const stopwatch = startStopwatch()
    const data = await read()
    const sample = stopwatch.lap()
    checks.expect(data.iterable.length === count && last.iterable.length === count, `${name}: expected ${count} events, got ${data.iterable.length}`)
    return sample
  }

  const rows: Row[] = [
    {
      key: 'naive',
      label: 'naive client `await (await fetch()).json()` (baseline)',
      measure: (settle) => timedRead('naive client', naive, settle),
    },
    {
      key: 'reader',
      label: 'floor: read the body through `body.getReader()` alone',
      async measure(settle) {
        injected.prepare(bodyA)
        settle()
        const stopwatch = startStopwatch()
        const response = await injected.fetch(SNAPSHOT_URL)
        const reader = response.body!.getReader()
        let bytes = 0
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          bytes += value.byteLength
        }
        const sample = stopwatch.lap()
        checks.expect(bytes === bodyA.byteLength, `reader floor: read ${bytes} of ${bodyA.byteLength} bytes`)
        return sample
      },
    },
    {
      key: 'parse',
      label: '`JSON.parse` alone (of the decoded text)',
      async measure(settle) {
        // Decoded for each run, not kept: the text of 50k events is hundreds of megabytes of heap.
        const text = new TextDecoder().decode(bodyA)
        settle()
        const stopwatch = startStopwatch()
        const data = JSON.parse(text) as WorkstreamEvents
        const sample = stopwatch.lap()
        checks.expect(data.iterable.length === count, `JSON.parse: expected ${count} events`)
        return sample
      },
    },
    {
      key: 'official',
      label: 'official client `workstreamEventsSnapshot()`',
      measure: (settle) => timedRead('official client', () => official.workstreamEventsSnapshot({ transferables: true }), settle),
    },
    {
      key: 'tanstack',
      label: 'TanStack Query `fetchQuery`, structural sharing, unchanged',
      async measure(settle) {
        const { sample, existing, data } = await tanstack(bodyA, settle)
        checks.expect(data === existing, 'TanStack, unchanged: structural sharing did not keep the existing data')
        return sample
      },
    },
    {
      key: 'tanstack-2pct',
      label: 'TanStack Query `fetchQuery`, structural sharing, 2% changed',
      async measure(settle) {
        const { sample, existing, data } = await tanstack(bodyB, settle)
        const before = new Map(existing.iterable.map((e) => [e.id, e]))
        let kept = 0
        for (const event of data?.iterable ?? []) if (before.get(event.id) === event) kept++
        const unchanged = count - delta.updated.size - delta.removed.size
        // Structural sharing compares arrays by index, so events after an insertion are copies.
        tanstackIdentity = `TanStack, 2% changed: structural sharing kept the identity of ${kept} of ${unchanged} unchanged events (it compares arrays by position, and the new events come first)`
        return sample
      },
    },
    {
      key: 'subject',
      label: 'hand-rolled `fetch().json()` into a `BehaviorSubject`',
      async measure(settle) {
        const subject = new BehaviorSubject<WorkstreamEvents>(parseFirstBody())
        let watch: Stopwatch | undefined
        let emitted: Sample | undefined
        const subscription = subject.subscribe(() => {
          emitted = watch?.lap()
        })
        injected.prepare(bodyA)
        settle()
        watch = startStopwatch()
        subject.next(await naive())
        watch = undefined
        checks.expect(subject.value.iterable.length === count, `BehaviorSubject: expected ${count} events`)
        subscription.unsubscribe()
        subject.complete()
        return emitted ?? NOT_EMITTED
      },
    },
  ]
  return {
    rows: allPeers ? rows : rows.filter((row) => REFERENCE_ROWS.includes(row.key)),
    facts: () => (tanstackIdentity === '' ? [] : [tanstackIdentity]),
    async dispose() {
      queryClient.clear()
    },
  }
}
