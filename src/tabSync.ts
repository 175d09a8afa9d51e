import type { SignalSource } from './environment'
import type { WorkstreamSyncError } from './errors'
import type { MutationRecord } from './mutation'
import type { SyncAction, SyncState } from './state'
import { TabClears, type TabClearsHost } from './tabClears'
import { TabFollower, type TabFollowerHost } from './tabFollower'
import { TabLeader, type TabLeaderHost } from './tabLeader'
import { TabRefreshes, type TabRefreshesHost } from './tabRefreshes'
import type { TabCoordinator, TabMessage } from './tabs'
import { TabVisibility, type TabVisibilityHost } from './tabVisibility'

/** What the store gives each part of its several-tabs protocol. */
export interface TabSyncHost extends TabVisibilityHost, TabLeaderHost, TabFollowerHost, TabClearsHost, TabRefreshesHost {}

/**
 * The message side of several tabs: the leader broadcasts its state as deltas, followers apply
 * them and forward their own mutations, which stay durable in storage until the leader has them.
 * It routes each message to the part of the protocol it belongs to (TabLeader, TabFollower,
 * TabClears, TabRefreshes, TabVisibility), and tells them when this tab leads or follows.
 */
export class TabSync {
  readonly #tabs: TabCoordinator
  readonly #host: TabSyncHost
  readonly #offs: Array<() => void>
  #disposed = false
  /** Follower: the leader whose state it last applied; a new leader is told this page's visibility. */
  #leaderId: string | undefined
  /** Counts this tab's refreshes and clears, to name them. */
  #requestCount = 0
  readonly #visibility: TabVisibility
  readonly #clears: TabClears
  readonly #leader: TabLeader
  readonly #follower: TabFollower
  readonly #refreshes: TabRefreshes

  constructor(tabs: TabCoordinator, host: TabSyncHost) {
    this.#tabs = tabs
    this.#host = host
    this.#visibility = new TabVisibility(tabs, host)
    const nextId = (): string => `${host.id}:${++this.#requestCount}`
    this.#clears = new TabClears(tabs, host, nextId, () => this.#follower.abortForwarded())
    this.#leader = new TabLeader(tabs, host, this.#clears)
    this.#follower = new TabFollower(tabs, host, this.#clears, this.#visibility)
    this.#refreshes = new TabRefreshes(tabs, host, nextId, () => this.#leader.version)
    this.#offs = [host.visible.subscribe((visible) => this.#visibility.onVisibility(visible))]
  }

