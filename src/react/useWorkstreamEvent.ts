import { useCallback, useSyncExternalStore } from 'react'
import type { WorkstreamEvent, WorkstreamStore } from '../index'
import { serverEvent } from './serverSnapshots'
import { subscribeTo } from './subscribeTo'

/**
 * One event by id, or `undefined` while there is none (not loaded yet, deleted, or an
 * unknown id). Re-renders only when that event changes, not when others do.
 *
 * Built on `useSyncExternalStore` with `store.get(id)` as the snapshot. Mounting subscribes to
 * `store.event$(id)`, which starts polling. On the server, and while the browser hydrates, it
 * renders `undefined` and starts nothing. A confirmed create whose server id differs from the client id is found under the
 * server's id afterwards: pass the id from `confirmed` once it resolves.
 *
 * @param store - A store from `createWorkstreamStore`, the same instance across renders.
 * @param id - The event's id.
 */
export function useWorkstreamEvent(store: WorkstreamStore, id: string): WorkstreamEvent | undefined {
  const subscribe = useCallback((onChange: () => void) => subscribeTo(store.event$(id), onChange), [store, id])
  const getSnapshot = useCallback(() => store.get(id), [store, id])
  return useSyncExternalStore(subscribe, getSnapshot, serverEvent)
}
