import type { MutationError, MutationFailure, MutationRecord, Settlement } from './mutation'
import type { WorkstreamEvent } from './models'

/**
 * What the stores of one namespace tell each other across tabs. Plain, structured-cloneable
 * data; a custom {@link TabCoordinator} carries it as it is. `from` is the sending store's id.
 */
export type TabMessage =
  /** Leader → all: the server snapshot's change and the whole outbox, after every change. */
  | {
      /** The message's tag. */
      readonly type: 'state'
      /** The sending store's id. */
      readonly from: string
      /** Set by leaders that confirm clears ('cleared'); a tab of an older version leaves it out. */
      readonly confirmsClears?: true
      /** Set by leaders that confirm the clears of tabs of an older version too ('cleared' with `olderFrom`). */
      readonly confirmsOlderClears?: true
      /** Full: every server event (sent to a tab that said hello). Delta: the change only. */
      readonly server:
        | {
            /** Every server event. */
            readonly full: readonly WorkstreamEvent[]
          }
        | {
            /** Events added or changed since `base`. */
            readonly upserted: readonly WorkstreamEvent[]
            /** Ids removed since `base`. */
            readonly removed: readonly string[]
            /** The version this delta applies to; a follower at another version says hello. */
            readonly base: number
          }
      /** The leader's state version after this change. */
      readonly version: number
      /** The whole outbox. */
      readonly records: readonly MutationRecord[]
      /** When a snapshot was last applied (ms since the epoch). */
      readonly lastSyncedAt: number | undefined
      /** Mutations that ended, so that the tab whose caller awaits one settles its promise. */
      readonly settled: readonly Settlement[]
      /**
       * The leader's storage failed and its outbox lives in its memory only: a tab that takes
       * over keeps its copy rather than what storage holds.
       */
      readonly storageFailed?: boolean
      /** Why the leader's last snapshot failed, until one succeeds: a follower's status shows it. Left out by older tabs. */
      readonly syncError?: MutationError
      /** Sends of other tabs' mutations that failed in this change, so that the tab that made each reports it. Left out by older tabs. */
      readonly failed?: readonly MutationFailure[]
      /** The id of the last clear the leader carried out (null: none), for the followers to tag their mutations with. Left out by older tabs. */
      readonly lastClear?: string | null
      /**
       * Renames of creates (client id to server id) new since the last state (all of them in a
       * full one), so that a follower's delete by the client id of another tab's create goes to
       * the server's id. Left out by older tabs.
       */
      readonly renames?: ReadonlyArray<readonly [string, string]>
    }
  /** Follower → leader: a mutation made in the follower, to be sent by the leader. */
  | {
      /** The message's tag. */
      readonly type: 'mutation'
      /** The sending store's id. */
      readonly from: string
      /** The mutation, as queued in the follower. */
      readonly record: MutationRecord
      /**
       * The id of the last clear the follower knew of (null: none). A leader that carried out
       * another since refuses the mutation: it was made before a logout the follower had not
       * heard of yet, and is aborted there. Left out by older tabs, whose mutations are taken.
       */
      readonly after?: string | null
    }
  /** Follower → leader: retry or discard a dead letter. */
  | {
      /** The message's tag. */
      readonly type: 'command'
      /** The sending store's id. */
      readonly from: string
      /** What to do with the dead letter. */
      readonly command: 'retry' | 'discard'
      /** The dead letter's id. */
      readonly mutationId: string
    }
  /**
   * Follower → all: `clear()` was called in a follower (a logout): the leader clears too, and so
   * do the other followers. Sent again to each new leader until a leader confirms it. A leader
   * that clears sends it too (and confirms it at once): the followers abort what they forwarded.
   */
  | {
      /** The message's tag. */
      readonly type: 'clear'
      /** The sending store's id. */
      readonly from: string
      /** Names the clear in the confirmation; left out by a tab of an older version. */
      readonly id?: string
    }
  /**
   * Leader → all: the leader carried out a follower's clear. Its state messages from now on come
   * after the clear; the ones before it are stale, and a follower takes none until this arrives.
   */
  | {
      /** The message's tag. */
      readonly type: 'cleared'
      /** The sending store's id. */
      readonly from: string
      /** The clear's id. */
      readonly id: string
      /** The clear was one of this tab of an older version, which had no id: the leader gave it `id`. Left out by older tabs. */
      readonly olderFrom?: string
    }
  /** Follower → leader: `refresh()` was called in the follower: the leader fetches a snapshot. */
  | {
      /** The message's tag. */
      readonly type: 'refresh'
      /** The sending store's id. */
      readonly from: string
      /** Names the request in the answer. */
      readonly id: string
    }
  /** Leader → the follower that asked: its refresh is done, and the state it led to was sent. */
  | {
      /** The message's tag. */
      readonly type: 'refreshed'
      /** The sending store's id. */
      readonly from: string
      /** The store that asked. */
      readonly to: string
      /** The request's id. */
      readonly id: string
      /** The leader's state version once the snapshot was applied. */
      readonly version: number
      /** Why the fetch failed, when it did. */
      readonly error?: MutationError
    }
  /** Leader → all: this store leads now and has read storage; followers ask it for its state. */
  | {
      /** The message's tag. */
      readonly type: 'leader'
      /** The sending store's id. */
      readonly from: string
      /** Set by leaders that confirm clears ('cleared'); a tab of an older version leaves it out. */
      readonly confirmsClears?: true
    }
  /** A new tab (or one that missed a delta) asks the leader for the full state. */
  | {
      /** The message's tag. */
      readonly type: 'hello'
      /** The sending store's id. */
      readonly from: string
    }
  /**
   * Follower → leader: whether the follower's page is visible, so that a hidden leader keeps
   * polling for it. Sent when it changes, to each new leader, and again every few seconds while
   * visible; the leader forgets a visible follower that stops repeating it.
   */
  | {
      /** The message's tag. */
      readonly type: 'visibility'
      /** The sending store's id. */
      readonly from: string
      /** Whether the sending store's page is visible now. */
      readonly visible: boolean
    }

/**
 * How the stores of one namespace in one origin agree on a leader and talk. Only the leader
 * polls and sends mutations; the others follow the state it broadcasts.
 */
export interface TabCoordinator {
  /** Whether this store is the leader now. */
  readonly isLeader: boolean
  /**
   * Resolves once the coordinator knows whether this store leads from the start (a free lock is
   * taken at once). The store reads its cache after it: a store that leads from the start then
   * reads storage once, instead of once to show the cache and again to take over. Optional; a
   * coordinator without it has the store read at once.
   */
  readonly elected?: Promise<unknown>
  /** Calls `listener` when this store gains or loses leadership. Returns the unsubscribe function. */
  onLeadership(listener: (isLeader: boolean) => void): () => void
  /** Sends a message to the other stores of the namespace (not to this one). */
  post(message: TabMessage): void
  /** Calls `listener` for each message from the other stores. Returns the unsubscribe function. */
  onMessage(listener: (message: TabMessage) => void): () => void
  /** Gives up leadership and stops talking; called by the store's `dispose()`. */
  close(): void
}

/** A coordinator for a store alone: always the leader, nobody to talk to. */
export function soloCoordinator(): TabCoordinator {
  return {
    isLeader: true,
    onLeadership: () => () => {},
    post: () => {},
    onMessage: () => () => {},
    close: () => {},
  }
}
