import type { PendingMutation, SyncStatus, WorkstreamEvent } from '../index'

/*
 * What the hooks render on the server and while the browser hydrates that markup: the state of a
 * store that has read nothing yet. Both sides must render the same, and a server's store and a
 * page's store never hold the same data (the page's has its own cache, or is still reading it):
 * the page renders its store's state right after hydration.
 */

const NO_EVENTS: readonly WorkstreamEvent[] = Object.freeze([])
const NO_MUTATIONS: readonly PendingMutation[] = Object.freeze([])
const STARTING: SyncStatus = Object.freeze({ phase: 'hydrating', lastSyncedAt: undefined, pending: 0, dead: 0, error: undefined, isLeader: false, online: true })

export const serverEvents = (): readonly WorkstreamEvent[] => NO_EVENTS
export const serverOutbox = (): readonly PendingMutation[] => NO_MUTATIONS
export const serverStatus = (): SyncStatus => STARTING
export const serverEvent = (): WorkstreamEvent | undefined => undefined
