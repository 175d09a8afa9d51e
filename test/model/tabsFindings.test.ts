import { describe, expect, it } from 'vitest'
import { memoryStorage, type SyncStorage } from '../../src/storage'
import { makeSeed, makeEvent } from '../support/events'
import { makeStore, startServer, switchableOnline, until } from '../support/harness'
import { memoryTabs } from '../support/memoryTabs'

/*
 * What the soak of several tabs (test/soak/runTabsSoak.ts) found, replayed deterministically:
 * a takeover worked from the old leader's last broadcast, which may lag behind what it saved.
 */

/** A fetch whose requests reach the server even when aborted (they left the tab before it died), and that keeps them. */
function unabortableFetch() {
  const sent: Array<Promise<unknown>> = []
  const unabortable: typeof fetch = (input, init) => {
    const response = fetch(input, { ...init, signal: null })
    sent.push(response.catch(() => {}))
    return response
  }
  return { fetch: unabortable, allAnswered: () => Promise.all(sent) }
}

async function leaderAndFollower(options: { honourInternalIdentifier: boolean; leaderOnline: boolean; storage?: SyncStorage; leaderFetch?: typeof fetch }) {
  const server = await startServer({ events: [makeEvent('a', 1)], honourInternalIdentifier: options.honourInternalIdentifier })
  const storage = options.storage ?? memoryStorage()
  const hub = memoryTabs()
  const leaderTabs = hub.join()
  const online = switchableOnline(options.leaderOnline)
  const leader = makeStore(server, { storage, tabs: leaderTabs, online, ambiguityGraceMs: 300, timeoutMs: 200, ...(options.leaderFetch ? { fetch: options.leaderFetch } : {}) })
  await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
  const follower = makeStore(server, { storage, tabs: hub.join(), ambiguityGraceMs: 300, timeoutMs: 200 })
  await follower.ready
  return { server, leader, leaderTabs, follower, online }
}

describe('found by the tabs soak: a takeover works from a stale copy of the old leader’s outbox', () => {
  it('does not create an event whose unsent create the leader cancelled just before it closed (bug: the new leader sends it)', async () => {
    const { server, leader, follower } = await leaderAndFollower({ honourInternalIdentifier: true, leaderOnline: false })
    const { event } = leader.create(makeSeed('cancelled'))
    await until(follower.outbox$, (o) => o.some((m) => m.eventId === event.id))
    // The leader (offline, so the create is unsent) cancels it with a delete, and its tab closes
    // before the broadcast of that reaches the follower: the follower leads when it arrives.
    await leader.delete(event.id)
    await leader.dispose()
    await until(follower.status$, (s) => s.isLeader)
    await follower.flush()
    await follower.refresh()
    expect(server.events().map((e) => e.readable)).toEqual(['event a'])
  })

  it('does not send again a create the killed leader had on the wire (bug: a duplicate on a server that ignores client ids)', async () => {
    const killed = unabortableFetch()
    const { server, leader, leaderTabs, follower } = await leaderAndFollower({ honourInternalIdentifier: false, leaderOnline: true, leaderFetch: killed.fetch })
    server.faults.add('create', { type: 'latency', ms: 50 })
    leader.create(makeSeed('sent once'))
    await until(follower.outbox$, (o) => o.length === 1)
    await until(leader.outbox$, (o) => o[0]?.state === 'sending')
    // Killed while the create is on the wire; its "sending" broadcast arrives when the follower leads.
    leaderTabs.crash()
    void leader.dispose()
    await until(follower.status$, (s) => s.isLeader)
    await follower.flush()
    // The killed tab's request has been answered too: both sends, if there were two, have landed.
    await killed.allAnswered()
    await follower.refresh()
    expect(server.events().filter((e) => e.readable === 'sent once')).toHaveLength(1)
  })
})
