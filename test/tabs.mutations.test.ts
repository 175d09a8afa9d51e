import { describe, expect, it } from 'vitest'
import { makeSeed } from './support/events'
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
