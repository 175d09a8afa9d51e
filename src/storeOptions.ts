import { createWorkstreamClient, DEFAULT_BASE_URL, type ClientOptions, type WorkstreamClient } from './client'
import { browserOnlineSource, browserVisibilitySource, globalTimers, randomId, type SignalSource, type Timers } from './environment'
import { checkDelay, WorkstreamSyncError } from './errors'
import { createLogger, type Logger, type LoggerOptions, type LogLevel } from './logger'
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from './retry'
import { indexedDbStorage, memoryStorage, type SyncStorage } from './storage'
import { soloCoordinator, type TabCoordinator } from './tabs'

/** Options of {@link createWorkstreamStore}. The client options apply when `client` is not given. */
export interface StoreOptions extends ClientOptions {
  /**
   * A ready client. Default: `createWorkstreamClient(options)`. It has its own base URL, application
   * id, deadline and fetch: giving any of those options too is an `invalid-input` error.
   */
  client?: WorkstreamClient
  /** Where the cache and the outbox live. Default: IndexedDB where it exists, else memory. `false`: memory. */
  storage?: SyncStorage | false
  /**
   * Milliseconds between the end of a poll and the next. Default `5000`. `0`: no timed polls and
   * no retries of a failed one: a fetch when polling starts (or the network comes back), then
   * only on `refresh()`.
   */
  pollIntervalMs?: number
  /** Passed to the server on snapshots and creates. Default: not sent (the server's default, true). */
  transferables?: boolean
  /** Backoff and dead letters. Defaults: `{ baseDelayMs: 1000, maxDelayMs: 30000, maxAttempts: 8 }`. */
  retry?: RetryOptions
  /** Debug tracing of polls, diffs and mutations. Default `'off'`. */
  logger?: LoggerOptions | LogLevel
  /** The clock. Default `Date.now`. */
  now?: () => number
  /** Default: the global `setTimeout`/`clearTimeout`, read at call time. */
  timers?: Timers
  /** Default `Math.random`. */
  random?: () => number
  /** Client ids of creates and ids of mutations. Default: `crypto.randomUUID()`. */
  generateId?: () => string
  /** Default: `navigator.onLine` and the window's online/offline events; always online in Node. */
  online?: SignalSource
  /** Default: `document.visibilityState`; always visible in Node. */
  visible?: SignalSource
  /** How tabs elect a leader and talk. Default: Web Locks and BroadcastChannel where both exist, else alone. */
  tabs?: TabCoordinator | false
  /** How long after an ambiguous create failure a snapshot may say "not there". Default: the client's `timeoutMs`. */
  ambiguityGraceMs?: number
}

export interface ResolvedStoreOptions {
  client: WorkstreamClient
  namespace: string
  storage: SyncStorage
  pollIntervalMs: number
  transferables: boolean | undefined
  retry: ResolvedRetryOptions
  logger: Logger
  now: () => number
  timers: Timers
  random: () => number
  generateId: () => string
  online: SignalSource
  visible: SignalSource
  tabs: (namespace: string) => TabCoordinator
  graceMs: number
}

/**
 * IndexedDB in browsers, memory in Node. A browser without IndexedDB (some private modes)
 * still gets the IndexedDB storage, whose failure to open falls back to memory and is reported.
 */
function defaultStorage(): SyncStorage {
  return typeof indexedDB !== 'undefined' || typeof window !== 'undefined' ? indexedDbStorage() : memoryStorage()
}

/**
 * The namespace of a store's cache and tabs: its base URL and application id, encoded as a
 * pair so that no base URL and application id can spell another's.
 */
export function storeNamespace(baseUrl: string, applicationId?: string): string {
  return JSON.stringify([baseUrl, applicationId ?? ''])
}

export type TabCoordinatorFactory = (namespace: string) => TabCoordinator

export function resolveStoreOptions(options: StoreOptions, defaultTabs: TabCoordinatorFactory): ResolvedStoreOptions {
  if (options.client) {
    const ignored = (['baseUrl', 'applicationId', 'timeoutMs', 'fetch'] as const).filter((key) => options[key] !== undefined)
    if (ignored.length) {
      throw new WorkstreamSyncError('invalid-input', `client and ${ignored.join(', ')} were both given; the client already has its own. Pass them to createWorkstreamClient() instead, or drop client.`)
    }
  }
  const client = options.client ?? createWorkstreamClient(options)
  const pollIntervalMs = checkDelay('pollIntervalMs', options.pollIntervalMs ?? 5000, false, ' 0 turns timed polls off.')
  const random = options.random ?? Math.random
  const tabs = options.tabs
  return {
    client,
    namespace: storeNamespace(client.baseUrl ?? DEFAULT_BASE_URL, client.applicationId),
    storage: options.storage === false ? memoryStorage() : options.storage ?? defaultStorage(),
    pollIntervalMs,
    transferables: options.transferables,
    retry: resolveRetryOptions(options.retry),
    logger: createLogger(options.logger),
    now: options.now ?? (() => Date.now()),
    timers: options.timers ?? globalTimers,
    random,
    generateId: options.generateId ?? (() => randomId(random)),
    online: options.online ?? browserOnlineSource(),
    visible: options.visible ?? browserVisibilitySource(),
    tabs: tabs === false ? soloCoordinator : tabs ? () => tabs : defaultTabs,
    graceMs: options.ambiguityGraceMs !== undefined ? checkDelay('ambiguityGraceMs', options.ambiguityGraceMs) : client.timeoutMs ?? 30_000,
  }
}
