import { IDBFactory } from 'fake-indexeddb'
import { createWorkstreamStore, indexedDbStorage, manualSource, type EventChanges, type WorkstreamEvent, type WorkstreamStore } from '../src/index'
import { generateSampleSeed, seededRandom } from '../src/server/index'
import { MAX_DELTA_SEGMENTS, type Segment } from '../src/eventSegments'
import { countingStorage, discardingStorage, type CountingStorage } from './countingStorage'
import type { SnapshotFixture } from './fixture'
import { NOT_EMITTED, startStopwatch, type Checks, type Row, type RowSet, type Sample, type Stopwatch } from './harness'
import { BENCH_BASE_URL, createHeldFetch, type InjectedFetch } from './injectedFetch'

/** create() is timed this many times per run; the row reports the median of them. */
const CREATES_PER_RUN = 5

export interface StoreContext {
  readonly fixture: SnapshotFixture
  readonly injected: InjectedFetch
  readonly checks: Checks
}

/** What a subscriber of one store saw. */
interface Observed {
  emissions: number
  /** Laps the running stopwatch at each emission. */
  watch: Stopwatch | undefined
  emitted: Sample | undefined
  last: readonly WorkstreamEvent[]
  changes: EventChanges[]
}

/**
 * This store's scenarios. One store, synced to the first body, serves the unchanged poll, the 2%
 * change (and its way back, not timed) and create(); the cold start reads a fake IndexedDB that a
 * store filled with the first body and disposed.
 */
