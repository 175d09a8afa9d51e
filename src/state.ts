import { applySnapshot } from './applySnapshot'
import { withLookalikes } from './fingerprint'
import type { WorkstreamEvent } from './models'
import { ABORTED_BY_DELETE, ENDED_UNHEARD, rejected, resolved, withoutKeys, type Ending, type MutationError, type MutationRecord, type Settlement } from './mutation'
import { rememberRenames, toServerId, withStoredNaming } from './naming'
import { EMPTY_SNAPSHOT, type ServerSnapshot } from './view'

/** The whole sync state: the server snapshot and the mutations on top of it. Plain and immutable. */
export interface SyncState {
  readonly server: ServerSnapshot
  /** Where `server` came from: nothing yet, the cache, or the network. */
  readonly source: 'none' | 'cache' | 'network'
  /** The last snapshot request started, and the last one applied (0: none). */
  readonly requestedSeq: number
  readonly appliedSeq: number
  readonly records: readonly MutationRecord[]
  readonly lastSyncedAt: number | undefined
  /** How the last action settled callers' promises. Cleared by every action. */
  readonly settled: readonly Settlement[]
  /**
   * The server's id of each create it named otherwise, by the client's id, for the latest
   * creates whose records have ended: a delete another tab makes by the client's id, just
   * after, still goes to the server's.
   */
  readonly renamed: ReadonlyMap<string, string>
  /**
   * The server answered a create with the client's `internal_identifier` as its id: it honours
   * them, so a create's event is found by its id, and an identical event is never taken for it.
   */
  readonly clientIdsHonoured: boolean
}

export type SyncAction =
  | {
      type: 'hydrated'
      snapshot: ServerSnapshot | undefined
      records: readonly MutationRecord[]
      now: number
      graceMs: number
      lastSyncedAt?: number
      /** What storage kept of how the server names created events. */
      naming?: StoredNaming
    }
  | { type: 'snapshotRequested'; seq: number }
  | {
      type: 'snapshotReceived'
      seq: number
      requestedAt: number
      receivedAt: number
      snapshot: ServerSnapshot
      /**
       * Items the server sent that failed validation and have no good version, so are not in
       * `snapshot`: present, not absent. Each id with the seq of the first applied snapshot that withheld it.
       */
      withheld?: ReadonlyMap<string, number>
      /**
       * Default true. A follower tab applies a snapshot it fetched itself without reconciling the
       * records: they are the leader's, whose snapshot counts are not this tab's.
       */
      reconcile?: boolean
    }
  | { type: 'mutationQueued'; record: MutationRecord; /** Default true. A follower tab leaves cancelling to the leader, which knows what was sent. */ cancelUnsent?: boolean }
  | {
      type: 'leaderState'
      server: ServerSnapshot
      records: readonly MutationRecord[]
      lastSyncedAt: number | undefined
      /** A follower's renames, with those of its own creates the leader confirmed under another id. */
      renamed?: ReadonlyMap<string, string>
    }
  | {
      type: 'promoted'
      /** The outbox as storage holds it: the old leader saved every change before it went out. */
      records: readonly MutationRecord[]
      /** This store's id: its own mutations are kept even where storage does not have them yet. */
      origin: string
      /**
       * The old leader's storage had failed (its outbox was in its memory), or this tab's has (it
       * reads its memory, not what the old leader saved): this tab's copy of the outbox wins.
       */
      trustCopies: boolean
      /** Mutations this tab saw leave the old leader's outbox: ended, though storage may not have caught up. */
      ended: readonly string[]
      /** What the old leader saved of how the server names created events: this tab heard only what happened while it listened. */
      naming?: StoredNaming
      /**
       * This tab's mutations queued after its read of storage began, which storage may lack only
       * because their writes had not landed; undefined when storage was not read, or held no
       * outbox a leader saved.
       */
      queuedDuringRead?: ReadonlySet<string>
      /** The cached events storage held: what the old leader saved of the server's. */
      cached?: ReadonlyMap<string, WorkstreamEvent>
      /** How the old leader ended the latest of other tabs' creates, by mutation id, as it saved it. */
      endings?: ReadonlyMap<string, Ending>
      now: number
      graceMs: number
    }
  | { type: 'mutationSent'; id: string }
  | { type: 'mutationConfirmed'; id: string; event?: WorkstreamEvent }
  | { type: 'mutationFailed'; id: string; error: MutationError; outcome: 'permanent' | 'retry' | 'dead'; nextAttemptAt?: number; ambiguousUntil?: number }
  | { type: 'mutationRetried'; id: string }
  | { type: 'mutationDiscarded'; id: string }
  | { type: 'cleared' }

