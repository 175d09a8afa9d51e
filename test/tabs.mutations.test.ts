import { describe, expect, it } from 'vitest'
import { makeSeed } from './support/events'
import { makeStore, until } from './support/harness'
import { twoTabs } from './support/twoTabs'

/* Mutations made in a follower tab and carried out by the leader. */

describe('a follower’s mutations, in the leader', () => {
  it('resolves a follower’s create whose answer was lost with one snapshot, not one per snapshot the follower took', async () => {
    const { server, follower } = await twoTabs()
    // The follower's own count of snapshots runs far ahead of the leader's.
    for (let i = 0; i < 20; i++) await follower.refresh()
    server.faults.add('create', { type: 'drop-after-commit' })
    const before = server.requests.count('snapshot')
    const { event, confirmed } = follower.create(makeSeed('from the follower'))
    expect((await confirmed).id).toBe(event.id)
    expect(server.requests.count('snapshot') - before).toBeLessThanOrEqual(2)
    expect(server.requests.count('create')).toBe(1)
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
})
