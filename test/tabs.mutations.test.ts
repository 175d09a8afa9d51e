import { describe, expect, it } from 'vitest'
import { makeEvent, makeSeed } from './support/events'
import { countingStorage, makeStore, startServer, until } from './support/harness'
import { memoryTabs } from './support/memoryTabs'
import { closingPage, failingWritesTo, heldWrites, watchedStorage } from './support/storageGates'
import { failingRead } from './support/heldReads'
import { eventFromSeed } from '../src/eventFromSeed'
import { newCreateRecord, newDeleteRecord } from '../src/mutation'
import { storeNamespace } from '../src/storeOptions'
import { twoTabs } from './support/twoTabs'
import { holdable } from './support/holdable'
import { manualSource } from '../src/environment'
import { memoryStorage } from '../src/storage'

/* Mutations made in a follower tab and carried out by the leader. */

describe('a follower’s mutations, in the leader', () => {
  it('resolves a follower’s create whose answer was lost with one snapshot, not one per snapshot the follower took', async () => {
    const { server, hub, leader } = await twoTabs()
    // A tab whose own count of snapshots runs far ahead of the leader's (a tab that led before).
    const far = hub.join()
    const seed = makeSeed('from the follower')
    const record = newCreateRecord({ id: 'm-far', eventId: 'e-far', seed, optimistic: eventFromSeed(seed, 'e-far', Date.now()), now: Date.now(), seq: 1000, origin: 'far' })
    server.faults.add('create', { type: 'drop-after-commit' })
    const before = server.requests.count('snapshot')
    far.post({ type: 'mutation', from: 'far', record })
    await until(leader.outbox$, (outbox) => outbox.some((r) => r.id === record.id))
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    expect(leader.get('e-far')).toBeDefined()
    expect(server.requests.count('snapshot') - before).toBeLessThanOrEqual(2)
    expect(server.requests.count('create')).toBe(1)
  })
})

describe('errors$ in the tab that made a mutation', () => {
  it('reports a follower’s create that became a dead letter in the follower too (bug: only the leader tab’s errors$ said so)', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    server.faults.add('create', { type: 'status', status: 503 }, { times: Infinity })
    const { event } = follower.create(makeSeed('never accepted'))
    await until(follower.outbox$, (outbox) => outbox.some((m) => m.eventId === event.id && m.state === 'dead'))
    const mine = follower.errors.filter((e) => e.eventId === event.id)
    expect(mine.at(-1)).toMatchObject({ kind: 'http', status: 503, mutationId: follower.outbox[0]!.id })
    expect(mine.at(-1)!.message).toMatch(/dead letter/)
    // As many as the leader reported: one per failed attempt.
    expect(mine.map((e) => e.message)).toEqual(leader.errors.filter((e) => e.eventId === event.id).map((e) => e.message))
  })

  it('reports a follower’s create the server refused in the follower, and no other tab’s there (bug: the follower’s promise rejected, and its errors$ said nothing)', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    server.faults.add('create', { type: 'status', status: 400 }, { times: 2 })
    const theirs = follower.create(makeSeed('refused'))
    await expect(theirs.confirmed).rejects.toMatchObject({ kind: 'http', status: 400 })
    expect(follower.errors.filter((e) => e.eventId === theirs.event.id).map((e) => e.message)).toEqual([expect.stringMatching(/refused/)])
    const own = leader.create(makeSeed('refused as well'))
    await expect(own.confirmed).rejects.toMatchObject({ status: 400 })
    // Once this resolves, the follower holds the state the refusal led to.
    await follower.refresh()
    expect(follower.errors.filter((e) => e.eventId === own.event.id)).toEqual([])
    expect(leader.errors.filter((e) => e.mutationId !== undefined)).toHaveLength(2)
  })
})

