import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../src/storage'
import { makeEvent, makeSeed } from './support/events'
import { makeStore, startServer, until } from './support/harness'
import { memoryTabs } from './support/memoryTabs'

/*
 * On a server that ignores client ids, a create whose answer was lost is found by fingerprint in
 * a snapshot under the server's id, and the leader drops its record in that same step: only the
 * leader's renames know that the client id now names the server's event. A follower that deletes
 * the event by the client id (the id its view showed, or the one create() gave in another tab)
 * must hide the server's event too: the leader's states carry the renames (3-tab soak seed 127).
 */
/**
 * A leader and a follower tab on a server that ignores client ids, and a create made in the
 * leader with the client id 'caller-1' that committed on the server and lost its answer: it is
 * ambiguous in the leader, and the follower has heard so.
 */
async function ambiguousCreateInLeader() {
  const server = await startServer({ events: [makeEvent('a', 1)], honourInternalIdentifier: false })
  const storage = memoryStorage()
  const hub = memoryTabs()
  const leader = makeStore(server, { storage, tabs: hub.join(), ambiguityGraceMs: 50 })
  await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
  const follower = makeStore(server, { storage, tabs: hub.join(), ambiguityGraceMs: 50 })
  await follower.ready
  await leader.refresh()
  server.faults.add('create', { type: 'drop-after-commit' })
  leader.create(makeSeed('chosen id', { internal_identifier: 'caller-1' }))
  await until(leader.outbox$, (o) => o[0]?.kind === 'create' && o[0].state !== 'sending' && o[0].state !== 'queued')
  await until(follower.outbox$, (o) => o.some((m) => m.eventId === 'caller-1' && m.state !== 'sending' && m.state !== 'queued'))
  return { server, leader, follower }
}

describe('a follower deletes another tab’s create by the caller’s id (server ignores client ids)', () => {
  it('keeps the event hidden when a leader state sent before the delete names it by the server’s id', async () => {
    const { server, leader, follower } = await ambiguousCreateInLeader()
    expect(follower.get('caller-1')?.readable).toBe('chosen id')
    const serverId = server.events().find((e) => e.readable === 'chosen id')!.id
    expect(serverId).not.toBe('caller-1')

    // The leader polls: the snapshot finds the create by fingerprint and drops its record. At the
    // moment the leader's outbox empties, the follower (whose copy still shows 'caller-1')
    // deletes it by that id: the leader's state for that snapshot is already on its way.
    const shownAgain: string[] = []
    const sub = leader.outbox$.subscribe((o) => {
      if (o.length === 0 && follower.get('caller-1')) {
        void follower.delete('caller-1')
        follower.changes$.subscribe(({ added }) => {
          for (const e of added) if (e.readable === 'chosen id') shownAgain.push(e.id)
        })
      }
    })
    await leader.refresh()
    sub.unsubscribe()
    await until(leader.outbox$, (o) => o.length === 0)
    await leader.flush()
    await leader.refresh()
    await until(follower.outbox$, (o) => o.length === 0)
    // On the server the delete went to the right event (the leader maps caller-1 to its rename).
    expect(server.events().map((e) => e.readable)).toEqual(['event a'])
    // In the follower, the event it deleted must never have shown again.
    expect(shownAgain).toEqual([])
  })

  it('hides the event when the follower deletes it by the caller’s id after the leader found it by fingerprint', async () => {
    const { server, leader, follower } = await ambiguousCreateInLeader()
    // The leader's poll finds the create by fingerprint; the follower follows (its view shows the server's id).
    await leader.refresh()
    await until(follower.outbox$, (o) => o.length === 0)
    const serverId = server.events().find((e) => e.readable === 'chosen id')!.id
    if (follower.get(serverId) === undefined) await until(follower.changes$, () => follower.get(serverId) !== undefined)
    // The app deletes it in the follower by the id create() returned in the leader tab (README: a
    // delete another tab makes by the client's id goes to the server's id).
    const deleted = follower.delete('caller-1')
    expect(follower.events.map((e) => e.readable)).toEqual(['event a'])
    await deleted
    expect(server.events().map((e) => e.readable)).toEqual(['event a'])
  })
})
