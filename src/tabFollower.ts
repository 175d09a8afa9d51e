import { jsonEqual } from './equal'
import type { WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import { syncErrorOf, type MutationError, type MutationRecord, type Settlement } from './mutation'
import { readRenames } from './cacheFormat'
import { rename, toServerId } from './naming'
import { rememberId } from './rememberId'
import type { SyncAction, SyncState } from './state'
import type { TabClears } from './tabClears'
import type { TabCoordinator, TabMessage } from './tabs'
import type { TabVisibility } from './tabVisibility'
import { snapshotOf, type ServerSnapshot } from './view'

export interface TabFollowerHost {
  readonly id: string
  state(): SyncState
  dispatch(action: SyncAction): void
  /** Settles this tab's callers' promises with what the leader reports, and drops the copies this tab wrote of those mutations. */
  settle(settled: readonly Settlement[]): void
  /** Follower: reports a failed send of this tab's mutation, as a leader reports its own. */
  reportFailure(failure: MutationFailed, record: MutationRecord | undefined): void
  /** Follower: the leader's snapshot error changed, and with it this tab's status. */
  showStatus(): void
}

type MutationFailed = Extract<SyncAction, { type: 'mutationFailed' }>

/**
 * A follower's side of the leader's state: it applies the leader's state messages (all of it, or
 * a delta on top of the version it holds), keeps what the leader said beside them, and forwards
 * this tab's mutations until the leader's state holds them.
 */
export class TabFollower {
  readonly #tabs: TabCoordinator
  readonly #host: TabFollowerHost
  /** The last clear this tab knows of, which its mutations carry, and which the leader's state updates. */
  readonly #clears: Pick<TabClears, 'last' | 'followLeader'>
  readonly #visibility: Pick<TabVisibility, 'announce'>
  /** Follower: the version of the leader's state it holds (-1: none, ask for all). */
  #followedVersion = -1
  /** Follower: its mutations the leader has not acknowledged yet. */
  readonly #unacknowledged = new Map<string, MutationRecord>()
  #leaderStorageFailed = false
  /** Follower: the leader's last snapshot error, as it said it, and as this tab shows it. */
  #leaderSyncError: { said: MutationError; error: WorkstreamSyncError } | undefined
  /** Follower: the mutations in the leader's last state, and the latest of those that left it since. */
  #leaderRecordIds: ReadonlySet<string> = new Set()
  /** Follower: the leader whose state `#leaderRecordIds` came from: another leader's outbox says nothing of what ended in this one. */
  #leaderRecordsFrom: string | undefined
  readonly #endedIds: string[] = []

  constructor(tabs: TabCoordinator, host: TabFollowerHost, clears: Pick<TabClears, 'last' | 'followLeader'>, visibility: Pick<TabVisibility, 'announce'>) {
    this.#tabs = tabs
    this.#host = host
    this.#clears = clears
    this.#visibility = visibility
  }

  /** Follower: asks the leader for its whole state (at start, and after a missed delta). */
  hello(): void {
    this.#followedVersion = -1
    this.#tabs.post({ type: 'hello', from: this.#host.id })
    this.#visibility.announce()
  }

  /** Follower: hands a new mutation to the leader. */
  forward(record: MutationRecord): void {
    this.#unacknowledged.set(record.id, record)
    this.#postMutation(record)
  }

  /** Follower: posts a mutation to the leader, with the last clear this tab knows of, for the leader to refuse one from before its last clear. */
  #postMutation(record: MutationRecord): void {
    this.#tabs.post({ type: 'mutation', from: this.#host.id, record, after: this.#clears.last })
  }

  /** Follower: a clear aborted what it forwarded that the leader has not acknowledged: it is not posted again. */
  abortForwarded(): void {
    this.#unacknowledged.clear()
  }

  /** Follower: the version of the leader's state it holds (-1: none). */
  get version(): number {
    return this.#followedVersion
  }

  /** Follower: whether the leader last said its storage failed, so that its outbox is in its memory only. */
  get leaderStorageFailed(): boolean {
    return this.#leaderStorageFailed
  }

  /** Follower: the leader's last snapshot error, until one succeeds (undefined from a leader of an older version). */
  get leaderSyncError(): WorkstreamSyncError | undefined {
    return this.#leaderSyncError?.error
  }

  /** This tab began to lead, or stopped: what a leader said of its snapshots is stale. */
  forgetLeaderSyncError(): void {
    this.#leaderSyncError = undefined
  }

  /** Follower: takes the leader's snapshot error from its state message; the same error keeps its object. */
  #followSyncError(said: MutationError | undefined): boolean {
    if (jsonEqual(said, this.#leaderSyncError?.said)) return false
    this.#leaderSyncError = said ? { said, error: syncErrorOf(said) } : undefined
    return true
  }

  /** Follower: reports the failed sends of its own mutations (`records` as they were before), then settles what ended. */
  #hearOwn(message: Extract<TabMessage, { type: 'state' }>, records: readonly MutationRecord[], settled: readonly Settlement[]): void {
    for (const { mutationId, origin, ...failure } of message.failed ?? []) {
      if (origin !== this.#host.id) continue
      const record = records.find((r) => r.id === mutationId) ?? message.records.find((r) => r.id === mutationId)
      this.#host.reportFailure({ type: 'mutationFailed', id: mutationId, ...failure }, record)
    }
    this.#host.settle(settled)
  }

  /** Follower: applies a state message of the leader. */
  follow(message: Extract<TabMessage, { type: 'state' }>): void {
    const { server } = message
    this.#leaderStorageFailed = message.storageFailed === true
    const errorChanged = this.#followSyncError(message.syncError)
    this.#clears.followLeader(message.lastClear)
    const before = this.#host.state().records
    // This tab's settlements hold whatever the state: a refused delta must not lose them.
    const mine = message.settled.filter((s) => s.origin === this.#host.id)
    for (const settlement of mine) this.#unacknowledged.delete(settlement.mutationId)
    let snapshot: ServerSnapshot
    if ('full' in server) {
      snapshot = snapshotOf(server.full.map(withUnboxedVector))
    } else if (server.base !== this.#followedVersion) {
      // A delta on top of a state this tab does not have: ask for everything instead.
      this.hello()
      if (errorChanged) this.#host.showStatus()
      this.#hearOwn(message, before, mine)
      return
    } else if (server.upserted.length === 0 && server.removed.length === 0) {
      snapshot = this.#host.state().server
    } else {
      const base = this.#host.state().server
      const byId = new Map(base.byId)
      for (const id of server.removed) byId.delete(id)
      for (const event of server.upserted) byId.set(event.id, withUnboxedVector(event))
      const ids = [...server.removed, ...server.upserted.map((e) => e.id)]
      snapshot = { events: [...byId.values()], byId, stamp: {}, ...(base.stamp ? { changedFrom: { from: base.stamp, ids } } : {}) }
    }
    this.#followedVersion = message.version
    const leaderIds = new Set(message.records.map((r) => r.id))
    const waiting: MutationRecord[] = []
    for (const [id, record] of this.#unacknowledged) {
      if (leaderIds.has(id)) this.#unacknowledged.delete(id)
      else waiting.push(record)
    }
    // The leader may have started after this mutation was posted: post it again (it ignores duplicates).
    for (const record of waiting) this.#postMutation(record)
    // (A new leader that never had a mutation, as storage did not hold it yet when it took over, did not end it.)
    if (message.from === this.#leaderRecordsFrom) for (const id of this.#leaderRecordIds) if (!leaderIds.has(id)) rememberId(this.#endedIds, id)
    this.#leaderRecordIds = leaderIds
    this.#leaderRecordsFrom = message.from
    // A delete of this tab's own create by the id create() gave it, which the leader has not read
    // yet, hides the event by the server's id once the leader says it named the create so.
    const records = [...message.records, ...waiting]
    const renamed = this.#renamedBy(records, mine, before, readRenames(message.renames))
    const own = waiting.map((record) => toServerId(record, records, renamed ?? this.#host.state().renamed))
    this.#host.dispatch({ type: 'leaderState', server: snapshot, records: this.#reuseRecords([...message.records, ...own]), lastSyncedAt: message.lastSyncedAt, ...(renamed ? { renamed } : {}) })
    if (errorChanged) this.#host.showStatus()
    this.#hearOwn(message, before, mine)
  }

  /**
   * The state's renames with those of this tab's creates that the leader confirmed under another
   * id (in `records`, or `settled` once they left them); undefined when none is new. A client id
   * that a create in `records` holds again names that create, not the event of the one before.
   */
  #renamedBy(records: readonly MutationRecord[], settled: readonly Settlement[], before: readonly MutationRecord[], leaderRenames: ReadonlyArray<readonly [string, string]>): Map<string, string> | undefined {
    const known = this.#host.state().renamed
    const held = new Set(records.filter((r) => r.kind === 'create').map((r) => r.eventId))
    let renamed: Map<string, string> | undefined
    const note = (clientId: string | undefined, serverId: string): void => {
      if (clientId === undefined || clientId === serverId || held.has(clientId) || (renamed ?? known).get(clientId) === serverId) return
      renamed ??= new Map(known)
      rename(renamed, clientId, serverId)
    }
    // The leader's renames, of any tab's creates: a delete this tab made by the client id of
    // another tab's create, which a snapshot found under the server's id and dropped in one step
    // (no record of it ever reached this tab as confirmed), goes to the server's id too.
    for (const [clientId, serverId] of leaderRenames) note(clientId, serverId)
    for (const r of records) if (r.kind === 'create' && r.origin === this.#host.id) note(r.seed?.internal_identifier, r.eventId)
    for (const settlement of settled) {
      if (settlement.outcome !== 'resolved' || settlement.event === undefined) continue
      const create = before.find((r) => r.id === settlement.mutationId)
      if (create?.kind === 'create') note(create.seed?.internal_identifier ?? create.eventId, settlement.event.id)
    }
    return renamed
  }

  /**
   * The leader's records as this tab's own objects where they did not change: a message carries
   * copies, and new objects for the same mutations would show every poll as a change of the
   * optimistic events and of the outbox.
   */
  #reuseRecords(records: MutationRecord[]): readonly MutationRecord[] {
    const current = this.#host.state().records
    const byId = new Map(current.map((r) => [r.id, r]))
    const reused = records.map((record) => {
      const own = byId.get(record.id)
      return own !== undefined && jsonEqual(own, record) ? own : record
    })
    return reused.length === current.length && reused.every((r, i) => r === current[i]) ? current : reused
  }

  /** Follower: the mutations it saw leave the leader's outbox (the latest, up to a thousand). */
  get endedIds(): readonly string[] {
    return this.#endedIds
  }
}

/**
 * The channel's structured clone gives an array of numbers back as an array of boxed numbers (V8
 * makes each an object of its own): 24 bytes a number instead of 8, in every follower tab. An
 * event's embedding vector, the model's one such array, is copied by map(), which stores each
 * number unboxed again. A copy, not a change in place: a coordinator may hand over the leader's
 * own objects.
 */
function withUnboxedVector(event: WorkstreamEvent): WorkstreamEvent {
  const vector = event.workstreamEventsVector
  return Array.isArray(vector) ? { ...event, workstreamEventsVector: vector.map((n) => n) } : event
}