describe('a delete from another tab by a client id the server renamed', () => {
  it('goes to the server’s id though the leader’s record of the create has ended (bug: it went to the client id, and the event stayed)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)], honourInternalIdentifier: false })
    const hub = memoryTabs()
    const leader = makeStore(server, { storage: memoryStorage(), tabs: hub.join() })
    await until(leader.status$, (status) => status.isLeader && status.phase !== 'hydrating')
    const { event, confirmed } = leader.create(makeSeed('named by the server'))
    const named = await confirmed
    expect(named.id).not.toBe(event.id)
    await leader.refresh()
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    // A tab that still showed the create under its client id deletes it.
    const late = hub.join()
    late.post({ type: 'mutation', from: 'late', record: newDeleteRecord({ id: 'm-late', eventId: event.id, now: Date.now(), seq: 0, origin: 'late' }) })
    await until(leader.outbox$, (outbox) => outbox.some((r) => r.id === 'm-late'))
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    expect(server.events().map((e) => e.id)).toEqual(['a'])
  })

  it('goes to the server’s id in a tab that took over without having heard the rename (bug: it went to the client id)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)], honourInternalIdentifier: false })
    const hub = memoryTabs()
    const storage = memoryStorage()
    const leader = makeStore(server, { storage, tabs: hub.join() })
    await until(leader.status$, (status) => status.isLeader && status.phase !== 'hydrating')
    const { event, confirmed } = leader.create(makeSeed('named by the server'))
    const named = await confirmed
    await leader.refresh()
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    // A tab opened after the create's record ended never heard of the rename.
    const next = makeStore(server, { storage, tabs: hub.join() })
    await next.ready
    await leader.dispose()
    await until(next.status$, (status) => status.isLeader)
    await next.delete(event.id)
    expect(server.events().map((e) => e.id)).not.toContain(named.id)
    await next.dispose()
  })
})

/** A leader and a follower, each behind messages the test can hold, on a server that names created events itself. */
async function tabsOfARenamingServer() {
  const server = await startServer({ events: [makeEvent('a', 1)], honourInternalIdentifier: false })
  const hub = memoryTabs()
  const leaderMessages = holdable()
  const leader = makeStore(server, { storage: memoryStorage(), tabs: leaderMessages.wrap(hub.join()) })
  await until(leader.status$, (status) => status.isLeader && status.phase !== 'hydrating')
  const followerMessages = holdable()
  const follower = makeStore(server, { storage: memoryStorage(), tabs: followerMessages.wrap(hub.join()) })
  await follower.ready
  return { server, leader, leaderMessages, followerMessages, follower }
}

describe('a follower’s delete of its own create, by the client id the server renamed', () => {
  it('keeps the event hidden when the leader’s state confirming the create comes before the delete reached it (bug: it showed again until the next state)', async () => {
    const { server, leader, leaderMessages, followerMessages, follower } = await tabsOfARenamingServer()
    // The leader sends the follower's create and says so; the follower has not read that yet.
    followerMessages.hold()
    const { event, confirmed } = follower.create(makeSeed('created, then deleted in the follower'))
    await until(leader.outbox$, (outbox) => outbox.length === 1)
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    // The follower deletes it by the id create() gave it, and the leader has not read that yet.
    leaderMessages.hold()
    const deleted = follower.delete(event.id)
    const shown: string[][] = []
    follower.events$.subscribe((events) => shown.push(events.map((e) => e.id)))
    followerMessages.release()
    const named = await confirmed
    expect(named.id).not.toBe(event.id)
    leaderMessages.release()
    await deleted
    expect(shown.filter((ids) => ids.includes(named.id) || ids.includes(event.id))).toEqual([])
    expect(server.events().map((e) => e.id)).toEqual(['a'])
  })

  it('hides the follower’s new create by a client id it used again, not the event the server named the first one (bug: the renamed delete hid the first)', async () => {
    const { server, leader, leaderMessages, followerMessages, follower } = await tabsOfARenamingServer()
    const first = follower.create(makeSeed('first', { internal_identifier: 'mine' }))
    const named = await first.confirmed
    expect(named.id).not.toBe('mine')
    await until(follower.events$, (events) => events.some((e) => e.id === named.id))
    // The id is used again for a new create, deleted at once; the leader has not read either yet.
    leaderMessages.hold()
    follower.create(makeSeed('second', { internal_identifier: 'mine' })).confirmed.catch(() => {})
    const deleted = follower.delete('mine')
    expect(follower.events.map((e) => e.readable)).toEqual(['first'])
    // A state of the leader's (its own create) reaches the follower meanwhile.
    const stated = followerMessages.received((m) => m.type === 'state' && m.records.some((r) => r.seed?.readable === 'leader’s'))
    leader.create(makeSeed('leader’s'))
    await stated
    const shown = follower.events.map((e) => e.readable)
    leaderMessages.release()
    await deleted
    expect({ shown: shown.sort(), server: server.events().map((e) => e.readable).sort() }).toEqual({ shown: ['first', 'leader’s'], server: ['event a', 'first', 'leader’s'] })
  })

  it('hides the event at once when the delete comes after the follower heard the create confirmed', async () => {
    const { server, leaderMessages, follower } = await tabsOfARenamingServer()
    const { event, confirmed } = follower.create(makeSeed('created, then deleted in the follower'))
    const named = await confirmed
    await until(follower.events$, (events) => events.some((e) => e.id === named.id))
    leaderMessages.hold()
    const deleted = follower.delete(event.id)
    expect(follower.events.map((e) => e.id)).not.toContain(named.id)
    leaderMessages.release()
    await deleted
    expect(server.events().map((e) => e.id)).toEqual(['a'])
  })
})

