import { rememberId } from './rememberId'
import type { TabCoordinator } from './tabs'

export interface TabClearsHost {
  readonly id: string
  /**
   * Clears the view and the outbox, as a follower's clear() asked, and with `storage` the cache
   * (the leader's part: the follower that asked has wiped it, and a follower's wipe could land
   * over the leader's writes from after the clear). `id` names the clear the leader carries out.
   */
  clear(storage: boolean, id?: string): void
}

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
   * Follower: a clear from a tab of an older version (it has no id) that the leader has not been
   * seen to carry out: its states still say the clear they said before it (`#idlessBefore`).
   */
  #idlessWaiting = false
  #idlessBefore: string | null | undefined = undefined

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
    if (clearedBy === undefined || !this.clearing) return false
    if (this.#unconfirmedClears.size > 0 && clearedBy !== this.#lastClear) return false
    // An older tab's clear gets its id from the leader that carries it out: any clear after the one its states said last.
    return !this.#idlessWaiting || (this.#idlessBefore !== undefined && clearedBy !== this.#idlessBefore)
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
    return this.#unconfirmedClears.size > 0 || this.#idlessWaiting
  }

  /**
   * Follower: whether a state of a leader that confirms clears is from before one this tab waits
   * for, and must not be shown: it would bring the last user's data back (a full state, or a
   * delta on the version this tab followed before it emptied itself). An older tab's clear is
   * carried out once the leader's states name a clear other than the one they named before it.
   */
  refuses(lastClear: string | null | undefined): boolean {
    // (A tab that followed no state yet knows no clear before it: any one named will do.)
    const after = this.#idlessBefore !== undefined ? lastClear !== this.#idlessBefore : typeof lastClear === 'string'
    if (this.#idlessWaiting && after) this.#idlessWaiting = false
    return this.clearing
  }

  /** Follower: a tab starts to lead, having read or wiped storage: an older tab's clear is no longer waited for. */
  leaderStarted(): void {
    this.#idlessWaiting = false
  }

  /** Leader, once it has read storage: confirms the clears that no leader confirmed. */
  confirmUnconfirmed(): void {
    // The clears no leader confirmed were carried out by this tab as it read (or wiped) storage.
    for (const id of this.#unconfirmedClears) this.#confirmClear(id)
    this.#unconfirmedClears.clear()
    this.#idlessWaiting = false
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
    this.#idlessWaiting = false
  }

  /** Follower: the last clear the leader it follows carried out (undefined: a leader of an older version, which does not say). */
  followLeader(lastClear: string | null | undefined): void {
    // Its mutations go to that leader with the last clear it carried out: posted again, they are taken.
    if (lastClear === undefined) return
    this.#lastClear = lastClear
    this.#leaderLastClear = lastClear
  }

  /** Follower: another follower's clear (or a leader's, which it confirmed at once). */
  heard(id: string | undefined): void {
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
      // The leader's states from before it carried this one out are refused (see refuses()).
      if (!this.#idlessWaiting) this.#idlessBefore = this.#leaderLastClear
      this.#idlessWaiting = true
    }
    this.#host.clear(false)
  }

  /** Follower: a leader confirmed a clear. */
  confirmed(id: string): void {
    // One this tab did not hear of: the id the leader gave an older tab's clear as it carried it out.
    if (this.#idlessWaiting && !this.#unconfirmedClears.has(id) && !this.#clearedIds.includes(id)) this.#idlessWaiting = false
    rememberId(this.#clearedIds, id)
    this.#unconfirmedClears.delete(id)
  }

  /** Follower: a clear is under way. What it forwarded before is gone with it, and must not be posted again. */
  #clearing(id: string): void {
    this.#lastClear = id
    this.#unconfirmedClears.add(id)
    this.#abortForwarded()
  }

  /** Leader: carries out a follower's clear once, and confirms it (a clear without an id, from an older tab, every time). */
  carryOut(id: string | undefined): void {
    const done = id !== undefined && this.#clearedIds.includes(id)
    // A clear from a tab of an older version has no id: one of this tab's own marks it, so that
    // the mutations newer followers posted before they heard of it are refused like any others.
    const named = id ?? this.#nextId()
    // Confirmed first: the followers then take the state it leads to, broadcast as it is carried
    // out (an older tab's too: the followers that heard it wait for its confirmation).
    this.#confirmClear(named)
    if (done) return
    this.#lastClear = named
    this.#host.clear(true, named)
  }

  #confirmClear(id: string): void {
    rememberId(this.#clearedIds, id)
    this.#tabs.post({ type: 'cleared', from: this.#host.id, id })
  }
}
