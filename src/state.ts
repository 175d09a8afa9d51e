import type { WorkstreamEvent } from './models'
import type { MutationError, MutationRecord, Settlement } from './mutation'
import { fingerprintMatches } from './fingerprint'
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
       * `snapshot`: present, not absent. Each id with the seq of the first snapshot that withheld it.
       */
      withheld?: ReadonlyMap<string, number>
      /**
       * Default true. A follower tab applies a snapshot it fetched itself without reconciling the
       * records: they are the leader's, whose snapshot counts are not this tab's.
       */
      reconcile?: boolean
    }
  | { type: 'mutationQueued'; record: MutationRecord; /** Default true. A follower tab leaves cancelling to the leader, which knows what was sent. */ cancelUnsent?: boolean }
  | { type: 'leaderState'; server: ServerSnapshot; records: readonly MutationRecord[]; lastSyncedAt: number | undefined }
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

/** How many ended renames the state remembers. */
const RENAMES_KEPT = 1000

const ABORTED_BY_DELETE: MutationError = { kind: 'aborted', message: 'The create was cancelled by a delete of its event before it reached the server.' }
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

/** Keeps the renames of the confirmed creates that left the outbox. */
function rememberRenames(before: readonly MutationRecord[], next: SyncState): SyncState {
  let renamed: Map<string, string> | undefined
  const after = new Set(next.records.map((r) => r.id))
  for (const r of before) {
    const clientId = r.seed?.internal_identifier
    if (r.kind !== 'create' || r.state !== 'confirmed' || clientId === undefined || clientId === r.eventId || after.has(r.id)) continue
    renamed ??= new Map(next.renamed)
    rename(renamed, clientId, r.eventId)
  }
  return renamed ? { ...next, renamed } : next
}

/** Records that the server named the create of `clientId` `serverId`, forgetting the oldest renames past RENAMES_KEPT. */
function rename(renamed: Map<string, string>, clientId: string, serverId: string): void {
  renamed.delete(clientId)
  renamed.set(clientId, serverId)
  if (renamed.size > RENAMES_KEPT) renamed.delete(renamed.keys().next().value!)
}

/** `state`'s naming with storage's: its renames after those read, which are older (at most RENAMES_KEPT). */
function withStoredNaming(state: SyncState, stored: StoredNaming | undefined): Pick<SyncState, 'renamed' | 'clientIdsHonoured'> {
  const clientIdsHonoured = state.clientIdsHonoured || stored?.clientIdsHonoured === true
  if (!stored?.renamed?.length) return { renamed: state.renamed, clientIdsHonoured }
  const renamed = new Map<string, string>()
  for (const [clientId, serverId] of [...stored.renamed, ...state.renamed]) rename(renamed, clientId, serverId)
  return { renamed, clientIdsHonoured }
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
      return { ...base, server: action.server, source: 'network', appliedSeq: base.requestedSeq, records: action.records, lastSyncedAt: action.lastSyncedAt }
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
      const keep = (r: MutationRecord): boolean => stored.has(r.id) || r.origin === action.origin || r.state === 'confirmed' || r.kind === 'delete'
      const copies = action.trustCopies ? base.records : base.records.filter(keep).map((r) => furtherAlong(r, stored.get(r.id)))
      const known = new Set(copies.map((r) => r.id))
      const ended = new Set(action.ended)
      const merged = [...copies, ...action.records.filter((r) => !known.has(r.id) && !ended.has(r.id))]
      const naming = withStoredNaming(base, action.naming)
      const records = merged.map((r) => fromEarlierSession(toServerId(r, merged, naming.renamed), action.now, action.graceMs))
      // This tab's own mutations that the old leader confirmed: the message saying so may have
      // come after this tab stopped reading them, so its callers hear it now (again is harmless).
      const settled = records.filter((r) => r.origin === action.origin && r.state === 'confirmed').map((r) => resolved(r, r.confirmed))
      return { ...base, ...naming, records: records.sort((x, y) => x.queuedAt - y.queuedAt), settled }
    }
    case 'mutationSent':
      return update(base, action.id, (r) => ({ ...withLookalikes(base, r), state: 'sending', attempts: r.attempts + 1 }))
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
  // A delete made while the cache loaded, by a client id the server renamed before this session.
  const own = naming.renamed === state.renamed ? state.records : state.records.map((r) => (r.state === 'queued' ? toServerId(r, state.records, naming.renamed) : r))
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
  const normalized: MutationRecord = { ...r, queuedSeq: 0, ...(r.confirmedSeq !== undefined ? { confirmedSeq: 0 } : {}), ...(r.ambiguous ? { ambiguous: { sinceSeq: 0, notBefore: r.ambiguous.notBefore } } : {}) }
  if (r.state !== 'sending') return normalized
  if (r.kind === 'delete') return { ...normalized, state: 'queued' }
  return { ...normalized, state: 'waiting', nextAttemptAt: now, ambiguous: { sinceSeq: 0, notBefore: now + graceMs } }
}

