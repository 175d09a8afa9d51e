import type { SignalSource } from './environment'
import { jsonEqual } from './equal'
import { disposedError, toSyncError, WorkstreamSyncError } from './errors'
import type { WorkstreamEvent } from './models'
import { plainError, type MutationError, type MutationFailure, type MutationRecord, type Settlement } from './mutation'
import type { SyncAction, SyncState } from './state'
import type { TabCoordinator, TabMessage } from './tabs'
import { TabVisibility, type TabVisibilityHost } from './tabVisibility'
import { changedIds, snapshotOf, type ServerSnapshot } from './view'

export interface TabSyncHost extends TabVisibilityHost {
  state(): SyncState
  dispatch(action: SyncAction): void
  /** Settles this tab's callers' promises with what the leader reports, and drops the copies this tab wrote of those mutations. */
  settle(settled: readonly Settlement[]): void
  retry(mutationId: string): void
  discard(mutationId: string): void
  /**
   * Clears the view and the outbox, as a follower's clear() asked, and with `storage` the cache
   * (the leader's part: the follower that asked has wiped it, and a follower's wipe could land
   * over the leader's writes from after the clear). `id` names the clear the leader carries out.
   */
  clear(storage: boolean, id?: string): void
  /** Whether this store's storage failed and its cache lives in memory. */
  storageFailed(): boolean
  /** Whether the store has read its cache: a leader answers hellos only then, and says so. */
  hydrated(): boolean
  /** The leader's own refresh(), run for a follower that asked. */
  refresh(): Promise<void>
  /** The leader's last snapshot error, until a snapshot succeeds. */
  syncError(): WorkstreamSyncError | undefined
  /** Follower: reports a failed send of this tab's mutation, as a leader reports its own. */
  reportFailure(failure: MutationFailed, record: MutationRecord | undefined): void
  /** Follower: the leader's snapshot error changed, and with it this tab's status. */
  showStatus(): void
}

type MutationFailed = Extract<SyncAction, { type: 'mutationFailed' }>

type RefreshAnswer = Extract<TabMessage, { type: 'refreshed' }>

/** A follower's refresh() that waits for the leader, and the leader's answer once it came. */
interface PendingRefresh {
  readonly resolve: () => void
  readonly reject: (error: WorkstreamSyncError) => void
  answer?: RefreshAnswer
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
  readonly #offs: Array<() => void>
  #disposed = false
  /** Leader: the server snapshot last broadcast, and the broadcast's version. */
  #sentServer: ServerSnapshot | undefined
  #version = 0
  readonly #settledIds: string[] = []
  /** Leader: other tabs' mutations it settled before it had read its cache, for its first state. */
  readonly #heldSettled: Settlement[] = []
  /** Leader: the follower refreshes it took, to answer each once. */
  readonly #refreshIds: string[] = []
  /** Follower: the version of the leader's state it holds (-1: none, ask for all). */
  #followedVersion = -1
  /** Follower: its mutations the leader has not acknowledged yet. */
  readonly #unacknowledged = new Map<string, MutationRecord>()
  #leaderStorageFailed = false
  /** Follower: the leader's last snapshot error, as it said it, and as this tab shows it. */
  #leaderSyncError: { said: MutationError; error: WorkstreamSyncError } | undefined
  /** Leader: what its last state message said beside the state. */
  #sentStorageFailed = false
  #sentSyncError: MutationError | undefined
  /** Follower: the leader whose state it last applied; a new leader is told this page's visibility. */
  #leaderId: string | undefined
  /** Follower: the mutations in the leader's last state, and the latest of those that left it since. */
  #leaderRecordIds: ReadonlySet<string> = new Set()
  readonly #endedIds: string[] = []
  /** Follower: its refresh() calls, by request id, until this tab holds the state they led to. */
  readonly #refreshes = new Map<string, PendingRefresh>()
  /** Counts this tab's refreshes and clears, to name them. */
  #requestCount = 0
  /**
   * Follower: the clears (this tab's or another follower's) that no leader has confirmed yet.
   * Meanwhile the leader's state may be from before them, and a leader that was closing may have
   * written storage after their wipe.
   */
  readonly #unconfirmedClears = new Set<string>()
  /** The clears a leader carried out (the latest, up to a thousand), to carry out none twice. */
  readonly #clearedIds: string[] = []
  /**
   * The last clear this tab made, heard of, or carried out, or that the leader it follows says it
   * carried out last (null: none). A leader refuses the mutations of a tab that knew of another.
   */
  #lastClear: string | null = null
  readonly #visibility: TabVisibility

