import type { WorkstreamSyncError } from './errors'

/**
 * Where the store is. `hydrating`: reading the cache. `idle`: not polling yet. `syncing`: the
 * first snapshot is on its way. `synced`: the last snapshot applied. `offline`: waiting for the
 * network. `error`: the last snapshot failed (the last good state stays). `disposed`: done.
 */
export type SyncPhase = 'hydrating' | 'idle' | 'syncing' | 'synced' | 'offline' | 'error' | 'disposed'

/** A snapshot of how the store's sync is going, as `status$` emits it. A new object only when a field changed. */
export interface SyncStatus {
  /** Where the store is; see {@link SyncPhase}. */
  readonly phase: SyncPhase
  /** When a snapshot was last applied (ms since the epoch), also from the cache. */
  readonly lastSyncedAt: number | undefined
  /** Mutations not yet confirmed, dead letters aside. */
  readonly pending: number
  /** Dead letters: mutations that gave up and wait for `retryMutation` or `discardMutation`. */
  readonly dead: number
  /** The last snapshot error, until a snapshot succeeds. */
  readonly error: WorkstreamSyncError | undefined
  /** Whether this store polls and sends (the leader of its tabs). */
  readonly isLeader: boolean
  /** Whether the network is up, as the store's `online` source says (default: `navigator.onLine`; always true in Node). */
  readonly online: boolean
}

export function sameStatus(a: SyncStatus, b: SyncStatus): boolean {
  return a.phase === b.phase && a.lastSyncedAt === b.lastSyncedAt && a.pending === b.pending && a.dead === b.dead && a.error === b.error && a.isLeader === b.isLeader && a.online === b.online
}

export interface StatusInputs {
  readonly disposed: boolean
  readonly hydrated: boolean
  readonly online: boolean
  readonly fetching: boolean
  readonly polling: boolean
  readonly lastError: WorkstreamSyncError | undefined
  readonly fromNetwork: boolean
  readonly lastSyncedAt: number | undefined
  readonly isLeader: boolean
  readonly records: ReadonlyArray<{ readonly state: string }>
}

/** The status that follows from the store's parts. */
export function deriveStatus(input: StatusInputs): SyncStatus {
  let pending = 0
  let dead = 0
  for (const record of input.records) {
    if (record.state === 'dead') dead++
    else if (record.state !== 'confirmed') pending++
  }
  const phase: SyncPhase = input.disposed
    ? 'disposed'
    : !input.hydrated
      ? 'hydrating'
      : !input.online
        ? 'offline'
        : input.lastError
          ? 'error'
          : input.fromNetwork
            ? 'synced'
            : input.fetching || input.polling
              ? 'syncing'
              : 'idle'
  return { phase, lastSyncedAt: input.lastSyncedAt, pending, dead, error: input.lastError, isLeader: input.isLeader, online: input.online }
}
