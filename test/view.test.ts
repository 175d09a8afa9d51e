import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { WorkstreamEvent } from '../src/models'
import { newCreateRecord, newDeleteRecord, type MutationRecord } from '../src/mutation'
import { diffViews, rebase, snapshotOf, snapshotOrder, sortNewestFirst, type EventChanges, type ServerSnapshot } from '../src/view'
import { makeEvent, makeSeed } from './support/events'

describe('view', () => {
  it('orders events newest created first, whatever the server order', () => {
    const events = [makeEvent('old', 10), makeEvent('new', 0), makeEvent('mid', 5)]
    expect(sortNewestFirst(events).map((e) => e.id)).toEqual(['new', 'mid', 'old'])
  })

  it('compares instants, not strings, across time zone offsets', () => {
    const utc = makeEvent('utc', 0, { created: { value: '2026-11-28T12:00:00.000Z' } })
    const offset = makeEvent('offset', 0, { created: { value: '2026-11-28T13:30:00+02:00' } })
    expect(sortNewestFirst([offset, utc]).map((e) => e.id)).toEqual(['utc', 'offset'])
  })

  it("gives a snapshot's newest-first positions, the ones its view shows, once per snapshot", () => {
    const server = snapshotOf([makeEvent('old', 10), makeEvent('new', 0), makeEvent('mid', 5)])
    const order = snapshotOrder(server)
    expect(order?.map((i) => server.events[i]!.id)).toEqual(rebase(server, []).events.map((e) => e.id))
    expect(snapshotOrder(server)).toBe(order)
    expect(snapshotOrder(snapshotOf([makeEvent('new', 0), makeEvent('old', 10)]))).toBeUndefined()
  })

  it('returns the same array and map when there is nothing pending', () => {
    const server = snapshotOf([makeEvent('a', 0), makeEvent('b', 1)])
    const view = rebase(server, [])
    expect(view.events).toBe(server.events)
    expect(view.byId).toBe(server.byId)
  })

  it('keeps the last occurrence of a duplicate id', () => {
    const first = makeEvent('a', 0, { readable: 'first' })
    const last = makeEvent('a', 0, { readable: 'last' })
    const server = snapshotOf([first, makeEvent('b', 1), last])
    expect(server.byId.get('a')).toBe(last)
    expect(server.events.map((e) => e.readable)).toEqual(['last', 'event b'])
  })

  it('reports added, updated and removed events by identity', () => {
    const a = makeEvent('a')
    const b = makeEvent('b')
    const b2 = makeEvent('b', 0, { readable: 'changed' })
    const c = makeEvent('c')
    const changes = diffViews(rebase(snapshotOf([a, b]), []), rebase(snapshotOf([b2, c]), []))
    expect(changes).toEqual({ added: [c], updated: [b2], removed: [a] })
    expect(diffViews(rebase(snapshotOf([a]), []), rebase(snapshotOf([a]), []))).toEqual({ added: [], updated: [], removed: [] })
  })
})

