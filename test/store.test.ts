import { describe, expect, it } from 'vitest'
import { WorkstreamSyncError } from '../src/errors'
import type { WorkstreamEvent } from '../src/models'
import { countingStorage, gatedFetch, makeStore, startServer, switchableOnline, until } from './support/harness'
import { makeEvent, makeSeed } from './support/events'

const initial = [makeEvent('a', 1), makeEvent('b', 2)]

describe('store: observables', () => {
  it('gives new subscribers the current view at once, newest first', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const seen: string[][] = []
    const subscription = store.events$.subscribe((events) => seen.push(events.map((e) => e.id)))
    expect(seen).toEqual([['a', 'b']])
    subscription.unsubscribe()
  })

  it('shows a create in events before create() returns, and confirms it with the server event', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const { event, confirmed } = store.create(makeSeed('hello'))
    expect(store.events[0]).toBe(event)
    expect(store.get(event.id)?.readable).toBe('hello')
    const real = await confirmed
    expect(real.id).toBe(event.id)
    expect(server.events().filter((e) => e.id === event.id)).toHaveLength(1)
  })

  it('hides a deleted event before delete() returns and resolves once the server confirmed', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const done = store.delete('a')
    expect(store.events.map((e) => e.id)).toEqual(['b'])
    await done
    expect(server.events().map((e) => e.id)).toEqual(['b'])
  })

  it('emits event$(id) only when that event changes', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const seen: Array<WorkstreamEvent | undefined> = []
    store.event$('a').subscribe((event) => seen.push(event))
    server.update('b', { readable: 'b changed' })
    await store.refresh()
    server.update('a', { readable: 'a changed' })
    await store.refresh()
    expect(seen.map((e) => e?.readable)).toEqual(['event a', 'a changed'])
  })

  it('reports exactly the delta of a poll on changes$ and keeps unchanged events identical', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const before = store.get('b')
    const changes: unknown[] = []
    store.changes$.subscribe((c) => changes.push({ added: c.added.map((e) => e.id), updated: c.updated.map((e) => e.id), removed: c.removed.map((e) => e.id) }))
    server.update('a', { readable: 'new a' })
    server.create({ ...makeSeed('remote'), internal_identifier: 'r1' })
    await store.refresh()
    expect(changes).toEqual([{ added: ['r1'], updated: ['a'], removed: [] }])
    expect(store.get('b')).toBe(before)
  })

  it('neither emits nor writes to storage on a poll that changed nothing', async () => {
    const server = await startServer({ events: initial })
    const storage = countingStorage()
    const store = makeStore(server, { storage })
    await store.refresh()
    await store.flush()
    let emissions = 0
    store.events$.subscribe(() => emissions++)
    await new Promise((resolve) => setTimeout(resolve, 0))
    const writes = storage.writes
    await store.refresh()
    await store.refresh()
    expect(emissions).toBe(1)
    expect(storage.writes).toBe(writes)
  })
})

describe('store: outbox$ and status$', () => {
  it('emits outbox$ only when an entry changed, not when a confirmed mutation leaves the overlay', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const { confirmed } = store.create(makeSeed('counted'))
    await confirmed
    const emissions: unknown[] = []
    store.outbox$.subscribe((outbox) => emissions.push(outbox))
    await store.refresh()
    await store.refresh()
    expect(emissions).toEqual([[]])
  })

  it('counts pending and dead mutations in status and says when it is offline', async () => {
    const server = await startServer({ events: initial })
    const online = switchableOnline(false)
    const store = makeStore(server, { online })
    await store.ready
    store.delete('a')
    store.delete('b')
    expect(store.status).toMatchObject({ phase: 'offline', pending: 2, dead: 0, online: false, isLeader: true })
    online.set(true)
    await store.flush()
    expect(store.status).toMatchObject({ pending: 0, online: true })
  })
})

