import { useCallback, useSyncExternalStore } from 'react'
import type { WorkstreamEvent, WorkstreamStore } from '../index'
import { serverEvents } from './serverSnapshots'
import { subscribeTo } from './subscribeTo'

/**
 * The store's events, newest `created` first, re-rendering only when the list changes.
 *
 * Built on `useSyncExternalStore` with `store.events` as the snapshot, so concurrent renders
 * never tear and an unchanged poll renders nothing. Mounting subscribes to `events$`, which
 * starts the store's polling; rendering alone (on the server with `renderToString`, or before
 * the commit) never does. On the server, and while the browser hydrates that markup, it renders
 * an empty list, the same on both sides, and the store's events right after hydration.
 * Unmounting unsubscribes; it does not stop or dispose the store.
 *
 * @param store - A store from `createWorkstreamStore`. Keep the same instance across renders
 *   (create it outside the component or in `useState`), or every render resubscribes.
 * @returns `store.events`: the same array until something changes.
 */
export function useWorkstreamEvents(store: WorkstreamStore): readonly WorkstreamEvent[] {
  const subscribe = useCallback((onChange: () => void) => subscribeTo(store.events$, onChange), [store])
  const getSnapshot = useCallback(() => store.events, [store])
  return useSyncExternalStore(subscribe, getSnapshot, serverEvents)
}