function applySnapshot(state: SyncState, action: Extract<SyncAction, { type: 'snapshotReceived' }>): SyncState {
  // A response that lost the race against a later-started request that was already applied.
  if (action.seq <= state.appliedSeq) return state
  const { snapshot, seq } = action
  if (action.reconcile === false) return { ...state, server: snapshot, source: 'network', appliedSeq: seq, lastSyncedAt: action.receivedAt }
  const withheld: ReadonlyMap<string, number> = action.withheld ?? new Map()
  /** Whether an unreadable item of another id may be the event of a create queued at `queuedSeq`: one that appeared in a snapshot requested after. */
  const mayHide = (queuedSeq: number): boolean => {
    // A server that keeps client ids named the create's event by its id, which is looked up by itself.
    if (state.clientIdsHonoured) return false
    for (const since of withheld.values()) if (since > queuedSeq) return true
    return false
  }
  const settled: Settlement[] = []
  /** Events that are not an ambiguous create's: claimed by one earlier in this pass, or another create's (built when first needed). */
  let claimed: Set<string> | undefined
  let renamed: Map<string, string> | undefined
  const blocked = new Set<string>()
  let records: MutationRecord[] = []
  const remaps = new Map<string, string>()
  for (const original of state.records) {
    const record = remapped(original, remaps)
    if (record.state === 'confirmed') {
      if (seq <= (record.confirmedSeq ?? 0)) keep(record)
      continue
    }
    // Finding the event proves the create landed, in any snapshot requested after it was queued;
    // only saying "not there" needs one requested after the failure and its grace period.
    if (record.kind === 'create' && record.ambiguous && seq > record.queuedSeq) {
      // An unreadable item of its id proves the create landed too; the caller gets the event as it was sent.
      // A rename already known for it (a record that storage kept after the old leader found it)
      // names its event: it landed, and is not sent again even if that event is gone since. Only
      // for an id the store made up: one the caller chose may be in use again, by a new create.
      const known = record.generatedId ? state.renamed.get(record.eventId) : undefined
      const found =
        snapshot.byId.get(record.eventId) ??
        (known !== undefined && record.optimistic ? (snapshot.byId.get(known) ?? { ...record.optimistic, id: known }) : undefined) ??
        (withheld.has(record.eventId) ? record.optimistic : undefined) ??
        (state.clientIdsHonoured ? undefined : findByFingerprint(record, snapshot, (claimed ??= otherCreatesEvents(state))))
      if (found) {
        claimed?.add(found.id)
        if (found.id !== record.eventId) {
          remaps.set(record.eventId, found.id)
          // A delete by the id create() returned, made after this record has gone, goes to the server's.
          const clientId = record.seed?.internal_identifier
          if (clientId !== undefined) rename((renamed ??= new Map(state.renamed)), clientId, found.id)
        }
        settled.push(resolved(record, found))
        continue
      }
      // "Not there" (rule 7): never said while the snapshot has an item it could not read that may be this event.
      if (!mayHide(record.queuedSeq) && seq > record.ambiguous.sinceSeq && action.requestedAt >= record.ambiguous.notBefore) {
        const cancelled = state.records.some((r) => r.kind === 'delete' && r.eventId === record.eventId && r.state !== 'confirmed')
        if (cancelled) {
          settled.push(rejected(record, ABORTED_BY_DELETE))
          remaps.set(record.eventId, '')
          continue
        }
        keep(withoutKeys({ ...record, state: record.state === 'dead' ? 'dead' : 'queued' }, 'ambiguous', 'nextAttemptAt'))
        continue
      }
    }
    if (record.kind === 'delete' && !blocked.has(record.eventId) && seq > record.queuedSeq && !snapshot.byId.has(record.eventId) && !withheld.has(record.eventId)) {
      // The event is gone from a snapshot requested after the delete was queued: done, whatever
      // the server answered (Pieces OS may answer 500 for an id it does not know).
      settled.push(resolved(record))
      continue
    }
    if (record.kind === 'delete' && record.ambiguous && seq > record.ambiguous.sinceSeq && action.requestedAt >= record.ambiguous.notBefore && snapshot.byId.has(record.eventId)) {
      // The event is still there: the server's refusal stands, and the dead letter is one.
      keep(withoutKeys(record, 'ambiguous'))
      continue
    }
    keep(record)
  }
  return { ...state, server: snapshot, source: 'network', appliedSeq: seq, lastSyncedAt: action.receivedAt, records, settled, ...(renamed ? { renamed } : {}) }

  function keep(record: MutationRecord): void {
    if (record.eventId === '') {
      // A delete whose create was cancelled above: nothing to delete.
      settled.push(resolved(record))
      return
    }
    blocked.add(record.eventId)
    records.push(record)
  }
  function remapped(record: MutationRecord, map: ReadonlyMap<string, string>): MutationRecord {
    const to = map.get(record.eventId)
    return to === undefined ? record : { ...record, eventId: to }
  }
}

