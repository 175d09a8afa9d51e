import { setFlagsFromString } from 'node:v8'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { generateSampleEvents } from '../src/server'
import { indexedDbStorage } from '../src/storage'
import type { WorkstreamEvent } from '../src/index'
import { makeStore, startServer, until } from './support/harness'
import { memoryTabs } from './support/memoryTabs'

// V8's own test of an array's elements, which JavaScript cannot see otherwise.
setFlagsFromString('--allow-natives-syntax')
const holdsUnboxedNumbers = new Function('array', 'return %HasDoubleElements(array)') as (array: unknown) => boolean

/** The events whose embedding vector is an array of boxed numbers (24 bytes each instead of 8). */
function boxedVectors(events: readonly WorkstreamEvent[]): string[] {
  return events.filter((e) => e.workstreamEventsVector !== undefined && !holdsUnboxedNumbers(e.workstreamEventsVector)).map((e) => e.id)
}

describe('memory an event takes in the store', () => {
  it('keeps embedding vectors as JSON.parse makes them, through a sync, a change and a reload', async () => {
    const events = generateSampleEvents({ count: 1500, seed: 11 })
    const withVectors = events.filter((e) => (e.workstreamEventsVector?.length ?? 0) > 8)
    expect(withVectors.length).toBeGreaterThan(1000)
    const server = await startServer({ events })
    const storage = indexedDbStorage({ name: 'event-memory', indexedDB: new IDBFactory() })
    const store = makeStore(server, { storage })
    await store.refresh()
    expect(store.events).toHaveLength(1500)
    expect(boxedVectors(store.events)).toEqual([])

    // A changed vector is compared with the one the store holds, element by element.
    const changed = withVectors[3]!
    const vector = [...changed.workstreamEventsVector!]
    vector[vector.length - 1] = vector.at(-1)! + 0.5
    server.update(changed.id, { workstreamEventsVector: vector })
    await store.refresh()
    expect(store.get(changed.id)?.workstreamEventsVector).toEqual(vector)
    expect(boxedVectors(store.events)).toEqual([])
    await store.dispose()

    const reloaded = makeStore(server, { storage })
    await reloaded.ready
    expect(reloaded.events).toHaveLength(1500)
    expect(boxedVectors(reloaded.events)).toEqual([])
    await reloaded.dispose()
  })
})

describe('memory an event takes in a follower tab', () => {
  it('keeps embedding vectors unboxed, though the channel hands them over as boxed numbers', async () => {
    const events = generateSampleEvents({ count: 200, seed: 12 })
    const server = await startServer({ events })
    const hub = memoryTabs()
    const leader = makeStore(server, { tabs: hub.join() })
    await until(leader.status$, (s) => s.isLeader && s.phase !== 'hydrating')
    const follower = makeStore(server, { tabs: hub.join() })
    await leader.refresh()
    await until(follower.events$, (list) => list.length === 200)
    expect(boxedVectors(follower.events)).toEqual([])

    const changed = events.find((e) => (e.workstreamEventsVector?.length ?? 0) > 8)!
    const vector = changed.workstreamEventsVector!.map((n) => n / 2)
    server.update(changed.id, { workstreamEventsVector: vector })
    await leader.refresh()
    const seen = await until(follower.events$, (list) => list.find((e) => e.id === changed.id)?.workstreamEventsVector?.[0] === vector[0])
    expect(boxedVectors(seen)).toEqual([])
  })
})