export async function storeRows({ fixture, injected, checks }: StoreContext): Promise<RowSet> {
  const { bodyA, bodyB, count, delta, idsA } = fixture
  const online = manualSource(true)
  // The writes are counted, not kept: a copy of the cache in the heap would only slow every GC down.
  const storage = countingStorage(discardingStorage())
  const store = createWorkstreamStore({ baseUrl: BENCH_BASE_URL, fetch: injected.fetch, storage, pollIntervalMs: 0, tabs: false, online })
  const seen: Observed = { emissions: 0, watch: undefined, emitted: undefined, last: [], changes: [] }
  const subscriptions = [
    store.events$.subscribe((events) => {
      seen.emissions++
      seen.emitted = seen.watch?.lap()
      seen.last = events
    }),
    store.changes$.subscribe((changes) => seen.changes.push(changes)),
  ]
  // Subscribing started the first poll, which reads the fallback body (the first one): join it.
  await store.refresh()
  await storage.settled()
  checks.expect(sameIds(store.events, idsA), `store: the first sync did not give the ${count} events of the first body`)

  const idb = new IDBFactory()
  const idbName = `bench-${count}`
  await fillCache(injected, bodyA, idb, idbName)
  const random = seededRandom(count)
  let creates = 0
  /** What the runs showed, printed under the table. */
  const seenInRuns = { unchanged: 0, unchangedEmissions: 0, unchangedWrites: 0, change: '', changes: 0, merges: 0, cold: '', reload: '', create: '' }

  const reset = (): void => {
    seen.emissions = 0
    seen.watch = undefined
    seen.emitted = undefined
    seen.changes = []
    storage.reset()
  }

  const rows: Row[] = [
    {
      key: 'store-unchanged',
      label: 'this store `refresh()`, unchanged poll',
      async measure(settle) {
        reset()
        injected.prepare(bodyA)
        settle()
        const stopwatch = startStopwatch()
        await store.refresh()
        const sample = stopwatch.lap()
        await storage.settled()
        checks.expect(seen.emissions === 0, `unchanged poll (${count}): events$ emitted ${seen.emissions} times, expected 0`)
        checks.expect(seen.changes.length === 0, `unchanged poll (${count}): changes$ emitted ${seen.changes.length} times, expected 0`)
        checks.expect(storage.writes === 0, `unchanged poll (${count}): ${storage.writes} storage writes (${storage.keysWritten.length} keys), expected 0`)
        seenInRuns.unchanged++
        seenInRuns.unchangedEmissions += seen.emissions + seen.changes.length
        seenInRuns.unchangedWrites += storage.writes
        return sample
      },
    },
    {
      key: 'store-2pct',
      label: 'this store `refresh()`, 2% changed, to the `events$` emission',
      async measure(settle) {
        reset()
        const before = new Map(store.events.map((e) => [e.id, e]))
        injected.prepare(bodyB)
        settle()
        seen.watch = startStopwatch()
        await store.refresh()
        const sample = seen.emitted ?? NOT_EMITTED
        await storage.settled()
        const change = checkChange(`2% changed (${count})`, seen, storage, delta, checks)
        seenInRuns.changes++
        if (change.merged > 0) seenInRuns.merges++
        const identity = checkIdentity(`2% changed (${count})`, store, before, fixture.idsB, delta, checks)
        seenInRuns.change =
          `2% changed: \`changes$\` reported +${change.added} ~${change.updated} −${change.removed} (the delta: +${delta.added.size} ~${delta.updated.size} −${delta.removed.size}); ` +
          `${identity.kept} of ${identity.expected} unchanged events kept their identity; ${change.keys} storage keys written (${change.segments} segment${change.segments === 1 ? '' : 's'} with the texts of the ${change.texts} added and updated events, ${(change.chars / 1024).toFixed(0)} kB, and ${change.removals} removal${change.removals === 1 ? '' : 's'}${change.merged > 0 ? `, merging and deleting the ${change.merged} segments written since the last rewrite` : ''}; and the meta record); ${seen.emissions} \`events$\` emission`
        // Back to the first body, untimed: the reverse change, so the next run starts from the same state.
        reset()
        injected.prepare(bodyA)
        await store.refresh()
        await storage.settled()
        const back = checkChange(`2% changed, way back (${count})`, seen, storage, { added: delta.removed, updated: delta.updated, removed: delta.added }, checks)
        seenInRuns.changes++
        if (back.merged > 0) seenInRuns.merges++
        checks.expect(sameIds(store.events, idsA), `2% changed, way back (${count}): the store does not hold the first body's events`)
        return sample
      },
    },
    {
      key: 'store-cold',
      label: 'this store, cold start from IndexedDB to the first `events$` emission',
      async measure(settle) {
        const held = createHeldFetch()
        let sample: Sample | undefined
        let hydrated: readonly WorkstreamEvent[] = []
        let done!: () => void
        const emitted = new Promise<void>((resolve) => (done = resolve))
        settle()
        const stopwatch = startStopwatch()
        const cold = createWorkstreamStore({ baseUrl: BENCH_BASE_URL, fetch: held.fetch, storage: indexedDbStorage({ name: idbName, indexedDB: idb }), pollIntervalMs: 0, tabs: false })
        const subscription = cold.events$.subscribe((events) => {
          if (events.length === 0 || sample !== undefined) return
          sample = stopwatch.lap()
          hydrated = events
          done()
        })
        await emitted
        subscription.unsubscribe()
        checks.expect(sameIds(hydrated, idsA), `cold start (${count}): the first emission did not hold the ${count} cached events`)
        seenInRuns.cold = `cold start: the first \`events$\` emission held ${hydrated.length} of the ${count} cached events, in order`
        await cold.dispose()
        held.release()
        return sample ?? NOT_EMITTED
      },
    },
    {
      key: 'store-reload-poll',
      label: 'this store, first poll after a reload (unchanged since the cache), to `refresh()` resolving',
      async measure(settle) {
        const reloaded = createWorkstreamStore({ baseUrl: BENCH_BASE_URL, fetch: injected.fetch, storage: indexedDbStorage({ name: idbName, indexedDB: idb }), pollIntervalMs: 0, tabs: false })
        await reloaded.ready
        const cached = reloaded.events
        injected.prepare(bodyA)
        settle()
        const stopwatch = startStopwatch()
        await reloaded.refresh()
        const sample = stopwatch.lap()
        checks.expect(reloaded.events === cached, `first poll after a reload (${count}): the unchanged snapshot replaced the cached list`)
        seenInRuns.reload = `first poll after a reload: the cached list ${reloaded.events === cached ? 'stayed the same object' : 'was REPLACED'} (${cached.length} events)`
        await reloaded.dispose()
        return sample
      },
    },
    {
      key: 'store-create',
      label: `this store \`create()\` to the \`events$\` emission (synchronous; median of ${CREATES_PER_RUN} per run)`,
      async measure(settle) {
        // Offline, so that each create stays queued and its delete cancels it without a request.
        online.set(false)
        settle()
        // Several creates per run: a single one can land on a slice of V8's marking of the whole
        // benchmark heap (what earlier rows left), which says nothing about create() itself.
        const laps: Sample[] = []
        for (let i = 0; i < CREATES_PER_RUN; i++) {
          reset()
          const seed = generateSampleSeed(random, creates++)
          seen.watch = startStopwatch()
          const { event, confirmed } = store.create(seed)
          // Read before anything asynchronous can run: the emission must already have happened.
          const sample = seen.emitted
          seen.watch = undefined
          confirmed.catch(() => {})
          checks.expect(seen.emissions === 1 && sample !== undefined, `create() (${count}): events$ did not emit before create() returned`)
          checks.expect(seen.last[0] === event && seen.last.length === count + 1, `create() (${count}): the emission does not show the new event first`)
          seenInRuns.create = `create(): \`events$\` emitted ${seen.emissions === 1 && sample !== undefined ? 'before create() returned' : 'LATE'}, with the new event first (${seen.last.length} events)`
          laps.push(sample ?? NOT_EMITTED)
          await store.delete(event.id)
        }
        const sample = [...laps].sort((a, b) => a.wall - b.wall)[laps.length >> 1]
        // Back online, the poller polls at once: the first body again, so nothing changes.
        injected.prepare(bodyA)
        online.set(true)
        await store.refresh()
        await storage.settled()
        checks.expect(sameIds(store.events, idsA), `create() (${count}): the store did not return to the first body's events after the delete`)
        return sample ?? NOT_EMITTED
      },
    },
  ]
  return {
    rows,
    facts: () => [
      `unchanged poll: ${seenInRuns.unchangedEmissions} \`events$\`/\`changes$\` emissions and ${seenInRuns.unchangedWrites} storage writes in ${seenInRuns.unchanged} runs`,
      seenInRuns.change,
      seenInRuns.merges > 0
        ? `the cache's segments: ${seenInRuns.merges} of the ${seenInRuns.changes} changed polls (timed and way back) merged the segments written since the last rewrite, once more than ${MAX_DELTA_SEGMENTS}, into new ones; the others wrote the delta alone`
        : '',
      seenInRuns.cold,
      seenInRuns.reload,
      seenInRuns.create,
    ].filter((fact) => fact !== ''),
    async dispose() {
      for (const subscription of subscriptions) subscription.unsubscribe()
      await store.dispose()
    },
  }
}

