import type { WorkstreamEvent } from './models'
import type { MutationRecord, Settlement } from './mutation'
import type { SyncAction, SyncState } from './state'
import type { TabCoordinator, TabMessage } from './tabs'
import { changedIds, snapshotOf, type ServerSnapshot } from './view'

export interface TabSyncHost {
  readonly id: string
  state(): SyncState
  dispatch(action: SyncAction): void
  /** Settles this tab's callers' promises with what the leader reports. */
  settle(settled: readonly Settlement[]): void
  retry(mutationId: string): void
  discard(mutationId: string): void
}

/** How many settled mutation ids the leader remembers, to ignore a follower's late re-post. */
const SETTLED_MEMORY = 1000

/**
 * The message side of several tabs: the leader broadcasts its state as deltas, followers apply
 * them and forward their own mutations, which stay durable in storage until the leader has them.
 */
export class TabSync {
  readonly #tabs: TabCoordinator
  readonly #host: TabSyncHost
  readonly #off: () => void
  /** Leader: the server snapshot last broadcast, and the broadcast's version. */
  #sentServer: ServerSnapshot | undefined
  #version = 0
  readonly #settledIds: string[] = []
  /** Follower: the version of the leader's state it holds (-1: none, ask for all). */
  #followedVersion = -1
  /** Follower: its mutations the leader has not acknowledged yet. */
  readonly #unacknowledged = new Map<string, MutationRecord>()

  constructor(tabs: TabCoordinator, host: TabSyncHost) {
    this.#tabs = tabs
    this.#host = host
    this.#off = tabs.onMessage((message) => this.#receive(message))
  }

  /** Follower: asks the leader for its whole state (at start, and after a missed delta). */
  hello(): void {
    this.#followedVersion = -1
    this.#tabs.post({ type: 'hello', from: this.#host.id })
  }

  /** Follower: hands a new mutation to the leader. */
  forward(record: MutationRecord): void {
    this.#unacknowledged.set(record.id, record)
    this.#tabs.post({ type: 'mutation', from: this.#host.id, record })
  }

  command(command: 'retry' | 'discard', mutationId: string): void {
    this.#tabs.post({ type: 'command', from: this.#host.id, command, mutationId })
  }

  /** Leader: broadcasts what changed between two states. */
  broadcast(previous: SyncState, next: SyncState): void {
    for (const settlement of next.settled) this.#remember(settlement.mutationId)
    const foreign = next.settled.filter((s) => s.origin !== undefined && s.origin !== this.#host.id)
    if (next.server === previous.server && next.records === previous.records && next.lastSyncedAt === previous.lastSyncedAt && foreign.length === 0) return
    this.#post(next, foreign, false)
  }

  /** Leader: forgets what it broadcast, so that the next broadcast after a takeover is complete. */
  resetLeader(): void {
    this.#sentServer = undefined
  }

  dispose(): void {
    this.#off()
  }

  #post(state: SyncState, settled: readonly Settlement[], full: boolean): void {
    const before = this.#sentServer
    let server: Extract<TabMessage, { type: 'state' }>['server']
    if (full || before === undefined) {
      server = { full: state.server.events }
    } else {
      const upserted: WorkstreamEvent[] = []
      const removed: string[] = []
      const { byId } = state.server
      const ids = changedIds(before, state.server)
      if (ids !== undefined) {
        for (const id of ids) {
          const event = byId.get(id)
          if (event === undefined) removed.push(id)
          else upserted.push(event)
        }
      } else {
        for (const [id, event] of byId) if (before.byId.get(id) !== event) upserted.push(event)
        for (const id of before.byId.keys()) if (!byId.has(id)) removed.push(id)
      }
      server = { upserted, removed, base: this.#version }
    }
    this.#sentServer = state.server
    this.#version++
    this.#tabs.post({ type: 'state', from: this.#host.id, server, version: this.#version, records: state.records, lastSyncedAt: state.lastSyncedAt, settled })
  }

  #receive(message: TabMessage): void {
    if (message.from === this.#host.id) return
    if (this.#tabs.isLeader) {
      if (message.type === 'hello') this.#post(this.#host.state(), [], true)
      else if (message.type === 'mutation' && !this.#settledIds.includes(message.record.id)) this.#host.dispatch({ type: 'mutationQueued', record: message.record })
      else if (message.type === 'command') this.#command(message.command, message.mutationId)
      return
    }
    if (message.type === 'state') this.#follow(message)
  }

  #command(command: 'retry' | 'discard', mutationId: string): void {
    const record = this.#host.state().records.find((r) => r.id === mutationId)
    if (record?.state !== 'dead') return
    if (command === 'retry') this.#host.retry(mutationId)
    else this.#host.discard(mutationId)
  }

  #follow(message: Extract<TabMessage, { type: 'state' }>): void {
    const { server } = message
    let snapshot: ServerSnapshot
    if ('full' in server) {
      snapshot = snapshotOf(server.full)
    } else if (server.base !== this.#followedVersion) {
      // A delta on top of a state this tab does not have: ask for everything instead.
      this.hello()
      return
    } else if (server.upserted.length === 0 && server.removed.length === 0) {
      snapshot = this.#host.state().server
    } else {
      const base = this.#host.state().server
      const byId = new Map(base.byId)
      for (const id of server.removed) byId.delete(id)
      for (const event of server.upserted) byId.set(event.id, event)
      const ids = [...server.removed, ...server.upserted.map((e) => e.id)]
      snapshot = { events: [...byId.values()], byId, stamp: {}, ...(base.stamp ? { changedFrom: { from: base.stamp, ids } } : {}) }
    }
    this.#followedVersion = message.version
    const mine = message.settled.filter((s) => s.origin === this.#host.id)
    for (const settlement of mine) this.#unacknowledged.delete(settlement.mutationId)
    const leaderIds = new Set(message.records.map((r) => r.id))
    const waiting: MutationRecord[] = []
    for (const [id, record] of this.#unacknowledged) {
      if (leaderIds.has(id)) this.#unacknowledged.delete(id)
      else waiting.push(record)
    }
    // The leader may have started after this mutation was posted: post it again (it ignores duplicates).
    for (const record of waiting) this.#tabs.post({ type: 'mutation', from: this.#host.id, record })
    this.#host.dispatch({ type: 'leaderState', server: snapshot, records: [...message.records, ...waiting], lastSyncedAt: message.lastSyncedAt })
    this.#host.settle(mine)
  }

  #remember(mutationId: string): void {
    this.#settledIds.push(mutationId)
    if (this.#settledIds.length > SETTLED_MEMORY) this.#settledIds.shift()
  }
}
