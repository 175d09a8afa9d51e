import { describe, expect, it } from 'vitest'
import { memoryStorage, type SyncStorage } from '../src/storage'
import type { TabCoordinator, TabMessage } from '../src/tabs'
import type { WorkstreamStore } from '../src/workstreamStore'
import { corruptingFetch } from './support/corruptingFetch'
import { makeEvent, makeSeed } from './support/events'
import { makeStore, startServer, until } from './support/harness'
import { failingRead } from './support/heldReads'
import { memoryTabs } from './support/memoryTabs'

/*
 * A tab that becomes the leader holds copies of the old leader's outbox, whose seqs count the old
 * leader's snapshots, not this tab's, and whose sends may have landed there. Its own snapshots
 * must not settle them until it has taken them over as from an earlier session.
 */

const initial = [makeEvent('a', 1), makeEvent('b', 2)]

describe('a tab that becomes the leader', () => {
  it('does not settle the old leader’s ambiguous create with the snapshots it fetches while taking over (bug: sent twice)', async () => {
    const server = await startServer({ events: initial, honourInternalIdentifier: false })
    const corrupt = corruptingFetch('landed unreadable')
    const storage = memoryStorage()
    const hub = memoryTabs()
    const leader = makeStore(server, { storage, tabs: hub.join(), fetch: corrupt.fetch })
    await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    // Its first read (its cache) passes; the next (taking over) waits, then fails.
    const reads = failingRead(storage, 1)
    const followerTabs = hub.join()
    const follower = makeStore(server, { storage: reads.storage, tabs: followerTabs, fetch: corrupt.fetch })
    await follower.ready
    // The leader's create lands, its answer is lost, and its event is unreadable.
    await leader.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    leader.create(makeSeed('landed unreadable'))
    await until(leader.outbox$, (o) => o[0]?.ambiguous === true)
    await corrupt.snapshotsReach(corrupt.snapshots() + 1)
    await until(follower.outbox$, (o) => o[0]?.ambiguous === true)
    // The leader closes; the follower takes over, and its read of storage is slow, then fails.
    await leader.dispose()
    await reads.reading
    expect(followerTabs.isLeader).toBe(true)
    await follower.refresh()
    await follower.refresh()
    expect(follower.outbox).toMatchObject([{ kind: 'create', ambiguous: true }])
    reads.fail()
    await until(follower.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    for (let i = 0; i < 3; i++) await follower.refresh().catch(() => {})
    expect(server.requests.count('create')).toBe(1)
    expect(server.events().filter((e) => e.readable === 'landed unreadable')).toHaveLength(1)
  })

  it('elected before it read its cache, does not send again the old leader’s create whose event landed unreadable (bug: sent twice)', async () => {
    const server = await startServer({ events: initial, honourInternalIdentifier: false })
    const corrupt = corruptingFetch('landed unreadable')
    const storage = memoryStorage()
    const old = recordingLeader()
    const store = makeStore(server, { storage, tabs: old.tabs, fetch: corrupt.fetch })
    await store.ready
    await store.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    store.create(makeSeed('landed unreadable')).confirmed.catch(() => {})
    await until(store.outbox$, (o) => o[0]?.ambiguous === true)
    await corrupt.snapshotsReach(corrupt.snapshots() + 1)
    const state = old.lastState(store)
    await store.dispose()

    const next = await electedBeforeItsRead(server, storage, state, corrupt.fetch)
    for (let i = 0; i < 6; i++) await next.refresh()
    expect(server.requests.count('create')).toBe(1)
    expect(server.events().filter((e) => e.readable === 'landed unreadable')).toHaveLength(1)
  })

  it('elected before it read its cache, sends its outbox though the old leader’s state said a create was on the wire (bug: nothing was ever sent)', async () => {
    const server = await startServer({ events: initial })
    const storage = memoryStorage()
    const old = recordingLeader()
    // The old leader's create hangs on the wire until the tab closes.
    let arrived!: () => void
    const onWire = new Promise<void>((resolve) => (arrived = resolve))
    const hanging: typeof fetch = (input, init) => {
      if ((init?.method ?? 'GET') !== 'POST') return fetch(input, init)
      arrived()
      return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))
    }
    const store = makeStore(server, { storage, tabs: old.tabs, fetch: hanging })
    await store.ready
    await store.refresh()
    store.create(makeSeed('on the wire as the old leader closed')).confirmed.catch(() => {})
    await onWire
    const state = old.lastState(store)
    expect(state.records).toMatchObject([{ state: 'sending' }])
    await store.dispose()

    const next = await electedBeforeItsRead(server, storage, state, fetch)
    const mine = next.create(makeSeed('made in the new leader'))
    for (let i = 0; i < 3; i++) await next.refresh()
    const outcome = await Promise.race([mine.confirmed.then(() => 'confirmed'), next.refresh().then(() => next.refresh()).then(() => 'still pending')])
    expect(outcome).toBe('confirmed')
    // The old leader's create may have landed: it waits for a snapshot to say, as after a reload.
    expect(next.outbox).toMatchObject([{ kind: 'create', ambiguous: true, state: 'waiting' }])
  })
})

type StateMessage = Extract<TabMessage, { type: 'state' }>

/** A leader alone, whose coordinator keeps what it posts. */
function recordingLeader() {
  const posted: TabMessage[] = []
  const tabs: TabCoordinator = { isLeader: true, elected: Promise.resolve(), onLeadership: () => () => {}, post: (m) => posted.push(structuredClone(m)), onMessage: () => () => {}, close() {} }
  return {
    tabs,
    /** The last state it posted, as a full one (the events it shows, its own creates' left out). */
    lastState(store: WorkstreamStore): StateMessage {
      const last = posted.filter((m): m is StateMessage => m.type === 'state').at(-1)!
      return { ...last, server: { full: store.events.filter((e) => !store.outbox.some((m) => m.eventId === e.id)) }, settled: [] }
    },
  }
}

/**
 * A new tab on `storage` that hears `state` before its election is decided, and then gets the
 * lock before it began to read its cache (a browser can grant a tab's first lock request that early).
 */
async function electedBeforeItsRead(server: Parameters<typeof makeStore>[0], storage: SyncStorage, state: StateMessage, fetchImpl: typeof fetch): Promise<WorkstreamStore> {
  let decide!: () => void
  const elected = new Promise<void>((resolve) => (decide = resolve))
  const onMessage = new Set<(m: TabMessage) => void>()
  const onLeadership = new Set<(isLeader: boolean) => void>()
  let leader = false
  const tabs: TabCoordinator = {
    get isLeader() {
      return leader
    },
    elected,
    onLeadership: (listener) => (onLeadership.add(listener), () => onLeadership.delete(listener)),
    post: () => {},
    onMessage: (listener) => (onMessage.add(listener), () => onMessage.delete(listener)),
    close() {},
  }
  const store = makeStore(server, { storage, tabs, fetch: fetchImpl })
  for (const listener of onMessage) listener(structuredClone(state))
  leader = true
  for (const listener of onLeadership) listener(true)
  decide()
  await store.ready
  return store
}