describe('view: the layered fast paths agree with copying and sorting everything', () => {
  /** What rebase did before it layered: copy the map, apply the records, sort it all. */
  function copiedView(server: ServerSnapshot, records: readonly MutationRecord[]): { events: string[]; byId: Map<string, WorkstreamEvent> } {
    const byId = new Map(server.byId)
    for (const record of records) {
      if (record.kind === 'delete') byId.delete(record.eventId)
      else if (record.state === 'confirmed') {
        if (!server.byId.has(record.eventId) && record.confirmed) byId.set(record.eventId, record.confirmed)
      } else if (record.optimistic) byId.set(record.eventId, record.optimistic)
    }
    return { events: sortNewestFirst([...byId.values()]).map((e) => e.id), byId }
  }

  const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
  const eventArb = fc.record({ id: fc.constantFrom(...ids), minutesAgo: fc.integer({ min: 0, max: 5 }), version: fc.nat(3) })
    .map(({ id, minutesAgo, version }) => makeEvent(id, minutesAgo, { readable: `v${version}` }))
  const recordArb = fc.record({ kind: fc.constantFrom('create', 'delete', 'confirmed'), event: eventArb, n: fc.nat() }).map(({ kind, event, n }): MutationRecord =>
    kind === 'delete'
      ? newDeleteRecord({ id: `m${n}`, eventId: event.id, now: 0, seq: 0, origin: 't' })
      : { ...newCreateRecord({ id: `m${n}`, eventId: event.id, seed: makeSeed(), optimistic: event, now: 0, seq: 0, origin: 't' }), ...(kind === 'confirmed' ? { state: 'confirmed' as const, confirmed: event } : {}) })
  /** A later snapshot that reuses most objects of `server`, as a decoder does, with its delta. */
  function changed(server: ServerSnapshot, edits: readonly WorkstreamEvent[], drop: readonly string[]): ServerSnapshot {
    const byId = new Map(server.byId)
    for (const id of drop) byId.delete(id)
    for (const event of edits) byId.set(event.id, event)
    const differing = [...new Set([...server.byId.keys(), ...byId.keys()])].filter((id) => server.byId.get(id) !== byId.get(id))
    return { events: [...byId.values()], byId, stamp: {}, changedFrom: { from: server.stamp!, ids: differing } }
  }
  const sortedChanges = (changes: EventChanges): Record<string, WorkstreamEvent[]> =>
    Object.fromEntries(Object.entries(changes).map(([key, list]: [string, WorkstreamEvent[]]) => [key, [...list].sort((x, y) => (x.id < y.id ? -1 : 1))]))

  it('gives the same events, map and changes for any snapshots and records', () => {
    fc.assert(
      fc.property(fc.array(eventArb), fc.array(recordArb, { maxLength: 6 }), fc.array(eventArb, { maxLength: 3 }), fc.subarray(ids), fc.array(recordArb, { maxLength: 6 }), (events, records, edits, drop, laterRecords) => {
        const server = snapshotOf(events)
        const later = changed(server, edits, drop)
        const before = rebase(server, records)
        const after = rebase(later, laterRecords)
        for (const [view, snapshot, recs] of [[before, server, records], [after, later, laterRecords]] as const) {
          const copy = copiedView(snapshot, recs)
          expect(view.events.map((e) => e.id)).toEqual(copy.events)
          expect(view.byId.size).toBe(copy.byId.size)
          expect([...view.byId.entries()].sort()).toEqual([...copy.byId.entries()].sort())
          for (const id of ids) {
            expect(view.byId.get(id)).toBe(copy.byId.get(id))
            expect(view.byId.has(id)).toBe(copy.byId.has(id))
          }
        }
        // Without its delta the later snapshot takes the full diff: both must report the same.
        const full = diffViews(before, rebase({ events: later.events, byId: later.byId }, laterRecords))
        expect(sortedChanges(diffViews(before, after))).toEqual(sortedChanges(full))
        expect(sortedChanges(diffViews(before, rebase(server, laterRecords)))).toEqual(sortedChanges(diffViews(before, rebase(snapshotOf(server.events), laterRecords))))
      }),
      { numRuns: 500 },
    )
  })

  it('ignores a delta from a snapshot it does not stand on', () => {
    const a = makeEvent('a')
    const server = snapshotOf([a])
    const other = snapshotOf([makeEvent('z')])
    const later: ServerSnapshot = { events: [a, makeEvent('b')], byId: new Map([['a', a], ['b', makeEvent('b')]]), changedFrom: { from: other.stamp!, ids: [] } }
    expect(diffViews(rebase(server, []), rebase(later, [])).added.map((e) => e.id)).toEqual(['b'])
  })
})

describe('view: a large outbox', () => {
  it('lays 70k pending creates between 70k server events without overflowing the call stack', () => {
    const at = (i: number): WorkstreamEvent => ({ id: `e${i}`, created: { value: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() } }) as WorkstreamEvent
    const server = snapshotOf(Array.from({ length: 70_000 }, (_, i) => at(2 * i)))
    const records = Array.from({ length: 70_000 }, (_, i): MutationRecord => ({ id: `m${i}`, kind: 'create', eventId: `e${2 * i + 1}`, state: 'queued', attempts: 0, queuedAt: 0, queuedSeq: 0, origin: 't', optimistic: at(2 * i + 1) }))
    const view = rebase(server, records)
    expect(view.events).toHaveLength(140_000)
    expect(view.events[0]!.id).toBe('e139999')
    expect(view.events[139_999]!.id).toBe('e0')
  })
})
