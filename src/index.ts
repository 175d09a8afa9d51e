/**
 * A live, cached and optimistic copy of a Pieces OS user's workstream events, as RxJS
 * observables. Start with {@link createWorkstreamStore}; {@link createWorkstreamClient} is the
 * stateless HTTP client underneath. The wire types are the JSON of the Pieces OS API, key for
 * key: convert official model objects with the official `*ToJSON` functions.
 *
 * @module workstream-sync
 */
export { createWorkstreamClient, DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS } from './client'
export type { ClientOptions, DeleteOptions, SnapshotChunksOptions, SnapshotOptions, WorkstreamClient } from './client'
export { createWorkstreamStore } from './store'
export type { WorkstreamStore } from './workstreamStore'
export type { StoreOptions } from './storeOptions'
export { WorkstreamSyncError } from './errors'
export type { WorkstreamSyncErrorKind, WorkstreamSyncErrorOptions } from './errors'
export { memoryStorage, indexedDbStorage } from './storage'
export type { IndexedDbStorageOptions, SyncStorage, SyncStorageArea } from './storage'
export type { SyncPhase, SyncStatus } from './status'
export type { MutationError, MutationFailure, MutationRecord, MutationState, PendingMutation, Settlement } from './mutation'
export type { EventChanges } from './view'
export type { RetryOptions } from './retry'
export type { LogLevel, LoggerOptions, LogSink } from './logger'
export { manualSource } from './environment'
export type { ManualSource, SignalSource, Timers } from './environment'
export type { TabCoordinator, TabMessage } from './tabs'
export { soloCoordinator } from './tabs'
export { browserTabCoordinator } from './browserTabs'
export type { BrowserTabOptions } from './browserTabs'
export {
  checkSeededWorkstreamEvent,
  checkWorkstreamEvent,
  parseSeededWorkstreamEvent,
  parseWorkstreamEvent,
  parseWorkstreamEvents,
} from './validate'
export type * from './models'