describe('a follower that cannot read the cache', () => {
  it('leaves it to the leader instead of wiping it (bug: the leader went on listing wiped segments)', async () => {
    const storage = memoryStorage()
    const { server, leader, hub } = await twoTabs(0, { storage })
    await leader.refresh()
    await leader.flush()
    // The meta record is gone (a tab of an older version, a hand edit): a new tab cannot read the cache.
    const area = storage.open(storeNamespace(server.url))
    await area.delMany(['meta'])
    const late = makeStore(server, { storage, tabs: hub.join() })
    await late.ready
    expect(late.errors.some((e) => e.kind === 'storage')).toBe(true)
    const made = server.create(makeSeed('made later'))
    await leader.refresh()
    await leader.flush()
    await late.dispose()
    await leader.dispose()
    const reloaded = makeStore(server, { storage, tabs: false, online: manualSource(false) })
    await reloaded.ready
    expect(reloaded.events.map((e) => e.id).sort()).toEqual(['a', 'b', made.id].sort())
  })
})

describe('a follower’s mutations, in storage', () => {
  it('leaves no record behind when the leader cancels a follower’s create and delete before sending either', async () => {
    const { server, leader, follower, storage, online } = await twoTabs(0, { leaderOnline: false })
    const { event, confirmed } = follower.create(makeSeed('never sent'))
    const cancelled = confirmed.then(
      () => 'resolved',
      (error: { kind: string }) => error.kind,
    )
    await follower.delete(event.id)
    expect(await cancelled).toBe('aborted')
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    await leader.flush()
    await follower.dispose()
    await leader.dispose()
    online.set(true)
    // The next page load: nothing is left to send.
    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(reloaded.outbox).toEqual([])
    await reloaded.flush()
    expect(server.requests.count('create') + server.requests.count('delete')).toBe(0)
  })
  it('keeps the leader’s cache when a follower that found storage empty writes its mutation (bug: its meta record hid the cached events)', async () => {
    const { server, leader, follower, storage } = await twoTabs()
    // Both tabs read storage while it was empty; now the leader fills the cache.
    await leader.refresh()
    await leader.flush()
    follower.create(makeSeed('from the follower'))
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    await follower.dispose()
    await leader.dispose()
    const reloaded = makeStore(server, { storage, online: manualSource(false) })
    await reloaded.ready
    expect(reloaded.events.map((e) => e.id)).toEqual(expect.arrayContaining(['a', 'b']))
  })

  it('keeps the leader’s record of a follower’s confirmed delete, so that a reload before the next poll still hides the event (bug: the follower deleted it)', async () => {
    const { server, leader, follower, storage } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    await follower.delete('a')
    await leader.flush()
    await follower.flush()
    await follower.dispose()
    await leader.dispose()
    const reloaded = makeStore(server, { storage, online: manualSource(false) })
    await reloaded.ready
    expect(reloaded.events.map((e) => e.id)).toEqual(['b'])
  })
})

describe('several tabs on one storage, one failing', () => {
  it('does not let a follower whose writes fail wipe the cache and outbox the leader saved', async () => {
    const storage = memoryStorage()
    let outboxSaved!: () => void
    const saved = new Promise<void>((resolve) => (outboxSaved = resolve))
    const { server, leader, follower } = await twoTabs(0, {
      leaderOnline: false,
      storage: watchedStorage(storage, (keys) => keys.some((key) => key.startsWith('m:')) && outboxSaved()),
      followerStorage: failingWritesTo(storage),
    })
    await leader.refresh()
    const { event } = leader.create(makeSeed('queued in the leader while offline'))
    await saved
    follower.create(makeSeed('queued in the follower, whose storage fails'))
    await until(follower.errors$, (error) => error.kind === 'storage')
    await until(leader.outbox$, (outbox) => outbox.length === 2)
    await follower.dispose()
    await leader.dispose()
    const reloaded = makeStore(server, { storage, online: manualSource(false) })
    await reloaded.ready
    expect(reloaded.outbox.map((m) => m.eventId)).toContain(event.id)
    expect(reloaded.events.map((e) => e.id)).toEqual(expect.arrayContaining(['a', 'b']))
  })

  it('has a follower delete its copy of a mutation the leader settled while the leader’s storage failed, so that no later session sends it again', async () => {
    const storage = memoryStorage()
    const { server, leader, follower } = await twoTabs(0, { storage: failingWritesTo(storage), followerStorage: storage })
    const failed = until(leader.errors$, (error) => error.kind === 'storage')
    await leader.refresh()
    await failed
    const { confirmed } = follower.create(makeSeed('made in the follower'))
    await confirmed
    await follower.flush()
    await follower.dispose()
    await leader.dispose()
    const stored = await storage.open(storeNamespace(server.url)).entries()
    expect(stored.filter(([key]) => key.startsWith('f:') || key.startsWith('m:'))).toEqual([])
    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(reloaded.outbox).toEqual([])
    expect(server.requests.count('create')).toBe(1)
  })
})

