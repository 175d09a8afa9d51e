import { disposedError, toSyncError, type WorkstreamSyncError } from './errors'
import { plainError, syncErrorOf } from './mutation'
import { rememberId } from './rememberId'
import type { TabCoordinator, TabMessage } from './tabs'

export interface TabRefreshesHost {
  readonly id: string
  /** The leader's own refresh(), run for a follower that asked. */
  refresh(): Promise<void>
}

type RefreshAnswer = Extract<TabMessage, { type: 'refreshed' }>

/** A follower's refresh() that waits for the leader, and the leader's answer once it came. */
interface PendingRefresh {
  readonly resolve: () => void
  readonly reject: (error: WorkstreamSyncError) => void
  answer?: RefreshAnswer
}

/**
 * refresh() across tabs: a follower's call waits for the leader to fetch, and for the state that
 * fetch led to; the leader fetches for each follower's request once, and answers it.
 */
export class TabRefreshes {
  readonly #tabs: TabCoordinator
  readonly #host: TabRefreshesHost
  /** Names this tab's refreshes (and its clears: they count together). */
  readonly #nextId: () => string
  /** Leader: the version of its state it broadcast last, which an answer says. */
  readonly #version: () => number
  #disposed = false
  /** Leader: the follower refreshes it took, to answer each once. */
  readonly #refreshIds: string[] = []
  /** Follower: its refresh() calls, by request id, until this tab holds the state they led to. */
  readonly #refreshes = new Map<string, PendingRefresh>()

  constructor(tabs: TabCoordinator, host: TabRefreshesHost, nextId: () => string, version: () => number) {
    this.#tabs = tabs
    this.#host = host
    this.#nextId = nextId
    this.#version = version
  }

  /**
   * Follower: has the leader fetch a snapshot (this tab never fetches), and resolves once this
   * tab holds the state it led to; rejects with the leader's error. A leader that goes away
   * before it answers is asked again by the next one, or this tab fetches if it becomes the leader.
   */
  refresh(): Promise<void> {
    if (this.#disposed) return Promise.reject(disposedError('refresh()'))
    const id = this.#nextId()
    return new Promise<void>((resolve, reject) => {
      this.#refreshes.set(id, { resolve, reject })
      this.#tabs.post({ type: 'refresh', from: this.#host.id, id })
    })
  }

  /** Leader: fetches for a follower's refresh(), and answers after the state it led to was broadcast. */
  refreshFor(to: string, id: string): void {
    // A follower that had not heard from this leader yet asks again when it does: answered once.
    if (this.#refreshIds.includes(id)) return
    rememberId(this.#refreshIds, id)
    const answer = (error?: WorkstreamSyncError): void => {
      if (this.#disposed) return
      const carried = error ? { error: plainError(error) } : {}
      this.#tabs.post({ type: 'refreshed', from: this.#host.id, to, id, version: this.#version(), ...carried })
    }
    this.#host.refresh().then(
      () => answer(),
      (error: unknown) => answer(toSyncError(error, 'network', 'The leader tab could not fetch a snapshot')),
    )
  }

  /** Follower: keeps a leader's answer to one of this tab's refreshes, to settle it once this tab holds that state. */
  answered(message: RefreshAnswer): void {
    const pending = message.to === this.#host.id ? this.#refreshes.get(message.id) : undefined
    if (pending) pending.answer = message
  }

  /** Follower: settles each answered refresh once this tab holds the answering leader's state (`leaderId` leads, and this tab holds its state `version`). */
  settle(leaderId: string | undefined, version: number): void {
    for (const [id, { answer, resolve, reject }] of this.#refreshes) {
      if (answer === undefined || answer.from !== leaderId || version < answer.version) continue
      this.#refreshes.delete(id)
      if (answer.error === undefined) resolve()
      else reject(syncErrorOf(answer.error))
    }
  }

  /** Follower: a new leader knows nothing of the refreshes asked of the old one; `leader` is asked the ones it did not answer. */
  askAgain(leader: string): void {
    for (const [id, pending] of this.#refreshes) {
      if (pending.answer?.from === leader) continue
      pending.answer = undefined
      this.#tabs.post({ type: 'refresh', from: this.#host.id, id })
    }
  }

  /** A follower that becomes the leader fetches for its own refresh() calls that are still waiting. */
  refreshHere(): void {
    const waiting = [...this.#refreshes.values()]
    this.#refreshes.clear()
    if (waiting.length === 0) return
    const done = this.#host.refresh()
    for (const { resolve, reject } of waiting) done.then(resolve, (error: unknown) => reject(toSyncError(error, 'network', 'Fetching a snapshot failed')))
  }

  /** This tab stopped leading. */
  stopLeading(): void {
    // Refreshes asked of this tab while it led are asked again if it leads again: answered then.
    this.#refreshIds.length = 0
  }

  /** Rejects the refresh() calls still waiting. */
  dispose(): void {
    this.#disposed = true
    for (const pending of this.#refreshes.values()) pending.reject(disposedError('refresh()'))
    this.#refreshes.clear()
  }
}