/**
 * The event a server that ignores client ids made of an ambiguous create: one that looks the same,
 * is no other create's, and was not in the snapshot the store held when the create was first sent.
 */
function findByFingerprint(record: MutationRecord, snapshot: ServerSnapshot, claimed: ReadonlySet<string>): WorkstreamEvent | undefined {
  if (!record.seed) return undefined
  // Read defensively: the record may come from storage written by another version.
  const before = Array.isArray(record.lookalikes) ? record.lookalikes : []
  for (const event of snapshot.events) {
    if (!claimed.has(event.id) && !before.includes(event.id) && fingerprintMatches(record.seed, event, record.queuedAt)) return event
  }
  return undefined
}

/** The events of the creates in `state` (those still in the outbox, and those renamed once they left). */
function otherCreatesEvents(state: SyncState): Set<string> {
  const ids = new Set(state.renamed.values())
  for (const r of state.records) if (r.kind === 'create') ids.add(r.eventId)
  return ids
}

/**
 * Notes, as a create is sent for the first time, the events that look like it in the snapshot the
 * store holds: that snapshot came before the create was ever on the wire, so none of them can be
 * its event. Kept with the record (across reloads and tabs) for when the send turns out ambiguous.
 * Done here, not in create(), where a look at every event would cost milliseconds at 10k.
 */
function withLookalikes(state: SyncState, record: MutationRecord): MutationRecord {
  // Never sent: no attempt so far, and no failure (a dead letter retried starts again from 0).
  const firstSend = record.attempts === 0 && record.lastError === undefined
  if (record.kind !== 'create' || !record.seed || !firstSend || record.lookalikes !== undefined || state.clientIdsHonoured) return record
  const lookalikes: string[] = []
  for (const event of state.server.events) if (fingerprintMatches(record.seed, event, record.queuedAt)) lookalikes.push(event.id)
  // Usually none, and then nothing is kept.
  return lookalikes.length ? { ...record, lookalikes } : record
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
 * A delete made against the client id of a create the server has since named otherwise (in
 * another tab, or while taking over) goes to the server's id, which the create's record holds,
 * or once that record has ended, the state's renames.
 */
function toServerId(record: MutationRecord, records: readonly MutationRecord[], renamed: ReadonlyMap<string, string>): MutationRecord {
  if (record.kind !== 'delete') return record
  // A create that has this id now (a client id used again, say) is the one meant.
  if (records.some((r) => r.kind === 'create' && r.eventId === record.eventId)) return record
  const create = records.find((r) => r.kind === 'create' && r.seed?.internal_identifier === record.eventId && r.eventId !== record.eventId)
  const serverId = create?.eventId ?? renamed.get(record.eventId)
  return serverId !== undefined ? { ...record, eventId: serverId } : record
}

/** Queued and never sent, or every failure so far was an answer from the server that it did not commit. */
function neverReachedServer(record: MutationRecord): boolean {
  return record.state !== 'sending' && !record.ambiguous
}

function confirm(state: SyncState, id: string, event: WorkstreamEvent | undefined): SyncState {
  const record = state.records.find((r) => r.id === id)
  if (!record || record.state === 'confirmed') return state
  const newId = event && event.id !== record.eventId ? event.id : undefined
  const honoured = state.clientIdsHonoured || (event !== undefined && record.seed?.internal_identifier === event.id)
  const records = state.records.map((r): MutationRecord => {
    if (r === record) {
      const done: MutationRecord = { ...r, state: 'confirmed', confirmedSeq: state.requestedSeq, ...(event ? { confirmed: event } : {}), ...(newId ? { eventId: newId } : {}) }
      return withoutKeys(done, 'lastError', 'nextAttemptAt', 'ambiguous')
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

function resolved(record: MutationRecord, event?: WorkstreamEvent): Settlement {
  return { mutationId: record.id, outcome: 'resolved', ...(record.origin ? { origin: record.origin } : {}), ...(event ? { event } : {}) }
}

function rejected(record: MutationRecord, error: MutationError): Settlement {
  return { mutationId: record.id, outcome: 'rejected', error, ...(record.origin ? { origin: record.origin } : {}) }
}

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return items[i]
  return undefined
}

function withoutKeys<T extends object, K extends keyof T>(value: T, ...keys: K[]): T {
  const copy = { ...value }
  for (const key of keys) delete copy[key]
  return copy
}
