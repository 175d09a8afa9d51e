import type { WorkstreamStore } from '../../../src/index'

/** What the test page exposes as `window.harness`, for tests to drive with `page.evaluate`. */
export interface PageHarness {
  readonly store: WorkstreamStore
  /** The requests this page's store made, by route, and the snapshot responses it received. */
  readonly fetches: { snapshot: number; create: number; delete: number; snapshotResponses: number }
  /** The first render that showed any event: what it showed and what had happened by then. */
  readonly firstPaint: { ids: string[]; snapshotResponsesBefore: number } | undefined
  /** Everything `errors$` reported. */
  readonly errors: ReadonlyArray<{ kind: string; message: string }>
  /** How many times this page read the whole IndexedDB cache. */
  cacheReads(): number
  /** The ids the page shows, in order. */
  rendered(): string[]
  /** The ids of every render of the event list since the page loaded, in order (the first is the store's initial value). */
  readonly renders: ReadonlyArray<readonly string[]>
  /** Creates an event from a valid seed; returns its optimistic id at once. */
  create(readable: string): string
  /** Resolves with the server's id once the create with this optimistic id is confirmed. */
  confirmed(id: string): Promise<string>
  /**
   * How the create with this optimistic id ended so far: `'pending'`, `'confirmed'`, or the
   * `kind` of the error its promise rejected with (such as `'aborted'`); undefined for no such create.
   */
  outcome(id: string): string | undefined
  /** Every entry of the library's IndexedDB databases, as `[database and key, value as JSON]`, read directly. */
  storedEntries(): Promise<Array<[string, string]>>
  /** The event ids in this page's IndexedDB cache, read directly from the database. */
  cachedEventIds(): Promise<string[]>
  /**
   * Resolves once the cache holds `count` events, reading it once per animation frame, and
   * rejects after `timeoutMs`. (Playwright's waitForFunction does not await a promise.)
   */
  waitForCachedEvents(count: number, timeoutMs?: number): Promise<void>
}

/** The page's query parameters. */
export interface PageConfig {
  /** The embedded server's base URL. */
  server: string
  /** The store's pollIntervalMs. */
  poll: number
  /** The coordinator's heartbeatMs. */
  heartbeat: number
  /** `'browser'`: the store gets `browserTabCoordinator` explicitly; `'default'`: the store's own default. */
  tabs: 'browser' | 'default'
}

declare global {
  interface Window {
    harness: PageHarness
  }
}
