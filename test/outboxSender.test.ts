import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { WorkstreamClient } from '../src/client'
import { globalTimers } from '../src/environment'
import type { MutationRecord } from '../src/mutation'
import { nextToSend, nextWakeUp, OutboxSender } from '../src/outbox'
import { makeEvent, makeSeed } from './support/events'

/** A create whose answer was lost: it waits for a snapshot to say whether it landed. */
const ambiguousCreate: MutationRecord = {
  id: 'm1',
  kind: 'create',
  eventId: 'c',
  seed: makeSeed('c'),
  optimistic: makeEvent('c', 0),
  state: 'waiting',
  attempts: 1,
  queuedAt: 0,
  queuedSeq: 0,
  ambiguous: { sinceSeq: 0, notBefore: 0 },
}

function sender(requestSnapshot: () => Promise<void>, records: () => readonly MutationRecord[] = () => [ambiguousCreate], methods: Partial<WorkstreamClient> = {}) {
  const client = { baseUrl: 'http://127.0.0.1:9', timeoutMs: 1000, ...methods } as unknown as WorkstreamClient
  return new OutboxSender({
    client,
    transferables: undefined,
    timers: globalTimers,
    now: () => Date.now(),
    random: () => 1,
    retry: { baseDelayMs: 100, maxDelayMs: 1600, maxAttempts: 5 },
    graceMs: 50,
    // By default every snapshot leaves the create unresolved (one with an item that cannot be read, say).
    records,
    dispatch: () => {},
    canSend: () => true,
    persisted: async () => {},
    requestSnapshot,
  })
}

describe('OutboxSender: snapshots for ambiguous mutations', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('asks again with a growing backoff, not at once, when a snapshot leaves a mutation unresolved', async () => {
    const asked: number[] = []
    const outbox = sender(async () => {
      asked.push(Date.now() - 1_000)
    })
    outbox.kick()
    await vi.advanceTimersByTimeAsync(5_000)
    outbox.dispose()
    // Backoffs of 100, 200, 400, 800 and then 1600 ms (random() = 1: the full delay).
    expect(asked).toEqual([0, 100, 300, 700, 1500, 3100, 4700])
  })

  it('backs off the same way when the snapshot fails, and stops when disposed', async () => {
    let asked = 0
    const outbox = sender(async () => {
      asked++
      throw new Error('offline')
    })
    outbox.kick()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(asked).toBe(4)
    outbox.dispose()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(asked).toBe(4)
  })

  it('starts a later ambiguous mutation without the backoff of earlier ones, after clear() or once none is left', async () => {
    for (const end of ['abandon', 'resolved'] as const) {
      let records: readonly MutationRecord[] = [ambiguousCreate]
      const asked: number[] = []
      const start = Date.now()
      const outbox = sender(async () => {
        asked.push(Date.now() - start)
        throw new Error('offline')
      }, () => records)
      outbox.kick()
      await vi.advanceTimersByTimeAsync(350)
      expect(asked).toEqual([0, 100, 300])
      records = []
      if (end === 'abandon') outbox.abandon()
      else outbox.kick()
      // The next user's create, whose answer was lost too: asked for at once.
      records = [{ ...ambiguousCreate, id: 'm2' }]
      outbox.kick()
      await vi.advanceTimersByTimeAsync(0)
      expect(asked).toEqual([0, 100, 300, 350])
      outbox.dispose()
    }
  })
})

describe('the outbox, when the wall clock jumps', () => {
  const waiting = (nextAttemptAt: number): MutationRecord => ({ id: 'm1', kind: 'delete', eventId: 'a', state: 'waiting', attempts: 1, queuedAt: 0, queuedSeq: 0, nextAttemptAt })
  const hour = 3_600_000

  it('sends a retry at once whose time is further ahead than any backoff: the clock was set back (bug: it waited an hour)', () => {
    expect(nextToSend([waiting(1000 + 500)], 1000, 1600)).toBeUndefined()
    expect(nextToSend([waiting(1000 + hour)], 1000, 1600)?.id).toBe('m1')
  })

  it('has the sender retry at once, and arm no timer longer than the longest wait', async () => {
    vi.useFakeTimers({ now: 1_000 })
    try {
      const deleted: string[] = []
      let records = [waiting(1_000 + hour)]
      const outbox = sender(async () => {}, () => records, {
        delete: async (id: string) => {
          deleted.push(id)
          records = []
        },
      })
      outbox.kick()
      await vi.advanceTimersByTimeAsync(0)
      expect(deleted).toEqual(['a'])
      records = [{ ...ambiguousCreate, ambiguous: { sinceSeq: 0, notBefore: 1_000 + 30 * 24 * hour } }]
      outbox.kick()
      await vi.advanceTimersByTimeAsync(0)
      expect(vi.getTimerCount()).toBe(1)
      await vi.advanceTimersByTimeAsync(1_000)
      expect(vi.getTimerCount()).toBe(1)
      outbox.dispose()
    } finally {
      vi.useRealTimers()
    }
  })

  it('never wakes later than the longest wait, so no timer exceeds what setTimeout holds (bug: a 30-day jump armed a timer every millisecond)', () => {
    expect(nextWakeUp([waiting(1000 + 500)], 1000, 1600)).toBe(1500)
    expect(nextWakeUp([waiting(1000 + 30 * 24 * hour)], 1000, 1600)).toBe(2600)
    expect(nextWakeUp([{ ...ambiguousCreate, ambiguous: { sinceSeq: 0, notBefore: 1000 + hour } }], 1000, 1600)).toBe(2600)
  })
})
