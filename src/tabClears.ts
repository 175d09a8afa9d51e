import type { Timers } from './environment'
import { rememberId } from './rememberId'
import type { TabCoordinator, TabMessage } from './tabs'

export interface TabClearsHost {
  readonly id: string
  /** For the expiry of confirmations that came before their clear. */
  readonly timers: Timers
  /**
   * Clears the view and the outbox, as a follower's clear() asked, and with `storage` the cache
   * (the leader's part: the follower that asked has wiped it, and a follower's wipe could land
   * over the leader's writes from after the clear). `id` names the clear the leader carries out.
   */
  clear(storage: boolean, id?: string): void
}

/** How long a confirmation of an older tab's clear that came first waits for the clear (see TabClears.#earlyConfirmations). */
const EARLY_CONFIRMATION_MS = 2000

/**
 * clear() (a logout) across tabs: which clears this tab made or heard of, which a leader
 * confirmed or carried out, and the last one, which the mutations a follower forwards carry.
 */
export class TabClears {
  readonly #tabs: TabCoordinator
  readonly #host: TabClearsHost
  /** Names this tab's clears (and its refreshes: they count together). */
  readonly #nextId: () => string
  /** Follower: what it forwarded and the leader has not acknowledged is gone with a clear. */
  readonly #abortForwarded: () => void
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
  /** Follower: the last clear the leader's states said it carried out (undefined: none heard of yet). */
  #leaderLastClear: string | null | undefined = undefined
  /**
   * Follower: the clears of tabs of an older version (they have no id) that no leader has
   * confirmed yet ('cleared' with `olderFrom`), by the tab that sent them. It waits while any is.
   */
  readonly #olderClears = new Map<string, number>()
  /**
   * Follower: confirmations of an older tab's clear that came before the clear itself (two tabs'
   * messages may cross on the way), by that tab: each is its clear's for EARLY_CONFIRMATION_MS,
   * then forgotten (a tab that opened during a logout gets its confirmation and never the clear:
   * it must not take the same tab's next logout for confirmed). Their expiry timers.
   */
  readonly #earlyConfirmations = new Map<string, unknown[]>()
  /** Follower: the clear the leader's states named when it began to wait (see refuses()). */
  #olderBefore: string | null | undefined = undefined

  constructor(tabs: TabCoordinator, host: TabClearsHost, nextId: () => string, abortForwarded: () => void) {
    this.#tabs = tabs
    this.#host = host
    this.#nextId = nextId
    this.#abortForwarded = abortForwarded
  }

  /**
   * A follower has the leader clear too, before anything this tab queues after the call reaches
   * it. A leader tells the followers it clears (they abort what they forwarded that it has not
   * acknowledged), and confirms it at once: its states from now on are from after the clear.
   */
  clear(): string {
    const id = this.#nextId()
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
    // An older tab's clear gets its id from the leader that carries it out, unknown here: storage cannot show it.
    return clearedBy !== undefined && this.clearing && !this.#waitsForOlder() && clearedBy === this.#lastClear
  }