/** Renames as storage keeps them, oldest first: [client id, server id]. */
export type Renames = ReadonlyArray<readonly [string, string]>

/** How the server names created events, as storage keeps it (see SyncState.renamed and clientIdsHonoured). */
export interface StoredNaming {
  /** A delete by a client id after a reload still goes to the server's id. */
  readonly renamed?: Renames
  /** The server was seen to keep client ids. */
  readonly clientIdsHonoured?: boolean
}

export const initialState: SyncState = {
  server: EMPTY_SNAPSHOT,
  source: 'none',
  requestedSeq: 0,
  appliedSeq: 0,
  records: [],
  lastSyncedAt: undefined,
  settled: [],
  renamed: new Map(),
  clientIdsHonoured: false,
}

const DISCARDED: MutationError = { kind: 'aborted', message: 'The mutation was discarded from the dead-letter list.' }
const CLEARED: MutationError = { kind: 'aborted', message: 'The store was cleared before the mutation was confirmed.' }
const CLEARED_ON_THE_WIRE: MutationError = {
  kind: 'aborted',
  message: 'The store was cleared while the mutation was on its way to the server or waiting for a snapshot to say whether it landed: the server may have carried it out. A snapshot shows whether it did.',
}

/** The pure reducer of the sync state. */
export function reduce(state: SyncState, action: SyncAction): SyncState {
  const next = reduceRecords(state, action)
  return next.records === state.records || action.type === 'cleared' ? next : rememberRenames(state.records, next)
}