describe('store: stale snapshots over the wire', () => {
  /** A synced store whose next snapshot the server has answered, held back on the wire. */
  async function withStaleSnapshotInFlight() {
    const server = await startServer({ events: initial })
    const gate = gatedFetch()
    const store = makeStore(server, { fetch: gate.fetch })
    await store.refresh()
    gate.hold()
    const stale = store.refresh()
    await gate.arrived
    return { gate, store, stale }
  }

  it('keeps an optimistic create when a snapshot requested before its confirmation lands', async () => {
    const { gate, store, stale } = await withStaleSnapshotInFlight()
    const { event, confirmed } = store.create(makeSeed('racing'))
    await confirmed
    await gate.release()
    await stale
    expect(store.get(event.id)).toBeDefined()
    await store.refresh()
    expect(store.get(event.id)).toBeDefined()
  })

  it('fetches again for a refresh() that a clear() came during, and for one that would join that fetch', async () => {
    const { gate, store, stale } = await withStaleSnapshotInFlight()
    await store.clear()
    const after = store.refresh()
    await gate.release()
    await Promise.all([stale, after])
    expect(store.events.map((e) => e.id).sort()).toEqual(['a', 'b'])
  })

  it('makes one request for refresh() calls after a clear(), or for one a clear() follows in the same tick', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    await store.clear()
    let before = server.requests.count('snapshot')
    await Promise.all([store.refresh(), store.refresh()])
    expect(server.requests.count('snapshot') - before).toBe(1)
    before = server.requests.count('snapshot')
    const refreshed = store.refresh()
    await store.clear()
    await refreshed
    expect(server.requests.count('snapshot') - before).toBe(1)
    expect(store.events.map((e) => e.id).sort()).toEqual(['a', 'b'])
  })

  it('keeps a deleted event hidden when a snapshot requested before the delete was confirmed lands', async () => {
    const { gate, store, stale } = await withStaleSnapshotInFlight()
    await store.delete('a')
    await gate.release()
    await stale
    expect(store.get('a')).toBeUndefined()
    await store.refresh()
    expect(store.events.map((e) => e.id)).toEqual(['b'])
  })
})