  /**
   * Taking over: the cache the old leader saved names a clear, `id`, that this tab never heard of
   * (its tab closed at once after a logout, before its messages came). This tab carries it out as
   * a follower that hears it does (what it holds is the last user's), and tells the other tabs,
   * which may not have heard it either; it confirms it once it leads. Returns whether it was unheard of.
   */
  clearedUnheard(id: string): boolean {
    if (id === this.#lastClear || this.#clearedIds.includes(id) || this.#unconfirmedClears.has(id)) return false
    this.#tabs.post({ type: 'clear', from: this.#host.id, id })
    this.heard(id, this.#host.id)
    return true
  }

  /** The latest clear this tab knows of (null: none), which its forwarded mutations and the leader's states carry. */
  get last(): string | null {
    return this.#lastClear
  }

  /**
   * Follower: whether a clear is still unconfirmed (or an older tab's, still not seen carried
   * out). A tab that takes over meanwhile wipes storage instead of reading it: the old leader's
   * last writes may have landed after the clear's wipe.
   */
  get clearing(): boolean {
    return this.#unconfirmedClears.size > 0 || this.#waitsForOlder()
  }

  /**
   * Follower: whether a state of a leader that confirms clears is from before one this tab waits
   * for, and must not be shown: it would bring the last user's data back (a full state, or a
   * delta on the version this tab followed before it emptied itself). An older tab's clear is
   * waited for until the leader confirms it, before the state it leads to.
   */
  refuses(message: Extract<TabMessage, { type: 'state' }>): boolean {
    if (this.#waitsForOlder() && !message.confirmsOlderClears) {
      // A leader of the version before this one does not confirm an older tab's clear, but
      // names the id it gave it in its states. (A tab that followed no state before knows no
      // clear it named then: any one will do.)
      const before = this.#olderBefore
      if (before !== undefined ? message.lastClear !== before : typeof message.lastClear === 'string') this.#endOlderWaits()
    }
    return this.clearing
  }

  /** Follower: a tab starts to lead, having read or wiped storage: an older tab's clear is no longer waited for. */
  leaderStarted(): void {
    this.#endOlderWaits()
  }

  /** Leader, once it has read storage: confirms the clears that no leader confirmed. */
  confirmUnconfirmed(): void {
    // The clears no leader confirmed were carried out by this tab as it read (or wiped) storage.
    for (const id of this.#unconfirmedClears) this.#confirmClear(id)
    this.#unconfirmedClears.clear()
    this.#endOlderWaits()
  }

  /** Follower: a new leader is told the clears no leader confirmed. */
  postUnconfirmed(): void {
    // The leader a clear went to may have been closing: it never carried it out.
    for (const id of this.#unconfirmedClears) this.#tabs.post({ type: 'clear', from: this.#host.id, id })
  }

  /** Follower: takes a leader's state, and with it lets go of the clears still unconfirmed. */
  dropUnconfirmed(): void {
    // A leader of an older version never confirms: its states are taken, as that version did.
    this.#unconfirmedClears.clear()
    this.#endOlderWaits()
  }

  /** Follower: the last clear the leader it follows carried out (undefined: a leader of an older version, which does not say). */
  followLeader(lastClear: string | null | undefined): void {
    // Its mutations go to that leader with the last clear it carried out: posted again, they are taken.
    if (lastClear === undefined) return
    this.#lastClear = lastClear
    this.#leaderLastClear = lastClear
  }

  /** Follower: another follower's clear (or a leader's, which it confirmed at once), sent by tab `from`. */
  heard(id: string | undefined, from: string): void {
    // Another follower's logout: this tab shows nothing from before it either, and waits like it
    // (unless the clear came from a tab of an older version, which no leader confirms).
    if (id !== undefined && (this.#unconfirmedClears.has(id) || this.#clearedIds.includes(id))) return
    if (id !== undefined && this.#unconfirmedClears.size > 0) {
      // This tab logged out too, and no leader has confirmed it yet: what it holds came after its
      // own clear (the next user's), whichever of the two the leader carries out first. It waits
      // for this one's confirmation as well, and its mutations go to the leader after both.
      this.#unconfirmedClears.add(id)
      return
    }
    if (id !== undefined) {
      this.#clearing(id)
    } else {
      // What this tab forwarded before is aborted with the rest, whichever version logged out.
      this.#abortForwarded()
      // The leader's states from before it carried this one out are refused until it confirms it.
      const early = this.#earlyConfirmations.get(from)
      if (early !== undefined) {
        // Confirmed already: the leader carried it out before this tab heard of it.
        this.#host.timers.clearTimeout(early.shift())
        if (early.length === 0) this.#earlyConfirmations.delete(from)
      } else {
        if (!this.#waitsForOlder()) this.#olderBefore = this.#leaderLastClear
        this.#olderClears.set(from, (this.#olderClears.get(from) ?? 0) + 1)
      }
    }
    this.#host.clear(false)
  }

  /** Follower: a leader confirmed a clear (`olderFrom`: one of that tab of an older version, which had no id). */
  confirmed(id: string, olderFrom: string | undefined): void {
    if (olderFrom !== undefined) this.#olderConfirmed(olderFrom)
    rememberId(this.#clearedIds, id)
    this.#unconfirmedClears.delete(id)
  }

  #waitsForOlder(): boolean {
    return this.#olderClears.size > 0
  }

  #olderConfirmed(from: string): void {
    const count = this.#olderClears.get(from) ?? 0
    if (count > 1) this.#olderClears.set(from, count - 1)
    else if (count === 1) this.#olderClears.delete(from)
    else {
      const early = this.#earlyConfirmations.get(from) ?? []
      const handle = this.#host.timers.setTimeout(() => {
        const at = early.indexOf(handle)
        if (at >= 0) early.splice(at, 1)
        if (early.length === 0 && this.#earlyConfirmations.get(from) === early) this.#earlyConfirmations.delete(from)
      }, EARLY_CONFIRMATION_MS)
      early.push(handle)
      this.#earlyConfirmations.set(from, early)
    }
  }

  /** Ends the waits for older tabs' clears; confirmations that came before their clear are kept. */
  #endOlderWaits(): void {
    this.#olderClears.clear()
  }

  dispose(): void {
    for (const early of this.#earlyConfirmations.values()) for (const handle of early) this.#host.timers.clearTimeout(handle)
    this.#earlyConfirmations.clear()
  }

  /** Follower: a clear is under way. What it forwarded before is gone with it, and must not be posted again. */
  #clearing(id: string): void {
    this.#lastClear = id
    this.#unconfirmedClears.add(id)
    this.#abortForwarded()
  }

  /** Leader: carries out a follower's (`from`) clear once, and confirms it (a clear without an id, from an older tab, every time). */
  carryOut(id: string | undefined, from: string): void {
    const done = id !== undefined && this.#clearedIds.includes(id)
    // A clear from a tab of an older version has no id: one of this tab's own marks it, so that
    // the mutations newer followers posted before they heard of it are refused like any others.
    const named = id ?? this.#nextId()
    // Confirmed first: the followers then take the state it leads to, broadcast as it is carried
    // out (an older tab's too: the followers that heard it wait for its confirmation).
    this.#confirmClear(named, id === undefined ? from : undefined)
    if (done) return
    this.#lastClear = named
    this.#host.clear(true, named)
  }

  #confirmClear(id: string, olderFrom?: string): void {
    rememberId(this.#clearedIds, id)
    this.#tabs.post({ type: 'cleared', from: this.#host.id, id, ...(olderFrom !== undefined ? { olderFrom } : {}) })
  }
}