function reduceRecords(state: SyncState, action: SyncAction): SyncState {
  const base = state.settled.length === 0 ? state : { ...state, settled: [] }
  switch (action.type) {
    case 'hydrated':
      return hydrate(base, action)
    case 'snapshotRequested':
      return action.seq > base.requestedSeq ? { ...base, requestedSeq: action.seq } : base
    case 'snapshotReceived':
      return applySnapshot(base, action)
    case 'mutationQueued':
      return queue(base, action.record, action.cancelUnsent ?? true)
    case 'leaderState':
      // What this tab fetched itself, if a request of its own is still out, is older than this.
      return { ...base, server: action.server, source: 'network', appliedSeq: base.requestedSeq, records: action.records, lastSyncedAt: action.lastSyncedAt, ...(action.renamed ? { renamed: action.renamed } : {}) }
    case 'promoted': {
      // This tab takes over from a leader that may have been sending. Its copy of the outbox is
      // the old leader's last broadcast, which may lag: storage's version of each mutation wins
      // (a send persisted as sending, a cancel persisted as gone). A create that storage no longer
      // has was settled and must not go out again, unless it is this tab's own and its write has
      // not landed yet. Confirmed records and deletes stay: the snapshot copy may lag too, and they
      // keep its view right until this tab's first poll (a delete sent twice is harmless). What
      // was on the wire is resolved as after a reload, and what only storage knows joins, unless
      // this tab saw it end (its deletion from storage had not landed: a dead letter discarded).
      const stored = new Map(action.records.map((r) => [r.id, r]))
      const naming = withStoredNaming(base, action.naming)
      const endedThere = endedInOldLeader(action, stored)
      // Of those, and of other tabs' creates gone from storage that the old leader said how it
      // ended, one whose event the cache it saved holds (under the id it renamed it to) was
      // created: it stays as confirmed, which keeps its event in view, in every tab, until a
      // snapshot has it (this tab's copy of the snapshot may not have it yet). The rest are settled
      // as the old leader said they ended, or, where it did not, as ended unheard.
      const gone: Settlement[] = []
      const keep = (r: MutationRecord): boolean => stored.has(r.id) || r.origin === action.origin || r.state === 'confirmed' || r.kind === 'delete'
      const copies = action.trustCopies
        ? base.records
        : base.records.flatMap((r): MutationRecord[] => {
            const own = endedThere(r)
            const ending = own || !stored.has(r.id) ? action.endings?.get(r.id) : undefined
            if (!own && ending === undefined) return keep(r) ? [furtherAlong(r, stored.get(r.id))] : []
            if (ending?.outcome === 'rejected') {
              gone.push(rejected(r, ending.error))
              return []
            }
            const event = action.cached?.get(ending?.event?.id ?? naming.renamed.get(r.eventId) ?? r.eventId)
            if (event) {
              // This tab's own are resolved with the rest of its confirmed ones, below.
              if (!own) gone.push(resolved(r, event))
              return [asConfirmed(r, event, base.requestedSeq)]
            }
            // Created there and its event deleted since, or ended there in a way nobody saved.
            gone.push(ending ? resolved(r, ending.event) : rejected(r, ENDED_UNHEARD))
            return []
          })
      const known = new Set(copies.map((r) => r.id))
      const ended = new Set(action.ended)
      const merged = [...copies, ...action.records.filter((r) => !known.has(r.id) && !ended.has(r.id))]
      const records = merged.map((r) => fromEarlierSession(toServerId(r, merged, naming.renamed), action.now, action.graceMs))
      // This tab's own mutations that the old leader confirmed: the message saying so may have
      // come after this tab stopped reading them, so its callers hear it now (again is harmless).
      const settled = records.filter((r) => r.origin === action.origin && r.state === 'confirmed').map((r) => resolved(r, r.confirmed))
      settled.push(...gone)
      return { ...base, ...naming, records: records.sort((x, y) => x.queuedAt - y.queuedAt), settled }
    }
    case 'mutationSent':
      // A snapshot applied before the first send was made before the create could reach the server.
      return update(base, action.id, (r) => ({ ...withLookalikes(base, r), state: 'sending', attempts: r.attempts + 1, ...(r.kind === 'create' ? { sentAfterSeq: r.sentAfterSeq ?? base.appliedSeq } : {}) }))
    case 'mutationConfirmed':
      return confirm(base, action.id, action.event)
    case 'mutationFailed':
      return fail(base, action)
    case 'mutationRetried':
      // A retried delete goes out again whatever a pending snapshot would say; a create must still wait for one.
      return update(base, action.id, (r) => (r.state === 'dead' ? withoutKeys({ ...r, state: 'queued', attempts: 0 }, 'nextAttemptAt', ...(r.kind === 'delete' ? (['ambiguous'] as const) : [])) : r))
    case 'mutationDiscarded': {
      const record = base.records.find((r) => r.id === action.id)
      if (!record || record.state !== 'dead') return base
      return dropWithDependents(base, record, DISCARDED)
    }
    case 'cleared':
      return {
        ...initialState,
        requestedSeq: base.requestedSeq,
        appliedSeq: base.requestedSeq,
        settled: base.records.filter((r) => r.state !== 'confirmed').map((r) => rejected(r, r.state === 'sending' || r.ambiguous ? CLEARED_ON_THE_WIRE : CLEARED)),
      }
  }
}

