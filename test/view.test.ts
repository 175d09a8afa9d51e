import { describe, expect, it } from 'vitest'
import { diffViews, rebase, snapshotOf, sortNewestFirst } from '../src/view'
import { makeEvent } from './support/events'

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
    const changes = diffViews(new Map([['a', a], ['b', b]]), new Map([['b', b2], ['c', c]]))
    expect(changes).toEqual({ added: [c], updated: [b2], removed: [a] })
    expect(diffViews(new Map([['a', a]]), new Map([['a', a]]))).toEqual({ added: [], updated: [], removed: [] })
  })
})
