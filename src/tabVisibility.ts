import type { SignalSource, Timers } from './environment'
import type { TabCoordinator } from './tabs'

/** How often a visible follower tells the leader again that it is visible. */
export const VISIBILITY_REFRESH_MS = 15_000

/**
 * How long the leader counts a follower as visible after it last said so: three missed repeats.
 * A follower that hangs or dies without a word keeps a hidden leader polling no longer than this.
 */
export const VISIBILITY_TTL_MS = 45_000

export interface TabVisibilityHost {
  readonly id: string
  /** Whether this store's own page is visible. */
  readonly visible: SignalSource
  readonly timers: Timers
}

/**
 * Which tabs of the app are visible, for the leader's poller: followers tell the leader when
 * their page is shown or hidden, and repeat "visible" while it is, so that a hidden leader keeps
 * polling for a visible follower, and stops once no follower has said so in a while.
 */
export class TabVisibility {
  readonly #tabs: TabCoordinator
  readonly #host: TabVisibilityHost
  #disposed = false
  /** Follower: the timer that repeats "visible" to the leader. */
  #repeatTimer: unknown
  /** Leader: the followers that said they are visible, each with the timer that forgets it. */
  readonly #visibleFollowers = new Map<string, unknown>()
  readonly #pollListeners = new Set<(visible: boolean) => void>()
  /** The value of `pollVisible` its listeners last heard. */
  #pollVisible: boolean

  /**
   * Whether the leader's poller may poll: this page is visible, or this store leads and a
   * follower's page is visible. A hidden leader would otherwise freeze the feed of a visible tab.
   */
  readonly pollVisible: SignalSource = {
    get: () => this.#computePollVisible(),
    subscribe: (listener) => {
      this.#pollListeners.add(listener)
      return () => this.#pollListeners.delete(listener)
    },
  }

  constructor(tabs: TabCoordinator, host: TabVisibilityHost) {
    this.#tabs = tabs
    this.#host = host
    this.#pollVisible = this.#computePollVisible()
    this.#syncRepeat()
  }

  /** Follower: tells the leader that this page is visible (a hidden page has said so when it hid). */
  announce(): void {
    if (this.#disposed || this.#tabs.isLeader || !this.#host.visible.get()) return
    this.#tabs.post({ type: 'visibility', from: this.#host.id, visible: true })
  }

  /** This page was shown or hidden. */
  onVisibility(visible: boolean): void {
    if (!this.#tabs.isLeader) this.#tabs.post({ type: 'visibility', from: this.#host.id, visible })
    this.#syncRepeat()
    this.#updatePoll()
  }

  /** This store began or stopped leading. A tab that stops tells the next leader where it stands. */
  onLeadership(isLeader: boolean): void {
    if (!isLeader) {
      this.#forgetFollowers()
      this.announce()
    }
    this.#syncRepeat()
    this.#updatePoll()
  }

  /** Leader: records what a follower said, forgetting it if it does not repeat it in time. */
  followerSaid(id: string, visible: boolean): void {
    const { timers } = this.#host
    if (this.#visibleFollowers.has(id)) timers.clearTimeout(this.#visibleFollowers.get(id))
    if (visible) {
      const expire = (): void => {
        this.#visibleFollowers.delete(id)
        this.#updatePoll()
      }
      this.#visibleFollowers.set(id, timers.setTimeout(expire, VISIBILITY_TTL_MS))
    } else {
      this.#visibleFollowers.delete(id)
    }
    this.#updatePoll()
  }

  dispose(): void {
    if (this.#disposed) return
    // A closing follower must not keep the leader polling until its entry expires.
    if (!this.#tabs.isLeader && this.#host.visible.get()) this.#tabs.post({ type: 'visibility', from: this.#host.id, visible: false })
    this.#disposed = true
    this.#syncRepeat()
    this.#forgetFollowers()
    this.#pollListeners.clear()
  }

  /** Follower: keeps one repeating timer while visible, none otherwise. */
  #syncRepeat(): void {
    const { timers } = this.#host
    const wanted = !this.#disposed && !this.#tabs.isLeader && this.#host.visible.get()
    if (wanted && this.#repeatTimer === undefined) {
      this.#repeatTimer = timers.setTimeout(() => {
        this.#repeatTimer = undefined
        this.announce()
        this.#syncRepeat()
      }, VISIBILITY_REFRESH_MS)
    } else if (!wanted && this.#repeatTimer !== undefined) {
      timers.clearTimeout(this.#repeatTimer)
      this.#repeatTimer = undefined
    }
  }

  #forgetFollowers(): void {
    for (const timer of this.#visibleFollowers.values()) this.#host.timers.clearTimeout(timer)
    this.#visibleFollowers.clear()
    this.#updatePoll()
  }

  #computePollVisible(): boolean {
    return this.#host.visible.get() || (this.#tabs.isLeader && this.#visibleFollowers.size > 0)
  }

  #updatePoll(): void {
    const visible = this.#computePollVisible()
    if (visible === this.#pollVisible) return
    this.#pollVisible = visible
    for (const listener of [...this.#pollListeners]) listener(visible)
  }
}