function hydrate(state: SyncState, action: Extract<SyncAction, { type: 'hydrated' }>): SyncState {
  const known = new Set(state.records.map((r) => r.id))
  const restored = action.records.filter((r) => !known.has(r.id)).map((r) => fromEarlierSession(r, action.now, action.graceMs))
  const useCache = state.source === 'none' && action.snapshot !== undefined
  const naming = withStoredNaming(state, action.naming)
  // Held before the cache was read: this tab's own, queued while it loaded (never sent yet), and, in
  // a tab elected before it began to read, copies of the old leader's, whose seqs count that tab's
  // snapshots and which may have been on the wire there: all are taken as from an earlier session.
  const held = state.records.map((r) => fromEarlierSession(r, action.now, action.graceMs))
  // A delete made while the cache loaded, by a client id the server renamed before this session.
  const own = naming.renamed === state.renamed ? held : held.map((r) => (r.state === 'queued' ? toServerId(r, held, naming.renamed) : r))
  return {
    ...state,
    ...naming,
    ...(useCache ? { server: action.snapshot!, source: 'cache' as const } : {}),
    lastSyncedAt: state.lastSyncedAt ?? action.lastSyncedAt,
    records: restored.length ? [...restored, ...own] : own,
  }
}

/**
 * A record written by an earlier session or another tab: any snapshot this instance requests
 * started after it, so its seqs count as 0. One that was on the wire may have reached the
 * server: a snapshot must tell before it is sent again.
 */
function fromEarlierSession(r: MutationRecord, now: number, graceMs: number): MutationRecord {
  const normalized: MutationRecord = { ...r, queuedSeq: 0, ...(r.sentAfterSeq !== undefined ? { sentAfterSeq: 0 } : {}), ...(r.confirmedSeq !== undefined ? { confirmedSeq: 0 } : {}), ...(r.ambiguous ? { ambiguous: { sinceSeq: 0, notBefore: r.ambiguous.notBefore } } : {}) }
  if (r.state !== 'sending') return normalized
  if (r.kind === 'delete') return { ...normalized, state: 'queued' }
  return { ...normalized, state: 'waiting', nextAttemptAt: now, ambiguous: { sinceSeq: 0, notBefore: now + graceMs } }
}

function queue(state: SyncState, queued: MutationRecord, cancelUnsent: boolean): SyncState {
  if (state.records.some((r) => r.id === queued.id)) return state
  const record = toServerId(queued, state.records, state.renamed)
  if (record.kind === 'create' && state.renamed.has(record.eventId)) {
    // The client id is used again: a delete by it means this create from now on.
    const renamed = new Map(state.renamed)
    renamed.delete(record.eventId)
    return queue({ ...state, renamed }, queued, cancelUnsent)
  }
  if (record.kind === 'delete' && cancelUnsent) {
    const create = findLast(state.records, (r) => r.eventId === record.eventId && r.state !== 'confirmed')
    if (create && create.kind === 'create' && neverReachedServer(create)) {
      return {
        ...state,
        records: state.records.filter((r) => r !== create),
        settled: [rejected(create, ABORTED_BY_DELETE), resolved(record)],
      }
    }
  }
  return { ...state, records: [...state.records, record] }
}

/**
 * Of a takeover's copy of a mutation and storage's version, the one further along: storage's,
 * unless the copy was sent more often or confirmed. Both tabs write a follower's mutation (the
 * follower when it queues it, the leader as it goes), so storage may hold the older one.
 */
function furtherAlong(copy: MutationRecord, stored: MutationRecord | undefined): MutationRecord {
  if (stored === undefined) return copy
  const progress = (r: MutationRecord): number => (r.state === 'confirmed' ? Number.POSITIVE_INFINITY : r.attempts)
  return progress(copy) > progress(stored) ? copy : stored
}