describe('store: faults', () => {
  it('confirms a create whose response was lost after the commit, without sending it twice', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    const { event, confirmed } = store.create(makeSeed('lost response'))
    await until(store.outbox$, (o) => o[0]?.ambiguous === true)
    await store.refresh()
    expect((await confirmed).id).toBe(event.id)
    expect(server.requests.count('create')).toBe(1)
    expect(server.events().filter((e) => e.readable === 'lost response')).toHaveLength(1)
  })

  it('confirms a lost create by its fingerprint on a server that ignores internal_identifier, and deletes it by the id create() returned (bug: that delete left the event)', async () => {
    const server = await startServer({ events: initial, honourInternalIdentifier: false })
    const store = makeStore(server)
    await store.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    const { event, confirmed } = store.create(makeSeed('no client id'))
    await until(store.outbox$, (o) => o[0]?.ambiguous === true)
    await store.refresh()
    const real = await confirmed
    expect(real.id).not.toBe(event.id)
    expect(store.get(real.id)).toBeDefined()
    expect(store.get(event.id)).toBeUndefined()
    expect(server.events().filter((e) => e.readable === 'no client id')).toHaveLength(1)
    await store.delete(event.id)
    await store.refresh()
    expect(server.events().filter((e) => e.readable === 'no client id')).toEqual([])
    expect(store.get(real.id)).toBeUndefined()
  })

  it('sends again a create that was dropped before the commit once a late snapshot shows it missing', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { pollIntervalMs: 20 })
    store.start()
    server.faults.add('create', { type: 'drop-before-commit' })
    const { confirmed } = store.create(makeSeed('dropped'))
    await confirmed
    expect(server.requests.count('create')).toBe(2)
    expect(server.events().filter((e) => e.readable === 'dropped')).toHaveLength(1)
  })

  it('retries a 5xx and succeeds', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    server.faults.add('create', { type: 'status', status: 503 }, { times: 2 })
    const { confirmed } = store.create(makeSeed('retried'))
    await confirmed
    expect(server.requests.count('create')).toBe(3)
    expect(store.errors.filter((e) => e.status === 503)).toHaveLength(2)
  })

  it('rolls back a create the server refuses with a 4xx and reports it', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    server.faults.add('create', { type: 'status', status: 422 })
    const { event, confirmed } = store.create(makeSeed('refused'))
    await expect(confirmed).rejects.toMatchObject({ kind: 'http', status: 422 })
    expect(store.get(event.id)).toBeUndefined()
    expect(store.outbox).toEqual([])
    expect(store.errors.some((e) => e.status === 422 && e.eventId === event.id)).toBe(true)
  })

  it('moves a mutation that keeps failing to the dead letters without blocking other events', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 } })
    await store.refresh()
    server.faults.add('delete', { type: 'status', status: 500 }, { times: 2 })
    store.delete('a')
    const dead = await until(store.outbox$, (o) => o[0]?.state === 'dead')
    expect(store.status.dead).toBe(1)
    expect(store.status.pending).toBe(0)
    // The report says what happened and what to do, and nothing that contradicts it.
    const report = store.errors.find((e) => e.mutationId === dead[0]!.id && /dead letter/.test(e.message))
    expect(report?.message).toMatch(`is a dead letter after 2 attempts: nothing sends it again until retryMutation("${dead[0]!.id}")`)
    expect(report?.message).not.toMatch(/retries|will be retried|sent again after a backoff/)
    await store.delete('b')
    expect(server.events().map((e) => e.id)).toEqual(['a'])
    store.retryMutation(dead[0]!.id)
    await store.flush()
    expect(server.events()).toEqual([])
  })

  it('rolls back a discarded dead letter', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server, { retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 1 } })
    await store.refresh()
    server.faults.add('delete', { type: 'status', status: 500 })
    const deleted = store.delete('a')
    const dead = await until(store.outbox$, (o) => o[0]?.state === 'dead')
    expect(store.get('a')).toBeUndefined()
    store.discardMutation(dead[0]!.id)
    expect(store.get('a')).toBeDefined()
    await expect(deleted).rejects.toMatchObject({ kind: 'aborted' })
  })

  it('treats a 500 for an unknown id as done once a newer snapshot lacks the event', async () => {
    const server = await startServer({ events: initial, unknownDeleteStatus: 500 })
    const store = makeStore(server)
    await store.refresh()
    server.delete('a')
    const deleted = store.delete('a')
    await until(store.outbox$, (o) => o[0]?.state === 'waiting')
    await store.refresh()
    await deleted
    expect(store.outbox).toEqual([])
  })

  it('resolves a delete answered 500 for an unknown id from a snapshot, with polling off, instead of a dead letter', async () => {
    const server = await startServer({ events: initial, unknownDeleteStatus: 500 })
    const store = makeStore(server, { retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 } })
    await store.refresh()
    server.delete('a')
    await store.delete('a')
    expect(store.outbox).toEqual([])
    expect(store.status.dead).toBe(0)
    expect(server.requests.count('delete')).toBe(2)
  })

  it('keeps the last good state and rejects refresh() when the snapshot is malformed', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    server.faults.add('snapshot', { type: 'malformed' })
    await expect(store.refresh()).rejects.toMatchObject({ kind: 'validation' })
    expect(store.events.map((e) => e.id)).toEqual(['a', 'b'])
    expect(store.status.phase).toBe('error')
    await store.refresh()
    expect(store.status.phase).toBe('synced')
  })

  it('quarantines an invalid event and keeps its last good version', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const good = store.get('a')
    const body = JSON.stringify({ iterable: [{ ...initial[0], created: { value: 'not a date' } }, initial[1]] })
    server.faults.add('snapshot', { type: 'body', body })
    await store.refresh()
    expect(store.get('a')).toBe(good)
    expect(store.errors.some((e) => e.kind === 'validation' && e.eventId === 'a')).toBe(true)
  })

  it('reports an unreadable event once, not again on every poll that brings it unchanged (bug: errors$ emitted it at every poll)', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    const unreadable = (value: string): string => JSON.stringify({ iterable: [{ ...initial[0], created: { value } }, initial[1]] })
    server.faults.add('snapshot', { type: 'body', body: unreadable('not a date') }, { times: 3 })
    await store.refresh()
    await store.refresh()
    await store.refresh()
    expect(store.errors.filter((e) => e.eventId === 'a')).toHaveLength(1)
    // Newer events above it move it down the list: the same problem, not news.
    server.faults.add('snapshot', { type: 'body', body: JSON.stringify({ iterable: [makeEvent('newer', 3), { ...initial[0], created: { value: 'not a date' } }, initial[1]] }) })
    await store.refresh()
    expect(store.errors.filter((e) => e.eventId === 'a')).toHaveLength(1)
    // Unreadable in another way: that is news.
    server.faults.add('snapshot', { type: 'body', body: unreadable('still not a date') })
    await store.refresh()
    expect(store.errors.filter((e) => e.eventId === 'a')).toHaveLength(2)
  })
})