  /**
   * Starts listening to the other tabs. Called once the host is whole: a coordinator may hand a
   * new listener the messages it holds at once, and answering them reaches the host's parts.
   */
  listen(): void {
    const tabs = this.#tabs
    this.#offs.push(
      tabs.onMessage((message) => this.#receive(message)),
      tabs.onLeadership((isLeader) => this.#onLeadership(isLeader)),
    )
  }

  /** Whether the leader's poller may poll: see TabVisibility. */
  get pollVisible(): SignalSource {
    return this.#visibility.pollVisible
  }

  /** Follower: asks the leader for its whole state: see TabFollower. */
  hello(): void {
    this.#follower.hello()
  }

  /** Follower: hands a new mutation to the leader: see TabFollower. */
  forward(record: MutationRecord): void {
    this.#follower.forward(record)
  }

  /** Follower: has the leader fetch a snapshot: see TabRefreshes. */
  refresh(): Promise<void> {
    return this.#refreshes.refresh()
  }

  command(command: 'retry' | 'discard', mutationId: string): void {
    this.#tabs.post({ type: 'command', from: this.#host.id, command, mutationId })
  }

  /** Clears across tabs: see TabClears. */
  clear(): string {
    return this.#clears.clear()
  }

  /** Follower taking over with a clear unconfirmed: whether storage's cache was written after it; see TabClears. */
  carriedOut(clearedBy: string | undefined): boolean {
    return this.#clears.carriedOut(clearedBy)
  }

  /** Taking over: carries out a clear storage names that this tab never heard of; see TabClears. */
  clearedUnheard(id: string): boolean {
    return this.#clears.clearedUnheard(id)
  }

  /** The latest clear this tab knows of, which a takeover that wipes storage carries out. */
  get lastClear(): string | undefined {
    return this.#clears.last ?? undefined
  }

  /** Follower: whether a clear is still unconfirmed: see TabClears. */
  get clearing(): boolean {
    return this.#clears.clearing
  }

  /** Leader: broadcasts what changed between two states (once `landing` has, if given): see TabLeader. */
  broadcast(previous: SyncState, next: SyncState, action: SyncAction, landing?: Promise<void>): void {
    this.#leader.broadcast(previous, next, action, landing)
  }

  /** Leader: broadcasts its state again when what it says beside it changed: see TabLeader. */
  restate(): void {
    this.#leader.restate()
  }

  /** Leader: forgets what it broadcast, at a takeover: see TabLeader. */
  resetLeader(): void {
    this.#leader.reset()
  }

  /**
   * Leader, once it has read storage (at start, or to take over): tells the followers, which
   * ask for its state. A hello that came earlier, while no tab led or this one was still
   * reading its cache, was not answered.
   */
  lead(): void {
    this.#clears.confirmUnconfirmed()
    this.#tabs.post({ type: 'leader', from: this.#host.id, confirmsClears: true })
  }

  dispose(): void {
    if (this.#disposed) return
    this.#visibility.dispose()
    this.#clears.dispose()
    this.#disposed = true
    for (const off of this.#offs) off()
    this.#refreshes.dispose()
  }

  #receive(message: TabMessage): void {
    if (message.from === this.#host.id) return
    if (this.#tabs.isLeader) {
      if (message.type === 'hello') this.#leader.hello()
      else if (message.type === 'mutation') this.#leader.forwarded(message)
      else if (message.type === 'command') this.#leader.command(message.command, message.mutationId)
      else if (message.type === 'clear') this.#clears.carryOut(message.id, message.from)
      else if (message.type === 'visibility') this.#visibility.followerSaid(message.from, message.visible === true)
      else if (message.type === 'refresh') this.#refreshes.refreshFor(message.from, message.id)
      return
    }
    if (message.type === 'refreshed') {
      this.#refreshes.answered(message)
      this.#refreshes.settle(this.#leaderId, this.#follower.version)
      return
    }
    if (message.type === 'leader') {
      // A leader says so when it starts to lead: a tab that leads again is new to what happened meanwhile.
      this.#clears.leaderStarted()
      this.#follows(message.from, true)
      this.hello()
      return
    }
    if (message.type === 'clear') {
      this.#clears.heard(message.id, message.from)
      return
    }
    if (message.type === 'cleared') {
      this.#clears.confirmed(message.id, message.olderFrom)
      return
    }
    if (message.type !== 'state') return
    // A state the leader sent before it carried out a clear would show the last user's data again.
    if (message.confirmsClears && this.#clears.refuses(message)) return
    // Noted before the clears are let go: a leader new to this tab hears them (it may have taken
    // over from one that never carried them out).
    this.#follows(message.from, false)
    this.#clears.dropUnconfirmed()
    this.#follower.follow(message)
    this.#refreshes.settle(this.#leaderId, this.#follower.version)
  }

  /** Follower: `leader` leads; a new leader (or one that leads again, `anew`) is told what it needs to know. */
  #follows(leader: string, anew: boolean): void {
    if (leader === this.#leaderId && !anew) return
    this.#leaderId = leader
    // A new leader starts with no visible followers, and knows nothing of the refreshes asked of the old one.
    this.#visibility.announce()
    this.#refreshes.askAgain(leader)
    this.#clears.postUnconfirmed()
  }

  #onLeadership(isLeader: boolean): void {
    // What a leader said of its snapshots is stale once this tab leads, or follows another.
    this.#follower.forgetLeaderSyncError()
    if (!isLeader) {
      this.#leaderId = undefined
      this.#refreshes.stopLeading()
    } else {
      this.#refreshes.refreshHere()
    }
    this.#visibility.onLeadership(isLeader)
  }

  /** Follower: whether the leader last said its storage failed: see TabFollower. */
  get leaderStorageFailed(): boolean {
    return this.#follower.leaderStorageFailed
  }

  /** Follower: the leader's last snapshot error: see TabFollower. */
  get leaderSyncError(): WorkstreamSyncError | undefined {
    return this.#follower.leaderSyncError
  }

  /** Follower: the mutations it saw leave the leader's outbox: see TabFollower. */
  get endedIds(): readonly string[] {
    return this.#follower.endedIds
  }
}