describe('clear() in a follower', () => {
  it('clears the leader too: its outbox is not sent, and no tab shows the last user’s events', async () => {
    const { server, leader, follower, storage, online } = await twoTabs(0, { leaderOnline: false })
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    const fromLeader = leader.create(makeSeed('queued in the leader'))
    const fromFollower = follower.create(makeSeed('queued in the follower'))
    const outcomes = Promise.all([fromLeader.confirmed, fromFollower.confirmed].map((p) => p.then(() => 'resolved', (error: { kind: string }) => error.kind)))
    await until(leader.outbox$, (outbox) => outbox.length === 2)
    await follower.clear()
    expect(await outcomes).toEqual(['aborted', 'aborted'])
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    expect(leader.events).toEqual([])
    online.set(true)
    await leader.flush()
    expect(server.requests.count('create')).toBe(0)
    await leader.dispose()
    await follower.dispose()
    const reloaded = makeStore(server, { storage, online })
    await reloaded.ready
    expect(reloaded.outbox).toEqual([])
  })

  it('keeps the next user’s mutations when a follower whose storage failed logs out (bug: its wipe of storage landed after the leader had saved them)', async () => {
    const storage = memoryStorage()
    const leaderPage = closingPage(storage)
    // The follower cannot read the cache, and lives in memory; a wipe of storage it issues later
    // goes through a new connection, slow to open.
    const flaky = failingRead(storage)
    flaky.fail()
    const slow = heldWrites(flaky.storage)
    const { server, leader, follower, online } = await twoTabs(0, { leaderOnline: false, storage: leaderPage.storage, followerStorage: slow.storage })
    expect(follower.errors.map((e) => e.kind)).toEqual(['storage'])
    slow.hold()
    const clearing = follower.clear()
    // The next user's first note, made in that tab just after the logout: the leader saves it.
    const { event: next } = follower.create(makeSeed('the next user’s note'))
    const outbox = await until(leader.outbox$, (o) => o.some((m) => m.eventId === next.id))
    await leaderPage.landed(`m:${outbox.find((m) => m.eventId === next.id)!.id}`)
    slow.release()
    await clearing
    await follower.dispose()
    await leader.dispose()
    const reloaded = makeStore(server, { storage, online })
    await reloaded.ready
    expect(reloaded.outbox.map((m) => m.eventId)).toEqual([next.id])
    expect(reloaded.errors).toEqual([])
  })
})

