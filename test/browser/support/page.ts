// The test page's script, bundled with the library by esbuild. It plays a small app: one store,
// its events rendered into a list, and a `window.harness` for the tests to drive.
import { browserTabCoordinator } from '../../../src/browserTabs'
import { createWorkstreamClient, createWorkstreamStore, type WorkstreamEvent } from '../../../src/index'
import { makeSeed } from '../../support/events'
import type { PageHarness } from './pageHarness'

const params = new URLSearchParams(location.search)
const baseUrl = params.get('server') ?? 'http://127.0.0.1:1'
const pollIntervalMs = Number(params.get('poll') ?? '0')
const heartbeatMs = Number(params.get('heartbeat') ?? '2000')
const explicitTabs = params.get('tabs') !== 'default'

const fetches = { snapshot: 0, create: 0, delete: 0, snapshotResponses: 0 }
const countingFetch: typeof fetch = async (input, init) => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
  const route = url.pathname.endsWith('/create') ? 'create' : url.pathname.endsWith('/delete') ? 'delete' : 'snapshot'
  fetches[route]++
  const response = await fetch(input, init)
  if (route === 'snapshot') fetches.snapshotResponses++
  return response
}

// Counts the reads of the whole cache: idb-keyval's entries() reads the values with getAll.
let cacheReads = 0
const getAll = IDBObjectStore.prototype.getAll
IDBObjectStore.prototype.getAll = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['getAll']>) {
  cacheReads++
  return getAll.apply(this, args)
}

const client = createWorkstreamClient({ baseUrl, fetch: countingFetch, timeoutMs: 10_000 })
const store = createWorkstreamStore({
  client,
  pollIntervalMs,
  retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 20 },
  // Longer than any latency the tests inject: "not on the server" must mean it.
  ambiguityGraceMs: 5000,
  ...(explicitTabs ? { tabs: browserTabCoordinator(`${client.baseUrl ?? baseUrl}|${client.applicationId ?? ''}`, { heartbeatMs }) } : {}),
})

const errors: Array<{ kind: string; message: string }> = []
store.errors$.subscribe((error) => errors.push({ kind: error.kind, message: error.message }))

const list = document.getElementById('events')!
const status = document.getElementById('status')!
let firstPaint: PageHarness['firstPaint']
const renders: string[][] = []
store.events$.subscribe((events: readonly WorkstreamEvent[]) => {
  renders.push(events.map((e) => e.id))
  list.replaceChildren(
    ...events.map((event) => {
      const item = document.createElement('li')
      item.dataset.id = event.id
      item.textContent = event.readable ?? event.id
      return item
    }),
  )
  if (firstPaint === undefined && events.length > 0) {
    firstPaint = { ids: events.map((e) => e.id), snapshotResponsesBefore: fetches.snapshotResponses }
  }
})
store.status$.subscribe((s) => {
  status.textContent = `${s.phase} ${s.isLeader ? 'leader' : 'follower'} pending=${s.pending}`
  status.dataset.leader = String(s.isLeader)
})

const confirmations = new Map<string, Promise<string>>()
const outcomes = new Map<string, string>()

/** Opens each of the library's IndexedDB databases in turn (a test reads them directly). */
async function eachDatabase(read: (db: IDBDatabase) => Promise<void>): Promise<void> {
  for (const { name } of await indexedDB.databases()) {
    if (!name?.startsWith('workstream-sync:')) continue
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    try {
      await read(db)
    } finally {
      db.close()
    }
  }
}

window.harness = {
  store,
  fetches,
  get firstPaint() {
    return firstPaint
  },
  errors,
  cacheReads: () => cacheReads,
  rendered: () => [...list.querySelectorAll('li')].map((item) => item.dataset.id ?? ''),
  renders,
  create(readable) {
    const { event, confirmed } = store.create(makeSeed(readable))
    const id = confirmed.then((e) => e.id)
    // Noted as it settles, so that a create no test awaits never rejects unhandled.
    outcomes.set(event.id, 'pending')
    id.then(
      () => outcomes.set(event.id, 'confirmed'),
      (error: unknown) => outcomes.set(event.id, (error as { kind?: string }).kind ?? String(error)),
    )
    confirmations.set(event.id, id)
    return event.id
  },
  outcome(id) {
    return outcomes.get(id)
  },
  confirmed(id) {
    return confirmations.get(id) ?? Promise.reject(new Error(`No create with id ${id} in this page.`))
  },
  async cachedEventIds() {
    const ids: string[] = []
    await eachDatabase(async (db) => {
      // The events are in the segments the meta record lists; each segment's ids name its events.
      const read = (key: string) =>
        new Promise<unknown>((resolve, reject) => {
          const request = db.transaction('entries', 'readonly').objectStore('entries').get(key)
          request.onsuccess = () => resolve(request.result)
          request.onerror = () => reject(request.error)
        })
      const meta = (await read('meta')) as { segments?: number[] } | undefined
      const live = new Set<string>()
      const removed = new Set<string>()
      for (const seq of [...(meta?.segments ?? [])].reverse()) {
        const segment = (await read(`s:${seq}`)) as { ids: string[]; removed: string[] }
        for (const id of segment.removed) if (!live.has(id)) removed.add(id)
        for (const id of segment.ids) if (!removed.has(id)) live.add(id)
      }
      ids.push(...live)
    })
    return ids.sort()
  },
  async storedEntries() {
    const entries: Array<[string, string]> = []
    await eachDatabase(async (db) => {
      const all = (request: IDBRequest) =>
        new Promise<unknown[]>((resolve, reject) => {
          request.onsuccess = () => resolve(request.result as unknown[])
          request.onerror = () => reject(request.error)
        })
      const store = db.transaction('entries', 'readonly').objectStore('entries')
      const [keys, values] = await Promise.all([all(store.getAllKeys()), all(getAll.call(store))])
      keys.forEach((key, i) => entries.push([`${db.name} ${String(key)}`, JSON.stringify(values[i])]))
    })
    return entries
  },
  async waitForCachedEvents(count, timeoutMs = 10_000) {
    const deadline = performance.now() + timeoutMs
    while ((await window.harness.cachedEventIds()).length < count) {
      if (performance.now() > deadline) throw new Error(`The cache did not reach ${count} events within ${timeoutMs} ms.`)
      await new Promise((resolve) => requestAnimationFrame(resolve))
    }
  },
}
