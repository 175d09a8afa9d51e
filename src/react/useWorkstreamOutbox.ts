import { useCallback, useSyncExternalStore } from 'react'
import type { PendingMutation, WorkstreamStore } from '../index'
import { serverOutbox } from './serverSnapshots'
import { subscribeTo } from './subscribeTo'

/**
 * The mutations not yet confirmed, in queue order, dead letters (`state: 'dead'`) included:
 * what a UI marks as pending, failing (`lastError` while `waiting`) or given up, with
 * `store.retryMutation(id)` and `store.discardMutation(id)` for the dead ones.
 *
 * Built on `useSyncExternalStore` with `store.outbox` as the snapshot. Does not start polling.
 * On the server, and while the browser hydrates, it renders an empty outbox.
 *
 * @param store - A store from `createWorkstreamStore`, the same instance across renders.
 */
export function useWorkstreamOutbox(store: WorkstreamStore): readonly PendingMutation[] {
  const subscribe = useCallback((onChange: () => void) => subscribeTo(store.outbox$, onChange), [store])
  const getSnapshot = useCallback(() => store.outbox, [store])
  return useSyncExternalStore(subscribe, getSnapshot, serverOutbox)
}
