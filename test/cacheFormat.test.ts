import { describe, expect, it } from 'vitest'
import { CACHE_FORMAT, HANDED_PREFIX, isOwnersKey, META_KEY, metaRecord, readEvent, readRenames, readStoredCache, RECORD_PREFIX } from '../src/cacheFormat'
import { newCreateRecord, newDeleteRecord, type MutationRecord } from '../src/mutation'
import { makeEvent, makeSeed } from './support/events'
import { cacheMeta, segmentOf } from './support/rawCache'
import { ENDINGS_KEY } from '../src/storedEndings'

const namespace = 'workstream-sync:http://127.0.0.1:1000'

function create(id: string, queuedAt: number): MutationRecord {
  return newCreateRecord({ id, eventId: `event-${id}`, seed: makeSeed(id), optimistic: makeEvent(`event-${id}`), now: queuedAt, seq: 0, origin: 'tab' })
}

function remove(id: string, eventId: string, queuedAt: number): MutationRecord {
  return newDeleteRecord({ id, eventId, now: queuedAt, seq: 0, origin: 'tab' })
}

describe('readStoredCache', () => {
  it('says what it found instead of a cache it cannot read', () => {
    expect(readStoredCache([['s:0', segmentOf([])]], namespace)).toEqual({ unreadable: 'no readable meta record' })
    expect(readStoredCache([[META_KEY, { ...cacheMeta(namespace, []), format: 1 }]], namespace)).toEqual({ unreadable: 'a cache of format 1' })
    expect(readStoredCache([[META_KEY, { ...cacheMeta(namespace, [0]), base: 2 }]], namespace)).toEqual({ unreadable: 'an unreadable list of segments' })
    // Another server's cache (a custom storage that shares one area between namespaces) is not this one's.
    expect(readStoredCache([[META_KEY, cacheMeta('workstream-sync:http://elsewhere', [])]], namespace)).toEqual({ unreadable: 'the cache of another namespace ("workstream-sync:http://elsewhere")' })
  })

  it('reads the endings beside the cache, and leaves keys it does not know alone (a later version may keep more)', () => {
    const ending = { outcome: 'rejected', error: { kind: 'http', message: 'Bad Request', status: 400 } } as const
    const read = readStoredCache([[META_KEY, cacheMeta(namespace, [])], [ENDINGS_KEY, [['m1', ending]]], ['kept by a later version', { any: 'thing' }]], namespace)
    expect(read).toMatchObject({ bad: [], records: [], endings: new Map([['m1', ending]]) })
  })

  it('reads a cache that holds only followers\' copies of their mutations, which write no meta record', () => {
    const record = create('a', 1)
    const read = readStoredCache([[HANDED_PREFIX + record.id, record]], namespace)
    expect(read).toMatchObject({ onlyHanded: true, records: [record], bad: [], superseded: [] })
  })

  it("lets the leader's record of a mutation supersede a follower's copy of it, which an older version may be", () => {
    const leaders = { ...create('a', 1), state: 'sending' as const, attempts: 1 }
    const copy = create('a', 1)
    const read = readStoredCache([[META_KEY, cacheMeta(namespace, [])], [HANDED_PREFIX + 'a', copy], [RECORD_PREFIX + 'a', leaders]], namespace)
    expect(read).toMatchObject({ records: [leaders], superseded: [HANDED_PREFIX + 'a'] })
  })

  it('puts a create before the delete of its event whatever their times say (a clock set back)', () => {
    const deleteFirst = remove('d', 'event-c', 5)
    const createAfter = create('c', 10)
    const other = create('o', 7)
    const read = readStoredCache([[META_KEY, cacheMeta(namespace, [])], ['m:d', deleteFirst], ['m:o', other], ['m:c', createAfter]], namespace)
    expect('records' in read && read.records.map((r) => r.id)).toEqual(['o', 'c', 'd'])
  })

  it('lists unreadable records and segment keys instead of trusting them', () => {
    const read = readStoredCache(
      [
        [META_KEY, cacheMeta(namespace, [0])],
        ['s:0', segmentOf([])],
        ['s:x', segmentOf([])],
        ['m:bad', { kind: 'create', id: 'bad' }],
        ['m:no-event', { ...remove('no-event', 'e', 1), eventId: '' }],
      ],
      namespace,
    )
    expect(read).toMatchObject({ bad: ['s:x', 'm:bad', 'm:no-event'], records: [] })
    expect('segments' in read && [...read.segments.keys()]).toEqual([0])
  })
})

describe('metaRecord', () => {
  it('writes only what is set, and reads back the renames it wrote', () => {
    const layout = { segments: [0, 1], base: 1 }
    expect(metaRecord(namespace, layout, undefined, { renamed: new Map(), clientIdsHonoured: false }, undefined)).toEqual({ format: CACHE_FORMAT, namespace, segments: [0, 1], base: 1 })
    const meta = metaRecord(namespace, layout, 42, { renamed: new Map([['client', 'server']]), clientIdsHonoured: true }, 'clear-1')
    expect(meta).toEqual({ format: CACHE_FORMAT, namespace, segments: [0, 1], base: 1, lastSyncedAt: 42, renamed: [['client', 'server']], clientIdsHonoured: true, clearedBy: 'clear-1' })
    expect(readRenames(meta.renamed)).toEqual([['client', 'server']])
  })
})

describe('readRenames', () => {
  it('skips what another version may have written in their place', () => {
    expect(readRenames('a,b')).toEqual([])
    expect(readRenames([['a', 'b'], ['c'], ['d', 4], 'e', ['f', 'g']])).toEqual([['a', 'b'], ['f', 'g']])
  })
})

describe('readEvent', () => {
  it('reads a stored text only as the event it is stored under', () => {
    const text = JSON.stringify(makeEvent('a'))
    expect(readEvent('a', text)?.id).toBe('a')
    expect(readEvent('b', text)).toBeUndefined()
    expect(readEvent('a', text.slice(0, -1))).toBeUndefined()
    expect(readEvent('a', JSON.stringify({ id: 'a' }))).toBeUndefined()
  })
})

describe('isOwnersKey', () => {
  it("names the keys only the leader writes: the meta record, the segments and the endings, not the outbox's records", () => {
    expect([META_KEY, 's:3', ENDINGS_KEY, 'm:a', 'f:a'].map(isOwnersKey)).toEqual([true, true, true, false, false])
  })
})
