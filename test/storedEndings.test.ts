import { describe, expect, it } from 'vitest'
import { Persistence } from '../src/persistence'
import { memoryStorage } from '../src/storage'
import { ENDINGS_KEPT, ENDINGS_KEY, readEndings } from '../src/storedEndings'
import { snapshotOf } from '../src/view'
import { makeEvent } from './support/events'

const namespace = 'workstream-sync:http://127.0.0.1:1000'

describe('readEndings', () => {
  it('reads each ending a list holds, with only the fields of an error', () => {
    const event = makeEvent('made', 1)
    const value = [
      ['created', { outcome: 'resolved', event }],
      ['found', { outcome: 'resolved' }],
      ['refused', { outcome: 'rejected', error: { kind: 'http', message: 'Bad Request', status: 400, extra: 1 } }],
    ]
    expect(readEndings(value)).toEqual(
      new Map<string, unknown>([
        ['created', { outcome: 'resolved', event }],
        ['found', { outcome: 'resolved' }],
        ['refused', { outcome: 'rejected', error: { kind: 'http', message: 'Bad Request', status: 400 } }],
      ]),
    )
  })

  it('skips what is not an ending, and takes what is not a list for none (storage may hold anything)', () => {
    for (const value of [undefined, null, 'ended', 3, { m: { outcome: 'resolved' } }]) expect(readEndings(value)).toEqual(new Map())
    const garbage = [
      null,
      'm',
      ['m'],
      [1, { outcome: 'resolved' }],
      ['m', null],
      ['m', { outcome: 'created' }],
      ['m', { outcome: 'resolved', event: { id: 'no other field' } }],
      ['m', { outcome: 'rejected' }],
      ['m', { outcome: 'rejected', error: { kind: 'gone', message: 'x' } }],
      ['m', { outcome: 'rejected', error: { kind: 'http', message: 'x', status: 'four hundred' } }],
      ['m', { outcome: 'rejected', error: { kind: 'http' } }],
    ]
    expect(readEndings(garbage)).toEqual(new Map())
    expect(readEndings([...garbage, ['good', { outcome: 'resolved' }]])).toEqual(new Map([['good', { outcome: 'resolved' }]]))
  })
})

describe('the endings a leader saves', () => {
  it(`keeps the latest ${ENDINGS_KEPT}, and a takeover's read goes on from them`, async () => {
    const storage = memoryStorage()
    const leader = new Persistence({ storage, namespace, onError: () => {} })
    await leader.load()
    const settled = Array.from({ length: ENDINGS_KEPT + 3 }, (_, i) => ({ mutationId: `m${i}`, origin: 'other tab', outcome: 'resolved' as const }))
    leader.ended(settled)
    leader.save({ server: snapshotOf([makeEvent('a', 1)]), records: [], lastSyncedAt: 1, renamed: new Map(), clientIdsHonoured: false })
    await leader.flush()
    const next = new Persistence({ storage, namespace, onError: () => {} })
    const read = await next.load(true)
    expect([...read.endings!.keys()]).toEqual(settled.slice(3).map((s) => s.mutationId))
    next.ended([{ mutationId: 'later', outcome: 'rejected', error: { kind: 'aborted', message: 'cancelled' } }])
    await next.flush()
    const stored = new Map(await storage.open(namespace).entries()).get(ENDINGS_KEY) as unknown[]
    expect(stored.map((entry) => (entry as [string])[0])).toEqual([...settled.slice(4).map((s) => s.mutationId), 'later'])
  })

  it('are none where storage held no cache a leader wrote, and are not kept after clear()', async () => {
    const storage = memoryStorage()
    await storage.open(namespace).setMany([[ENDINGS_KEY, [['m', { outcome: 'resolved' }]]]])
    const leader = new Persistence({ storage, namespace, onError: () => {} })
    expect((await leader.load()).endings).toBeUndefined()
    leader.ended([{ mutationId: 'before', outcome: 'resolved' }])
    await leader.clear()
    leader.ended([{ mutationId: 'after', outcome: 'resolved' }])
    leader.save({ server: snapshotOf([]), records: [], lastSyncedAt: undefined, renamed: new Map(), clientIdsHonoured: false })
    await leader.flush()
    expect([...(await new Persistence({ storage, namespace, onError: () => {} }).load()).endings!.keys()]).toEqual(['after'])
  })
})