  constructor(tabs: TabCoordinator, host: TabSyncHost) {
    this.#tabs = tabs
    this.#host = host
    this.#visibility = new TabVisibility(tabs, host)
    this.#offs = [
      tabs.onMessage((message) => this.#receive(message)),
      tabs.onLeadership((isLeader) => this.#onLeadership(isLeader)),
      host.visible.subscribe((visible) => this.#visibility.onVisibility(visible)),
    ]
  }

  /** Whether the leader's poller may poll: see TabVisibility. */
  get pollVisible(): SignalSource {
    return this.#visibility.pollVisible
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
    this.#tabs.post({ type: 'mutation', from: this.#host.id, record, after: this.#lastClear })
  }

  /**
   * Follower: has the leader fetch a snapshot (this tab never fetches), and resolves once this
   * tab holds the state it led to; rejects with the leader's error. A leader that goes away
   * before it answers is asked again by the next one, or this tab fetches if it becomes the leader.
   */
  refresh(): Promise<void> {
    if (this.#disposed) return Promise.reject(disposedError('refresh()'))
    const id = `${this.#host.id}:${++this.#requestCount}`
    return new Promise<void>((resolve, reject) => {
      this.#refreshes.set(id, { resolve, reject })
      this.#tabs.post({ type: 'refresh', from: this.#host.id, id })
    })
  }

  command(command: 'retry' | 'discard', mutationId: string): void {
    this.#tabs.post({ type: 'command', from: this.#host.id, command, mutationId })
  }

  /**
   * A follower has the leader clear too, before anything this tab queues after the call reaches
   * it. A leader tells the followers it clears (they abort what they forwarded that it has not
   * acknowledged), and confirms it at once: its states from now on are from after the clear.
   */
  clear(): string {
    const id = `${this.#host.id}:${++this.#requestCount}`
    if (this.#tabs.isLeader) {
      this.#lastClear = id
      this.#tabs.post({ type: 'clear', from: this.#host.id, id })
      this.#confirmClear(id)
      return id
    }
    this.#clearing(id)
    this.#tabs.post({ type: 'clear', from: this.#host.id, id })
    return id
  }

  /**
   * Follower taking over with a clear unconfirmed: whether storage's cache was written after the
   * old leader carried out the latest clear this tab knows of (`clearedBy`, from its meta record).
   * Then it holds the next user's data only, and is read; otherwise it is wiped.
   */
  carriedOut(clearedBy: string | undefined): boolean {
    return clearedBy !== undefined && this.clearing && clearedBy === this.#lastClear
  }

  /** The latest clear this tab knows of, which a takeover that wipes storage carries out. */
  get lastClear(): string | undefined {
    return this.#lastClear ?? undefined
  }

  /**
   * Follower: whether a clear is still unconfirmed. A tab that takes over meanwhile wipes storage
   * instead of reading it: the old leader's last writes may have landed after the clear's wipe.
   */
  get clearing(): boolean {
    return this.#unconfirmedClears.size > 0
  }

  /**
   * Leader: broadcasts what changed between two states. Until it has read its cache it sends no
   * state (its server snapshot is still empty, and would blank every follower's list): the
   * 'leader' message lead() posts then has the followers ask for all of it. The other tabs'
   * mutations settled meanwhile go with the first state it sends.
   */
  broadcast(previous: SyncState, next: SyncState, action: SyncAction): void {
    for (const settlement of next.settled) this.#remember(settlement.mutationId)
    const foreign = next.settled.filter((s) => s.origin !== undefined && s.origin !== this.#host.id)
    if (!this.#host.hydrated()) {
      this.#heldSettled.push(...foreign)
      return
    }
    if (next.server === previous.server && next.records === previous.records && next.lastSyncedAt === previous.lastSyncedAt && foreign.length === 0) return
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
  resetLeader(): void {
    this.#sentServer = undefined
  }

  /**
   * Leader, once it has read storage (at start, or to take over): tells the followers, which
   * ask for its state. A hello that came earlier, while no tab led or this one was still
   * reading its cache, was not answered.
   */
  lead(): void {
    // The clears no leader confirmed were carried out by this tab as it read (or wiped) storage.
    for (const id of this.#unconfirmedClears) this.#confirmClear(id)
    this.#unconfirmedClears.clear()
    this.#tabs.post({ type: 'leader', from: this.#host.id, confirmsClears: true })
  }

  dispose(): void {
    if (this.#disposed) return
    this.#visibility.dispose()
    this.#disposed = true
    for (const off of this.#offs) off()
    for (const pending of this.#refreshes.values()) pending.reject(disposedError('refresh()'))
    this.#refreshes.clear()
  }

  #post(state: SyncState, newlySettled: readonly Settlement[], full: boolean, failed: readonly MutationFailure[] = []): void {
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
    this.#sentServer = state.server
    this.#version++
    this.#sentStorageFailed = this.#host.storageFailed()
    this.#sentSyncError = plainErrorOf(this.#host.syncError())
    const beside = { lastClear: this.#lastClear, ...(this.#sentStorageFailed ? { storageFailed: true } : {}), ...(this.#sentSyncError ? { syncError: this.#sentSyncError } : {}), ...(failed.length ? { failed } : {}) }
    this.#tabs.post({ type: 'state', from: this.#host.id, confirmsClears: true, server, version: this.#version, records: state.records, lastSyncedAt: state.lastSyncedAt, settled, ...beside })
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
  #forwarded(message: Extract<TabMessage, { type: 'mutation' }>): void {
    if (this.#settledIds.includes(message.record.id)) return
    if (message.after === undefined || message.after === this.#lastClear) this.#queueForwarded(message.record)
    else if (this.#host.hydrated()) this.#post(this.#host.state(), [], false)
  }

  #receive(message: TabMessage): void {
    if (message.from === this.#host.id) return
    if (this.#tabs.isLeader) {
      if (message.type === 'hello') {
        if (this.#host.hydrated()) this.#post(this.#host.state(), [], true)
      }
      else if (message.type === 'mutation') this.#forwarded(message)
      else if (message.type === 'command') this.#command(message.command, message.mutationId)
      else if (message.type === 'clear') this.#clearFor(message.id)
      else if (message.type === 'visibility') this.#visibility.followerSaid(message.from, message.visible === true)
      else if (message.type === 'refresh') this.#refreshFor(message.from, message.id)
      return
    }
    if (message.type === 'refreshed') {
      const pending = message.to === this.#host.id ? this.#refreshes.get(message.id) : undefined
      if (pending) pending.answer = message
      this.#settleRefreshes()
      return
    }
    if (message.type === 'leader') {
      // A leader says so when it starts to lead: a tab that leads again is new to what happened meanwhile.
      this.#follows(message.from, true)
      this.hello()
      return
    }
    if (message.type === 'clear') {
      // Another follower's logout: this tab shows nothing from before it either, and waits like it
      // (unless the clear came from a tab of an older version, which no leader confirms).
      const { id } = message
      if (id !== undefined && (this.#unconfirmedClears.has(id) || this.#clearedIds.includes(id))) return
      if (id !== undefined && this.#unconfirmedClears.size > 0) {
        // This tab logged out too, and no leader has confirmed it yet: what it holds came after its
        // own clear (the next user's), whichever of the two the leader carries out first. It waits
        // for this one's confirmation as well, and its mutations go to the leader after both.
        this.#unconfirmedClears.add(id)
        return
      }
      if (id !== undefined) this.#clearing(id)
      // What this tab forwarded before is aborted with the rest, whichever version logged out.
      else this.#unacknowledged.clear()
      this.#host.clear(false)
      return
    }
    if (message.type === 'cleared') {
      this.#remember(message.id, this.#clearedIds)
      this.#unconfirmedClears.delete(message.id)
      return
    }
    if (message.type !== 'state') return
    // A state the leader sent before it carried out a clear would show the last user's data again.
    if (this.clearing && message.confirmsClears) return
    // Noted before the clears are let go: a leader new to this tab hears them (it may have taken
    // over from one that never carried them out).
    this.#follows(message.from, false)
    // A leader of an older version never confirms: its states are taken, as that version did.
    this.#unconfirmedClears.clear()
    this.#follow(message)
    this.#settleRefreshes()
  }

  /** Follower: `leader` leads; a new leader (or one that leads again, `anew`) is told what it needs to know. */
  #follows(leader: string, anew: boolean): void {
    if (leader === this.#leaderId && !anew) return
    this.#leaderId = leader
    // A new leader starts with no visible followers, and knows nothing of the refreshes asked of the old one.
    this.#visibility.announce()
    for (const [id, pending] of this.#refreshes) {
      if (pending.answer?.from === leader) continue
      pending.answer = undefined
      this.#tabs.post({ type: 'refresh', from: this.#host.id, id })
    }
    // The leader a clear went to may have been closing: it never carried it out.
    for (const id of this.#unconfirmedClears) this.#tabs.post({ type: 'clear', from: this.#host.id, id })
  }

  /** Follower: a clear is under way. What it forwarded before is gone with it, and must not be posted again. */
  #clearing(id: string): void {
    this.#lastClear = id
    this.#unconfirmedClears.add(id)
    this.#unacknowledged.clear()
  }

  /** Leader: carries out a follower's clear once, and confirms it (a clear without an id, from an older tab, every time). */
  #clearFor(id: string | undefined): void {
    const done = id !== undefined && this.#clearedIds.includes(id)
    // Confirmed first: the followers then take the state it leads to, broadcast as it is carried out.
    if (id !== undefined) this.#confirmClear(id)
    if (done) return
    // A clear from a tab of an older version has no id: one of this tab's own marks it, so that
    // the mutations newer followers posted before they heard of it are refused like any others.
    this.#lastClear = id ?? `${this.#host.id}:${++this.#requestCount}`
    this.#host.clear(true, this.#lastClear)
  }

  #confirmClear(id: string): void {
    this.#remember(id, this.#clearedIds)
    this.#tabs.post({ type: 'cleared', from: this.#host.id, id })
  }

  /** Leader: fetches for a follower's refresh(), and answers after the state it led to was broadcast. */
  #refreshFor(to: string, id: string): void {
    // A follower that had not heard from this leader yet asks again when it does: answered once.
    if (this.#refreshIds.includes(id)) return
    this.#remember(id, this.#refreshIds)
    const answer = (error?: WorkstreamSyncError): void => {
      if (this.#disposed) return
      const carried = error ? { error: plainError(error) } : {}
      this.#tabs.post({ type: 'refreshed', from: this.#host.id, to, id, version: this.#version, ...carried })
    }
    this.#host.refresh().then(
      () => answer(),
      (error: unknown) => answer(toSyncError(error, 'network', 'The leader tab could not fetch a snapshot')),
    )
  }

  /** Follower: settles each answered refresh once this tab holds the answering leader's state. */
  #settleRefreshes(): void {
    for (const [id, { answer, resolve, reject }] of this.#refreshes) {
      if (answer === undefined || answer.from !== this.#leaderId || this.#followedVersion < answer.version) continue
      this.#refreshes.delete(id)
      if (answer.error === undefined) resolve()
      else reject(syncErrorOf(answer.error))
    }
  }

  /** A follower that becomes the leader fetches for its own refresh() calls that are still waiting. */
  #refreshHere(): void {
    const waiting = [...this.#refreshes.values()]
    this.#refreshes.clear()
    if (waiting.length === 0) return
    const done = this.#host.refresh()
    for (const { resolve, reject } of waiting) done.then(resolve, (error: unknown) => reject(toSyncError(error, 'network', 'Fetching a snapshot failed')))
  }

  #onLeadership(isLeader: boolean): void {
    // What a leader said of its snapshots is stale once this tab leads, or follows another.
    this.#leaderSyncError = undefined
    if (!isLeader) {
      this.#leaderId = undefined
      // Refreshes asked of this tab while it led are asked again if it leads again: answered then.
      this.#refreshIds.length = 0
    } else {
      this.#refreshHere()
    }
    this.#visibility.onLeadership(isLeader)
  }

  #command(command: 'retry' | 'discard', mutationId: string): void {
    const record = this.#host.state().records.find((r) => r.id === mutationId)
    if (record?.state !== 'dead') return
    if (command === 'retry') this.#host.retry(mutationId)
    else this.#host.discard(mutationId)
  }

  /** Follower: whether the leader last said its storage failed, so that its outbox is in its memory only. */
  get leaderStorageFailed(): boolean {
    return this.#leaderStorageFailed
  }

  /** Follower: the leader's last snapshot error, until one succeeds (undefined from a leader of an older version). */
  get leaderSyncError(): WorkstreamSyncError | undefined {
    return this.#leaderSyncError?.error
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

  #follow(message: Extract<TabMessage, { type: 'state' }>): void {
    const { server } = message
    this.#leaderStorageFailed = message.storageFailed === true
    const errorChanged = this.#followSyncError(message.syncError)
    // Its mutations go to that leader with the last clear it carried out: posted again, they are taken.
    if (message.lastClear !== undefined) this.#lastClear = message.lastClear
    const before = this.#host.state().records
    // This tab's settlements hold whatever the state: a refused delta must not lose them.
    const mine = message.settled.filter((s) => s.origin === this.#host.id)
    for (const settlement of mine) this.#unacknowledged.delete(settlement.mutationId)
    let snapshot: ServerSnapshot
    if ('full' in server) {
      snapshot = snapshotOf(server.full)
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
      for (const event of server.upserted) byId.set(event.id, event)
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
    for (const id of this.#leaderRecordIds) if (!leaderIds.has(id)) this.#remember(id, this.#endedIds)
    this.#leaderRecordIds = leaderIds
    this.#host.dispatch({ type: 'leaderState', server: snapshot, records: this.#reuseRecords([...message.records, ...waiting]), lastSyncedAt: message.lastSyncedAt })
    if (errorChanged) this.#host.showStatus()
    this.#hearOwn(message, before, mine)
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

  #remember(mutationId: string, ids: string[] = this.#settledIds): void {
    ids.push(mutationId)
    if (ids.length > SETTLED_MEMORY) ids.shift()
  }

  /** Follower: the mutations it saw leave the leader's outbox (the latest, up to a thousand). */
  get endedIds(): readonly string[] {
    return this.#endedIds
  }
}

function plainErrorOf(error: WorkstreamSyncError | undefined): MutationError | undefined {
  return error && plainError(error)
}

/** An error a message carried, as this tab reports it. */
function syncErrorOf(said: MutationError): WorkstreamSyncError {
  return new WorkstreamSyncError(said.kind, said.message, said.status !== undefined ? { status: said.status } : {})
}