describe('clear() in the leader', () => {
  it('tells the truth of a create the leader makes right after its own clear() while a follower’s clear of the same moment is on its way: aborted, and never sent (README Limits)', async () => {
    // Offline, so that the create waits in the outbox (one already on the wire is told it may have landed).
    const { server, leader, follower, online } = await twoTabs(0, { leaderOnline: false })
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    const clears = [leader.clear(), follower.clear()]
    await clears[0]
    const { confirmed } = leader.create(makeSeed('made between two logouts'))
    await Promise.all(clears)
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    online.set(true)
    await leader.flush()
    await leader.refresh()
    expect(server.events().filter((e) => e.readable === 'made between two logouts')).toHaveLength(0)
  })

  it('sends the next user’s create that a follower makes right after its own clear(), when the leader clears at the same moment (bug: aborted in the tab, and sent all the same)', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    // A logout every tab hears at once (a token expiry), then the next user's first create.
    const clears = [leader.clear(), follower.clear()]
    const { confirmed } = follower.create(makeSeed('the next user’s create'))
    await Promise.all(clears)
    expect((await confirmed).readable).toBe('the next user’s create')
    await leader.flush()
    expect(server.events().filter((e) => e.readable === 'the next user’s create')).toHaveLength(1)
  })

  it('leaves no copy of a follower’s aborted create for the next page load to send (bug: the follower’s copy landed after the wipe, and the next user’s session sent it)', async () => {
    const { server, leader, follower, storage } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    // The leader's tab logs out; the follower makes a create before the clear reaches it.
    const clearing = leader.clear()
    const { confirmed } = follower.create(makeSeed('the last user’s create'))
    await expect(confirmed).rejects.toMatchObject({ kind: 'aborted' })
    await clearing
    await follower.dispose()
    await leader.dispose()
    const next = makeStore(server, { storage, tabs: false })
    await next.ready
    await next.flush()
    expect(next.outbox).toEqual([])
    expect(server.requests.count('create')).toBe(0)
  })

  it('aborts a follower’s create made just before the logout: it is neither sent under the next user nor shown (bug: the leader queued it when it arrived after the clear)', async () => {
    const { server, leader, follower } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)

    // The follower's create is on the channel when the leader's tab logs out.
    const { confirmed } = follower.create(makeSeed('the last user’s create'))
    const outcome = confirmed.then(() => 'resolved', (error: { kind: string }) => error.kind)
    await leader.clear()
    expect(await outcome).toBe('aborted')
    // The create reached the leader after the clear, and the follower would post it again with each state.
    await leader.refresh()
    await follower.refresh()
    await leader.flush()
    expect(server.requests.count('create')).toBe(0)
    expect(leader.outbox).toEqual([])
    expect(follower.events.map((e) => e.readable)).toEqual(leader.events.map((e) => e.readable))
    expect(follower.events.some((e) => e.readable === 'the last user’s create')).toBe(false)
  })

  it('sends the next user’s mutations made in a follower after the logout, and in a tab opened after it', async () => {
    const { server, hub, storage, leader, follower } = await twoTabs()
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    await leader.clear()
    await until(follower.events$, (events) => events.length === 0)

    const fromFollower = follower.create(makeSeed('the next user’s create'))
    // A tab opened after the logout creates before it has heard from the leader.
    const opened = makeStore(server, { storage, tabs: hub.join() })
    const fromOpened = opened.create(makeSeed('made as the tab opened'))
    await expect(fromFollower.confirmed).resolves.toBeDefined()
    await expect(fromOpened.confirmed).resolves.toBeDefined()
    expect(server.requests.count('create')).toBe(2)
    await leader.refresh()
    await until(opened.events$, (events) => events.length === 4)
  })
})

describe('a follower’s view of the leader’s state', () => {
  it('shows nothing new in a follower when the leader’s polls change nothing while a mutation is pending', async () => {
    const { server, leader, follower } = await twoTabs(0, { leaderOptions: { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 5 } } })
    await leader.refresh()
    await until(follower.events$, (events) => events.length === 2)
    server.faults.add('create', { type: 'status', status: 500 }, { times: Infinity })
    leader.create(makeSeed('pending while the server fails'))
    await until(follower.outbox$, (outbox) => outbox[0]?.state === 'waiting')
    const seen = { events: 0, changes: 0, outbox: 0 }
    const subscriptions = [
      follower.events$.subscribe(() => seen.events++),
      follower.changes$.subscribe(() => seen.changes++),
      follower.outbox$.subscribe(() => seen.outbox++),
    ]
    for (let i = 0; i < 5; i++) {
      await leader.refresh()
      await until(follower.status$, (status) => status.lastSyncedAt === leader.status.lastSyncedAt)
    }
    for (const subscription of subscriptions) subscription.unsubscribe()
    // The current value each subscription got at once, and nothing after.
    expect(seen).toEqual({ events: 1, changes: 0, outbox: 1 })
  })

  it('settles a follower’s create when the leader’s message with the settlement arrives on top of a state the follower no longer has', async () => {
    const held = holdable()
    const { leader, follower, online } = await twoTabs(0, { leaderOnline: false, wrapFollowerTabs: held.wrap })
    const { event, confirmed } = follower.create(makeSeed('from the follower'))
    // The follower holds the leader's state with its create before anything is held.
    await held.received((message) => message.type === 'state' && message.records.length === 1)
    held.hold()
    // A state the follower will never get: the one after it no longer applies.
    leader.create(makeSeed('from the leader'))
    online.set(true)
    await until(leader.outbox$, (outbox) => outbox.length === 0)
    held.release((message, index) => message.type === 'state' && index === 0)
    expect((await confirmed).id).toBe(event.id)
    await until(follower.events$, (events) => events.some((e) => e.id === event.id))
  })
})