/** A store syncs the body into a fake IndexedDB and is disposed, which waits for its writes. */
async function fillCache(injected: InjectedFetch, body: Uint8Array, idb: IDBFactory, name: string): Promise<void> {
  const filler = createWorkstreamStore({ baseUrl: BENCH_BASE_URL, fetch: injected.fetch, storage: indexedDbStorage({ name, indexedDB: idb }), pollIntervalMs: 0, tabs: false })
  injected.prepare(body)
  await filler.refresh()
  await filler.dispose()
}

interface ChangeSeen {
  readonly added: number
  readonly updated: number
  readonly removed: number
  readonly keys: number
  readonly segments: number
  readonly texts: number
  readonly removals: number
  readonly chars: number
  /** Segments deleted because this change merged them (0 for a delta written as it is). */
  readonly merged: number
}

function checkChange(what: string, seen: Observed, storage: CountingStorage, expected: { added: ReadonlySet<string>; updated: ReadonlySet<string>; removed: ReadonlySet<string> }, checks: Checks): ChangeSeen {
  checks.expect(seen.emissions === 1, `${what}: events$ emitted ${seen.emissions} times, expected 1`)
  const changes = seen.changes[0]
  checks.expect(seen.changes.length === 1, `${what}: changes$ emitted ${seen.changes.length} times, expected 1`)
  // The events go to storage in segments: what this change set must hold the delta's texts and removals, and nothing else.
  const segments = storage.entriesSet.filter(([key]) => key.startsWith('s:')).map(([, value]) => value as Segment)
  const texts = segments.flatMap((segment) => segment.ids)
  const removals = segments.flatMap((segment) => segment.removed)
  const chars = segments.reduce((sum, segment) => sum + segment.text.length, 0)
  const keys = storage.keysWritten.length
  // Segment keys deleted: the segments written since the last rewrite, merged (see eventSegments).
  const setKeys = new Set(storage.entriesSet.map(([key]) => key))
  const merged = storage.keysWritten.filter((key) => key.startsWith('s:') && !setKeys.has(key)).length
  const seenWrites = { keys, segments: segments.length, texts: texts.length, removals: removals.length, chars, merged }
  if (changes === undefined) return { added: 0, updated: 0, removed: 0, ...seenWrites }
  for (const kind of ['added', 'updated', 'removed'] as const) {
    const ids = changes[kind].map((e) => e.id)
    checks.expect(sameSet(ids, expected[kind]), `${what}: changes$ reported ${ids.length} ${kind}, expected exactly the ${expected[kind].size} of the delta`)
  }
  const written = new Set(texts)
  const deltaTexts = [...expected.added, ...expected.updated]
  // Exactly the delta; or, when the segments since the last rewrite outgrew their allowance, the
  // delta merged with them: their current texts (the delta's among them) in new segments, and the
  // removals those segments no longer answer for (an event only they held needs none).
  const exact = sameSet(texts, new Set(deltaTexts)) && texts.length === deltaTexts.length && sameSet(removals, expected.removed)
  const merge = merged > 0 && deltaTexts.every((id) => written.has(id)) && written.size === texts.length && removals.every((id) => expected.removed.has(id))
  checks.expect(
    (exact || merge) && keys === segments.length + merged + 1,
    `${what}: wrote ${keys} storage keys holding ${texts.length} texts and ${removals.length} removals${merged > 0 ? ` and deleting ${merged} segments` : ''}, expected the ${deltaTexts.length} texts and ${expected.removed.size} removals of the delta (and the meta record), or the delta merged with the segments since the last rewrite`,
  )
  return { added: changes.added.length, updated: changes.updated.length, removed: changes.removed.length, ...seenWrites }
}

function checkIdentity(what: string, store: WorkstreamStore, before: ReadonlyMap<string, WorkstreamEvent>, ids: readonly string[], delta: { added: ReadonlySet<string>; updated: ReadonlySet<string> }, checks: Checks): { kept: number; expected: number } {
  let kept = 0
  let expected = 0
  for (const id of ids) {
    if (delta.added.has(id) || delta.updated.has(id)) continue
    expected++
    if (store.get(id) === before.get(id)) kept++
  }
  checks.expect(kept === expected, `${what}: ${expected - kept} of ${expected} unchanged events lost their identity`)
  checks.expect(sameIds(store.events, ids), `${what}: the store does not hold the changed body's events in order`)
  return { kept, expected }
}

function sameIds(events: readonly WorkstreamEvent[], ids: readonly string[]): boolean {
  return events.length === ids.length && events.every((e, i) => e.id === ids[i])
}

function sameSet(values: readonly string[], expected: ReadonlySet<string>): boolean {
  return values.length === expected.size && values.every((v) => expected.has(v))
}
