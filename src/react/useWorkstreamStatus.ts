import { useCallback, useSyncExternalStore } from 'react'
import type { SyncStatus, WorkstreamStore } from '../index'
import { serverStatus } from './serverSnapshots'
import { subscribeTo } from './subscribeTo'

/**
 * The store's sync status (`phase`, `lastSyncedAt`, `pending`, `dead`, `error`, `isLeader`,
 * `online`), re-rendering only when one of them changes.
 *
 * Built on `useSyncExternalStore` with `store.status` as the snapshot. Subscribing to
 * `status$` does not start polling: pair it with {@link useWorkstreamEvents} (or call
 * `store.start()`) for a status that moves. On the server, and while the browser hydrates, it
 * renders the status of a store still reading its cache (`phase: 'hydrating'`).
 *
 * @param store - A store from `createWorkstreamStore`, the same instance across renders.
 */
export function useWorkstreamStatus(store: WorkstreamStore): SyncStatus {
  const subscribe = useCallback((onChange: () => void) => subscribeTo(store.status$, onChange), [store])
  const getSnapshot = useCallback(() => store.status, [store])
  return useSyncExternalStore(subscribe, getSnapshot, serverStatus)
}