/**
 * Which of this tab's own creates a new leader finds gone from storage because the old leader
 * ended them: this tab wrote its copy before the read began (a follower writes it before it
 * forwards the create), and the old leader, which writes its own record of it at once and keeps
 * it while it is queued, sending, ambiguous, dead or confirmed and not yet in a snapshot, removed
 * it: a delete cancelled it, the server refused it, it was discarded, or a snapshot showed it
 * created. The old leader's state message saying so may come after the lock (a tab closing at
 * once) or never (a tab killed); sending the create again would make an event that its app
 * deleted, or a second one. Even one this tab heard was sent: a send that failed without
 * committing (a 503) leaves it cancellable.
 */
function endedInOldLeader(action: Extract<SyncAction, { type: 'promoted' }>, stored: ReadonlyMap<string, MutationRecord>): (r: MutationRecord) => boolean {
  const unread = action.queuedDuringRead
  if (unread === undefined || action.trustCopies) return () => false
  return (r) => r.origin === action.origin && r.kind === 'create' && !stored.has(r.id) && !unread.has(r.id)
}

/** Queued and never sent, or every failure so far was an answer from the server that it did not commit. */
function neverReachedServer(record: MutationRecord): boolean {
  return record.state !== 'sending' && !record.ambiguous
}

/** `record` as confirmed with `event`, in a state whose next snapshot after `seq` must show it. */
function asConfirmed(record: MutationRecord, event: WorkstreamEvent | undefined, seq: number): MutationRecord {
  const done: MutationRecord = { ...record, state: 'confirmed', confirmedSeq: seq, ...(event ? { confirmed: event, eventId: event.id } : {}) }
  return withoutKeys(done, 'lastError', 'nextAttemptAt', 'ambiguous')
}

function confirm(state: SyncState, id: string, event: WorkstreamEvent | undefined): SyncState {
  const record = state.records.find((r) => r.id === id)
  if (!record || record.state === 'confirmed') return state
  const newId = event && event.id !== record.eventId ? event.id : undefined
  const honoured = state.clientIdsHonoured || (event !== undefined && record.seed?.internal_identifier === event.id)
  const records = state.records.map((r): MutationRecord => {
    if (r === record) {
      return asConfirmed(r, event, state.requestedSeq)
    }
    return newId && r.eventId === record.eventId ? { ...r, eventId: newId } : r
  })
  return { ...state, records, settled: [resolved(record, event)], clientIdsHonoured: honoured }
}

function fail(state: SyncState, action: Extract<SyncAction, { type: 'mutationFailed' }>): SyncState {
  const record = state.records.find((r) => r.id === action.id)
  if (!record || record.state === 'confirmed') return state
  if (action.outcome === 'permanent') return dropWithDependents(state, record, action.error)
  return update(state, action.id, (r) => ({
    ...r,
    state: action.outcome === 'dead' ? 'dead' : 'waiting',
    lastError: action.error,
    ...(action.nextAttemptAt !== undefined ? { nextAttemptAt: action.nextAttemptAt } : {}),
    ...(action.ambiguousUntil !== undefined ? { ambiguous: { sinceSeq: state.requestedSeq, notBefore: action.ambiguousUntil } } : {}),
  }))
}

/**
 * Removes a mutation that will never happen, rolling back its optimistic change. The deletes
 * queued behind a create that never happened have nothing left to delete, so they succeed.
 */
function dropWithDependents(state: SyncState, record: MutationRecord, error: MutationError): SyncState {
  const settled: Settlement[] = [rejected(record, error)]
  const records = state.records.filter((r) => {
    if (r === record) return false
    if (record.kind === 'create' && r.kind === 'delete' && r.eventId === record.eventId && r.state !== 'confirmed') {
      settled.push(resolved(r))
      return false
    }
    return true
  })
  return { ...state, records, settled }
}

function update(state: SyncState, id: string, change: (record: MutationRecord) => MutationRecord): SyncState {
  let changed = false
  const records = state.records.map((r) => {
    if (r.id !== id) return r
    const next = change(r)
    changed ||= next !== r
    return next
  })
  return changed ? { ...state, records } : state
}

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return items[i]
  return undefined
}
