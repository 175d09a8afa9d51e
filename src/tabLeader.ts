import { jsonEqual } from './equal'
import type { WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import { plainError, type MutationError, type MutationFailure, type MutationRecord, type Settlement } from './mutation'
import { rememberId } from './rememberId'
import type { SyncAction, SyncState } from './state'
import type { TabClears } from './tabClears'
import type { TabCoordinator, TabMessage } from './tabs'
import { changedIds, type ServerSnapshot } from './view'

export interface TabLeaderHost {
  readonly id: string
  state(): SyncState
  dispatch(action: SyncAction): void
  retry(mutationId: string): void
  discard(mutationId: string): void
  /** Whether this store's storage failed and its cache lives in memory. */
  storageFailed(): boolean
  /** Whether the store has read its cache: a leader answers hellos only then, and says so. */
  hydrated(): boolean
  /** The leader's last snapshot error, until a snapshot succeeds. */
  syncError(): WorkstreamSyncError | undefined
}

type MutationFailed = Extract<SyncAction, { type: 'mutationFailed' }>

/**
 * The leader's side of its state: it broadcasts the state to the followers as deltas, with what
 * it says beside it, and takes the mutations and commands they forward.
 */
export class TabLeader {
  readonly #tabs: TabCoordinator
  readonly #host: TabLeaderHost
  /** The last clear this tab carried out, which its states carry and forwarded mutations must know of. */
  readonly #clears: Pick<TabClears, 'last'>
  /** Leader: the server snapshot last broadcast, and the broadcast's version. */
  #sentServer: ServerSnapshot | undefined
  #version = 0
  /** Leader: the mutations it settled (the latest, up to a thousand), to ignore a follower's late re-post. */
  readonly #settledIds: string[] = []
  /** Leader: other tabs' mutations it settled before it had read its cache, for its first state. */
  readonly #heldSettled: Settlement[] = []
  /**
   * Leader: writes out that the states must wait for (see broadcast), how many, and whether a
   * state (`full`: a whole one) is held until they land, with the failed sends it would have told.
   */
  #landing = 0
  #held: { full: boolean } | undefined
  readonly #heldFailed: MutationFailure[] = []
  /** Leader: what its last state message said beside the state. */
  #sentStorageFailed = false
  #sentSyncError: MutationError | undefined
  /** Leader: the renames of creates (client id to server id) its states have told, up to the last. */
  #sentRenamed: ReadonlyMap<string, string> | undefined

  constructor(tabs: TabCoordinator, host: TabLeaderHost, clears: Pick<TabClears, 'last'>) {
    this.#tabs = tabs
    this.#host = host
    this.#clears = clears
  }

  /** Leader: the version of the state it broadcast last (or holds, which is the state an answer to a refresh must wait for). */
  get version(): number {
    return this.#version + (this.#held ? 1 : 0)
  }

  /**
   * Leader: broadcasts what changed between two states. Until it has read its cache it sends no
   * state (its server snapshot is still empty, and would blank every follower's list): the
   * 'leader' message lead() posts then has the followers ask for all of it. The other tabs'
   * mutations settled meanwhile go with the first state it sends. With `landing`, that state and
   * every one after it wait until it has landed (a write that storage must hold before the other
   * tabs hear of the change: see Leadership.publish), and the latest goes then.
   */
  broadcast(previous: SyncState, next: SyncState, action: SyncAction, landing?: Promise<void>): void {
    if (landing) this.#holdUntil(landing)
    for (const settlement of next.settled) rememberId(this.#settledIds, settlement.mutationId)
    const foreign = next.settled.filter((s) => s.origin !== undefined && s.origin !== this.#host.id)
    if (!this.#host.hydrated()) {
      this.#heldSettled.push(...foreign)
      return
    }
    if (next.server === previous.server && next.records === previous.records && next.lastSyncedAt === previous.lastSyncedAt && next.renamed === previous.renamed && foreign.length === 0) return
    this.#post(next, foreign, false, action.type === 'mutationFailed' ? this.#foreignFailure(action, previous) : [])
  }

  /**
   * Leader: broadcasts its state again though it did not change, when what it says beside it did:
   * its storage failed, or its last snapshot failed or succeeded again.
   */
  restate(): void {
    if (this.#sentServer === undefined) return
    if (this.#host.storageFailed() === this.#sentStorageFailed && jsonEqual(plainErrorOf(this.#host.syncError()), this.#sentSyncError)) return
    this.#post(this.#host.state(), [], false)
  }

  /** Leader: the failed send of another tab's mutation, for that tab to report. */
  #foreignFailure(action: MutationFailed, previous: SyncState): MutationFailure[] {
    const origin = previous.records.find((r) => r.id === action.id)?.origin
    if (origin === undefined || origin === this.#host.id) return []
    const { id, type: _, ...failure } = action
    return [{ mutationId: id, origin, ...failure }]
  }

  /** Leader: forgets what it broadcast, so that the next broadcast after a takeover is complete. */
  reset(): void {
    this.#sentServer = undefined
    this.#sentRenamed = undefined
  }

  /** Leader: a follower asked for the whole state (it is sent once this tab has read its cache). */
  hello(): void {
    if (this.#host.hydrated()) this.#post(this.#host.state(), [], true)
  }

  /** States wait until `landing` has landed, then the latest goes, if one was held. */
  #holdUntil(landing: Promise<void>): void {
    this.#landing++
    void landing.then(() => {
      if (--this.#landing > 0 || !this.#held) return
      const { full } = this.#held
      this.#held = undefined
      // A tab that no longer leads says nothing: the followers would take its state for the leader's.
      if (this.#tabs.isLeader && this.#host.hydrated()) this.#post(this.#host.state(), [], full, this.#heldFailed.splice(0))
    })
  }

  #post(state: SyncState, newlySettled: readonly Settlement[], full: boolean, failed: readonly MutationFailure[] = []): void {
    if (this.#landing > 0) {
      this.#heldSettled.push(...newlySettled)
      this.#heldFailed.push(...failed)
      this.#held = { full: full || this.#held?.full === true }
      return
    }
    const settled = this.#heldSettled.length === 0 ? newlySettled : [...this.#heldSettled.splice(0), ...newlySettled]
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
    const sentRenamed = full || before === undefined ? undefined : this.#sentRenamed
    const renames: Array<readonly [string, string]> = []
    if (state.renamed !== sentRenamed) for (const [clientId, serverId] of state.renamed) if (sentRenamed?.get(clientId) !== serverId) renames.push([clientId, serverId])
    this.#sentRenamed = state.renamed
    this.#sentServer = state.server
    this.#version++
    this.#sentStorageFailed = this.#host.storageFailed()
    this.#sentSyncError = plainErrorOf(this.#host.syncError())
    const beside = { lastClear: this.#clears.last, ...(this.#sentStorageFailed ? { storageFailed: true } : {}), ...(this.#sentSyncError ? { syncError: this.#sentSyncError } : {}), ...(failed.length ? { failed } : {}), ...(renames.length ? { renames } : {}) }
    this.#tabs.post({ type: 'state', from: this.#host.id, confirmsClears: true, confirmsOlderClears: true, server, version: this.#version, records: state.records, lastSyncedAt: state.lastSyncedAt, settled, ...beside })
  }

  /**
   * A follower's mutation, queued here. Its seqs count the follower's snapshots, not this tab's:
   * any snapshot this tab requests from now on started after it was queued.
   */
  #queueForwarded(record: MutationRecord): void {
    this.#host.dispatch({ type: 'mutationQueued', record: { ...record, queuedSeq: this.#host.state().requestedSeq } })
  }

  /**
   * Leader: a follower's mutation, queued unless it was settled already, or was posted before its
   * tab heard of the last clear this tab carried out (the last user's, which that tab aborts as it
   * hears of the clear). A tab that knew of other clears (new, or one this tab has not carried out
   * yet) posts it again once it follows the state this tab sends it now.
   */
  forwarded(message: Extract<TabMessage, { type: 'mutation' }>): void {
    if (this.#settledIds.includes(message.record.id)) return
    if (message.after === undefined || message.after === this.#clears.last) this.#queueForwarded(message.record)
    else if (this.#host.hydrated()) this.#post(this.#host.state(), [], false)
  }

  /** Leader: a follower's retry or discard of a dead letter. */
  command(command: 'retry' | 'discard', mutationId: string): void {
    const record = this.#host.state().records.find((r) => r.id === mutationId)
    if (record?.state !== 'dead') return
    if (command === 'retry') this.#host.retry(mutationId)
    else this.#host.discard(mutationId)
  }
}

function plainErrorOf(error: WorkstreamSyncError | undefined): MutationError | undefined {
  return error && plainError(error)
}
