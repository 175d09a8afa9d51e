import { describe, expect, it } from 'vitest'
import type { MutationRecord } from '../../src/mutation'
import { initialState, reduce, type SyncAction } from '../../src/state'
import { rebase, snapshotOf } from '../../src/view'
import { freshIndexedDb, makeStore, startServer, switchableOnline, until } from '../support/harness'
import { makeEvent, makeSeed } from '../support/events'

/*
 * Deterministic replays of what the model-based tests found (test/model/convergence.test.ts),
 * each named after the bug it pins down.
 */

describe('regressions found by the model', () => {
  it('keeps a create ahead of the delete of its event across a reload when both were queued in the same millisecond (bug: the delete went first, then the create landed)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const storage = freshIndexedDb()
    // One instant for the first store, and mutation ids that sort in reverse order of creation, as random ids may.
    const frozen = Date.now()
    let next = 1000
    const options = { storage, generateId: () => `id-${next--}` }
    const first = makeStore(server, { ...options, now: () => frozen })
    await first.refresh()
    server.faults.add('create', { type: 'drop-before-commit' })
    const { event } = first.create({ ...makeSeed('created then deleted'), internal_identifier: 'doomed' })
    await until(first.outbox$, (o) => o[0]?.ambiguous === true)
    first.delete(event.id).catch(() => {})
    await first.dispose()

    const second = makeStore(server, { ...options, pollIntervalMs: 20, now: () => Date.now() })
    await second.ready
    expect(second.outbox.map((m) => m.kind)).toEqual(['create', 'delete'])
    second.start()
    await until(second.outbox$, (o) => o.length === 0)
    await second.refresh()
    expect(server.events().map((e) => e.id)).toEqual(['a'])
    expect(server.requests.count('create')).toBe(1)
  })

  it('hides a deleted create that a server without client ids shows under its own id before the create is resolved (bug: it reappeared for a poll)', () => {
    const queuedAt = Date.UTC(2026, 10, 28, 12)
    const seed = { ...makeSeed('mine'), internal_identifier: 'client-id' }
    const create: MutationRecord = { id: 'm1', kind: 'create', eventId: 'client-id', seed, optimistic: makeEvent('client-id', 0, { readable: 'mine' }), state: 'queued', attempts: 0, queuedAt, queuedSeq: 1 }
    const remove: MutationRecord = { id: 'm2', kind: 'delete', eventId: 'client-id', state: 'queued', attempts: 0, queuedAt, queuedSeq: 2 }
    const onServer = makeEvent('server-id', 0, { readable: 'mine', trigger: seed.trigger })
    const actions: SyncAction[] = [
      { type: 'snapshotRequested', seq: 1 },
      { type: 'mutationQueued', record: create },
      { type: 'mutationSent', id: 'm1' },
      // This snapshot is requested after the create committed, but before its answer was lost.
      { type: 'snapshotRequested', seq: 2 },
      { type: 'mutationFailed', id: 'm1', error: { kind: 'network', message: 'reset' }, outcome: 'retry', nextAttemptAt: queuedAt + 10, ambiguousUntil: queuedAt + 1000 },
      { type: 'mutationQueued', record: remove },
      { type: 'snapshotReceived', seq: 2, requestedAt: queuedAt + 1, receivedAt: queuedAt + 2, snapshot: snapshotOf([onServer, makeEvent('a', 1)]) },
    ]
    const state = actions.reduce(reduce, initialState)
    expect(rebase(state.server, state.records).events.map((e) => e.id)).toEqual(['a'])
    expect(state.settled).toEqual([{ mutationId: 'm1', outcome: 'resolved', event: onServer }])
    expect(state.records.map((r) => [r.kind, r.eventId])).toEqual([['delete', 'server-id']])
  })

  it('finishes sending on a server that ignores client ids after an offline spell, a lost answer and a reload', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)], honourInternalIdentifier: false })
    const storage = freshIndexedDb()
    const online = switchableOnline(true)
    const first = makeStore(server, { storage, online })
    await first.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    first.create(makeSeed('lost answer'))
    await until(first.outbox$, (o) => o[0]?.ambiguous === true)
    online.set(false)
    const offlineCreate = first.create(makeSeed('made offline')).event
    await first.dispose()
    const second = makeStore(server, { storage, online })
    online.set(true)
    await second.ready
    await second.flush()
    await second.refresh()
    expect(server.events().map((e) => e.readable).sort()).toEqual(['event a', 'lost answer', 'made offline'])
    expect(second.get(offlineCreate.id)).toBeUndefined()
    expect(second.events.map((e) => e.id).sort()).toEqual(server.events().map((e) => e.id).sort())
    expect(second.outbox).toEqual([])
  })
})
