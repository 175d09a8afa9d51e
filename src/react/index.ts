/**
 * React hooks over a store, built on `useSyncExternalStore`.
 *
 * @module workstream-sync/react
 */
export { useWorkstreamEvents } from './useWorkstreamEvents'
export { useWorkstreamEvent } from './useWorkstreamEvent'
export { useWorkstreamStatus } from './useWorkstreamStatus'
export { useWorkstreamOutbox } from './useWorkstreamOutbox'