describe('store: caller input', () => {
  it('throws invalid-input for a seed that does not validate and queues nothing', async () => {
    const server = await startServer()
    const store = makeStore(server)
    expect(() => store.create({ trigger: {} } as never)).toThrow(WorkstreamSyncError)
    try {
      store.create({ application: { id: 1 } } as never)
    } catch (error) {
      expect(error).toMatchObject({ kind: 'invalid-input', message: expect.stringContaining('application') })
    }
    expect(store.outbox).toEqual([])
  })

  it('rejects an empty or non-string id with invalid-input', async () => {
    const server = await startServer()
    const store = makeStore(server)
    await expect(store.delete('')).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(store.delete(42 as never)).rejects.toMatchObject({ kind: 'invalid-input' })
    expect(store.outbox).toEqual([])
  })

  it('shares one delete between two calls for the same event', async () => {
    const server = await startServer({ events: initial })
    const store = makeStore(server)
    await store.refresh()
    const first = store.delete('a')
    const second = store.delete('a')
    await Promise.all([first, second])
    expect(server.requests.count('delete')).toBe(1)
  })

  it('cancels a create deleted before it was sent, with no request at all', async () => {
    const server = await startServer()
    const store = makeStore(server, { online: { get: () => false, subscribe: () => () => {} } })
    const { event, confirmed } = store.create(makeSeed('never sent'))
    await store.delete(event.id)
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    expect(server.requests.count()).toBe(0)
  })

  it('rejects pending promises with aborted on dispose', async () => {
    const server = await startServer()
    const store = makeStore(server, { online: { get: () => false, subscribe: () => () => {} } })
    const { confirmed } = store.create(makeSeed('pending'))
    await store.dispose()
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    expect(() => store.create(makeSeed('late'))).toThrow(/disposed/)
    await expect(store.refresh()).rejects.toMatchObject({ kind: 'aborted' })
  })
})

describe('store: dispose() while a snapshot is on the wire', () => {
  it('aborts the request, and its refresh() rejects with aborted (bug: the request ran until its timeout)', async () => {
    const server = await startServer({ events: initial })
    let request: AbortSignal | undefined
    let arrived!: () => void
    const onTheWire = new Promise<void>((resolve) => (arrived = resolve))
    // A server that never answers: only an abort ends the request.
    const hung: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        request = init?.signal ?? undefined
        request?.addEventListener('abort', () => reject(request!.reason))
        arrived()
      })
    const store = makeStore(server, { fetch: hung })
    await store.ready
    const refreshed = store.refresh()
    await onTheWire
    await store.dispose()
    expect(request?.aborted).toBe(true)
    await expect(refreshed).rejects.toMatchObject({ kind: 'aborted' })
  })

  it('rejects a refresh() whose answer arrives after dispose() (bug: it resolved, though nothing was applied)', async () => {
    const server = await startServer({ events: initial })
    const gate = gatedFetch()
    const store = makeStore(server, { fetch: gate.fetch })
    await store.ready
    gate.hold()
    const refreshed = store.refresh()
    await gate.arrived
    await store.dispose()
    await gate.release()
    await expect(refreshed).rejects.toMatchObject({ kind: 'aborted' })
    expect(store.events).toEqual([])
  })
})

describe('store: offline and recovery', () => {
  it('queues while offline, then sends each mutation once when back online', async () => {
    const server = await startServer({ events: initial })
    const online = switchableOnline(false)
    const store = makeStore(server, { online })
    await store.ready
    const { confirmed } = store.create(makeSeed('written offline'))
    const deleted = store.delete('b')
    expect(store.status.phase).toBe('offline')
    expect(server.requests.count()).toBe(0)
    online.set(true)
    await Promise.all([confirmed, deleted])
    expect(server.requests.count('create')).toBe(1)
    expect(server.requests.count('delete')).toBe(1)
  })

  it('recovers after connection refused: resolves the ambiguous create and sends it once the server is back', async () => {
    const first = await startServer({ events: initial })
    const port = first.port
    await first.close()
    const store = makeStore({ url: `http://127.0.0.1:${port}` })
    const { event, confirmed } = store.create(makeSeed('while the server was down'))
    await until(store.outbox$, (o) => o[0]?.lastError?.kind === 'network')
    expect(store.get(event.id)).toBeDefined()
    const server = await startServer({ port, events: initial })
    const real = await confirmed
    expect(real.id).toBe(event.id)
    expect(server.events().filter((e) => e.readable === 'while the server was down')).toHaveLength(1)
  })
})
