import { IDBFactory } from 'fake-indexeddb'
import type { WorkstreamEvent } from '../../src/models'
import { startWorkstreamServer, type Route, type WorkstreamServer } from '../../src/server/index'
import { indexedDbStorage, type SyncStorage } from '../../src/storage'
import { createWorkstreamStore } from '../../src/store'
import type { WorkstreamStore } from '../../src/workstreamStore'
import { makeEvent, makeSeed } from '../support/events'
import { auditWorld, type Audit } from './audit'
import type { CreateTrack, DeleteTrack, FindingKind, WorldStats } from './tracks'
import { FAULT_KINDS, faultOf, type FaultKind } from './worldFaults'
import { sameEvents, switchable, within, type Switchable } from './worldTools'

/*
 * One app, one embedded server and another client that changes the server behind the app's
 * back. The app's store runs on a fake IndexedDB database that survives reloads. Every
 * operation is recorded, so that an audit can say what must be true once the faults stop.
 * Used by the model-based property tests and by the soak run; it imports nothing from vitest.
 */

export interface WorldOptions {
  /** The server takes the client id (Pieces OS does); false exercises the fingerprint path. */
  honourInternalIdentifier: boolean
  unknownDeleteStatus: 404 | 500
  /** The client's deadline. Default 200 ms: a `timeout` fault waits a little longer than that. */
  timeoutMs?: number
  /** Default 0: snapshots only on refresh() and when the outbox needs one; more polls race with everything else. */
  pollIntervalMs?: number
}

const MARKER = 'model-create-'
const OTHER = 'other-client-'

export class SyncWorld {
  readonly server: WorkstreamServer
  readonly options: Required<WorldOptions>
  readonly online: Switchable
  readonly creates: CreateTrack[] = []
  readonly deletes: DeleteTrack[] = []
  /** Ids of events that are not the app's creates and that the app deleted. */
  readonly appDeleted = new Set<string>()
  /** Ids the other client deleted. */
  readonly otherDeleted: string[] = []
  /** What went wrong during the run, in words (the first 50), and counted by kind. */
  readonly violations: string[] = []
  readonly findings: Record<FindingKind, number> = { lost: 0, resurrected: 0, stuck: 0, wrongOutcomes: 0 }
  readonly stats: WorldStats = { operations: 0, faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>, reloads: 0, peakOutbox: 0 }
  store: WorkstreamStore
  generation = 0
  readonly #storage: SyncStorage
  #counter = 0
  readonly #seen = new Set<string>()
  #unsubscribe: () => void

  private constructor(server: WorkstreamServer, options: Required<WorldOptions>) {
    this.server = server
    this.options = options
    this.online = switchable(true)
    this.#storage = indexedDbStorage({ name: 'model', indexedDB: new IDBFactory() })
    this.store = this.#newStore()
    this.#unsubscribe = this.#watch()
  }

  static async start(options: WorldOptions): Promise<SyncWorld> {
    const initial = Array.from({ length: 6 }, (_, i) => makeEvent(`seeded-${i}`, i + 1))
    const server = await startWorkstreamServer({ events: initial, honourInternalIdentifier: options.honourInternalIdentifier, unknownDeleteStatus: options.unknownDeleteStatus })
    return new SyncWorld(server, { timeoutMs: 200, pollIntervalMs: 0, ...options })
  }

  /** The app creates an event, with or without its own internal_identifier. */
  create(callerId: boolean): void {
    this.stats.operations++
    const marker = `${MARKER}${++this.#counter}`
    const seed = callerId ? { ...makeSeed(marker), internal_identifier: `caller-${this.#counter}` } : makeSeed(marker)
    const { event, confirmed } = this.store.create(seed)
    if (this.store.get(event.id) !== event) this.#violate('lost', `lost: create(${marker}) was not in the view when create() returned`)
    const track: CreateTrack = { marker, clientId: event.id, callerId, generation: this.generation, deletedByApp: false, deletedByOther: false }
    this.creates.push(track)
    confirmed.then((resolved) => (track.outcome = { resolved }), (rejected: unknown) => (track.outcome = { rejected }))
  }

  /** The app deletes one of its own creates, by the id it sees now (pending or confirmed). */
  deleteOwn(pick: number): void {
    const candidates = this.creates.filter((t) => !t.deletedByApp)
    const track = candidates[pick % Math.max(candidates.length, 1)]
    const id = track && this.store.events.find((e) => e.readable === track.marker)?.id
    if (!track || id === undefined) return
    this.stats.operations++
    track.deletedByApp = true
    this.#delete(id, track)
  }

  /** The app deletes an event it sees that it did not create. */
  deleteListed(pick: number): void {
    const candidates = this.store.events.filter((e) => !e.readable?.startsWith(MARKER))
    const event = candidates[pick % Math.max(candidates.length, 1)]
    if (!event) return
    this.stats.operations++
    this.appDeleted.add(event.id)
    this.#delete(event.id)
  }

  /** The app deletes, by an id it kept, an event that the other client deleted already. */
  deleteGone(pick: number): void {
    const id = this.otherDeleted[pick % Math.max(this.otherDeleted.length, 1)]
    if (id === undefined || id.startsWith('caller-') || this.creates.some((t) => t.clientId === id)) return
    this.stats.operations++
    this.appDeleted.add(id)
    this.#delete(id)
  }

  /** The app calls delete() a second time for something it deleted already. */
  deleteAgain(pick: number): void {
    const track = this.deletes[pick % Math.max(this.deletes.length, 1)]
    if (!track) return
    this.stats.operations++
    this.#delete(track.id, track.create)
  }

  async refresh(): Promise<void> {
    this.stats.operations++
    await within(this.store.refresh().catch(() => {}), 5_000, 'refresh()').catch((error: Error) => this.#violate('stuck', error.message))
  }

  /** Waits for the outbox to drain: only while online, where it must end. */
  async flush(): Promise<void> {
    if (!this.online.get()) return
    this.stats.operations++
    await within(this.store.flush(), 5_000, 'flush()').catch((error: Error) => this.#violate('stuck', error.message))
  }

  otherCreate(): void {
    this.stats.operations++
    this.server.create(makeSeed(`${OTHER}${++this.#counter}`))
  }

  /** The other client deletes an event, but never an app's create whose outcome the store may still resolve by sending it again. */
  otherDelete(pick: number): void {
    const candidates = this.server.events().filter((e) => this.#otherMayChange(e))
    const event = candidates[pick % Math.max(candidates.length, 1)]
    if (!event) return
    this.stats.operations++
    this.server.delete(event.id)
    this.otherDeleted.push(event.id)
    const track = this.creates.find((t) => t.marker === event.readable)
    if (track) track.deletedByOther = true
  }

  otherUpdate(pick: number): void {
    const candidates = this.server.events().filter((e) => this.#otherMayChange(e))
    const event = candidates[pick % Math.max(candidates.length, 1)]
    if (!event) return
    this.stats.operations++
    this.server.update(event.id, { windowTitle: `changed elsewhere ${++this.#counter}` })
  }

  fault(route: Route, kind: FaultKind): void {
    this.stats.operations++
    this.stats.faults[kind]++
    this.server.faults.add(route, faultOf(kind, this.options.timeoutMs))
  }

  setOnline(value: boolean): void {
    this.stats.operations++
    this.online.set(value)
  }

  /** Disposes the store (aborting what is on the wire) and starts another on the same database. */
  async reload(): Promise<void> {
    this.stats.operations++
    this.stats.reloads++
    this.#unsubscribe()
    await this.store.dispose()
    this.generation++
    this.store = this.#newStore()
    this.#unsubscribe = this.#watch()
  }

  /** Lets the network and the timers make progress for a few turns of the event loop. */
  async pause(turns: number): Promise<void> {
    this.stats.operations++
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }

  /** What must hold after every operation: optimistic creates stay, optimistic deletes stay hidden. */
  checkAlways(): void {
    if (this.store.status.phase === 'hydrating') return
    const visible = new Map<string, number>()
    for (const event of this.store.events) {
      if (event.readable !== undefined) visible.set(event.readable, (visible.get(event.readable) ?? 0) + 1)
    }
    for (const track of this.creates) {
      const count = visible.get(track.marker) ?? 0
      if (track.deletedByApp && count > 0) this.#violate('resurrected', `resurrected: ${track.marker}, deleted by the app, is visible again`)
      if (!track.deletedByApp && !track.deletedByOther && count === 0) this.#violate('lost', `lost: ${track.marker} vanished from the view although nobody deleted it`)
    }
    for (const id of this.appDeleted) {
      if (this.store.get(id)) this.#violate('resurrected', `resurrected: ${id}, deleted by the app, is visible again`)
    }
  }

  /** Stops the faults, goes online, and flushes and refreshes until the store has nothing left to do. */
  async converge(): Promise<void> {
    this.server.faults.clear()
    this.online.set(true)
    for (let round = 0; round < 10; round++) {
      for (const entry of this.store.outbox) if (entry.state === 'dead') this.store.retryMutation(entry.id)
      const flushed = await within(this.store.flush(), 5_000, 'flush() after the faults stopped').then(() => true, (error: Error) => (this.#violate('stuck', error.message), false))
      if (!flushed) return
      await this.store.refresh().catch(() => {})
      await this.store.refresh().catch(() => {})
      if (this.store.outbox.length === 0 && this.viewMatchesServer()) return
    }
  }

  viewMatchesServer(): boolean {
    return sameEvents(this.store.events, this.server.events())
  }

  /** Everything that must hold after converge(). */
  audit(): Audit {
    return auditWorld(this)
  }

  async close(): Promise<void> {
    this.#unsubscribe()
    await this.store.dispose()
    await this.server.close()
  }

  #newStore(): WorkstreamStore {
    const store = createWorkstreamStore({
      baseUrl: this.server.url,
      storage: this.#storage,
      online: this.online,
      pollIntervalMs: this.options.pollIntervalMs,
      timeoutMs: this.options.timeoutMs,
      // At least as long as the longest time a request waits on the server before it commits.
      ambiguityGraceMs: this.options.timeoutMs + 100,
      retry: { baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 6 },
    })
    if (this.options.pollIntervalMs > 0) store.start()
    return store
  }

  #watch(): () => void {
    const subscription = this.store.outbox$.subscribe((outbox) => {
      this.stats.peakOutbox = Math.max(this.stats.peakOutbox, outbox.length)
    })
    return () => subscription.unsubscribe()
  }

  #delete(id: string, create?: CreateTrack): void {
    const track: DeleteTrack = { id, generation: this.generation, ...(create ? { create } : {}) }
    this.deletes.push(track)
    const done = this.store.delete(id)
    if (this.store.get(id) !== undefined) this.#violate('resurrected', `resurrected: delete(${id}) left the event in the view when it returned`)
    done.then(() => (track.outcome = 'resolved'), (rejected: unknown) => (track.outcome = { rejected }))
  }

  /**
   * Whether the other client may delete or change this event now. An app's create is off limits
   * until the store holds no create for it: before that, the store cannot tell "it never landed"
   * from "it landed and someone deleted it", and sending it again is what the rules require.
   */
  #otherMayChange(event: WorkstreamEvent): boolean {
    const track = this.creates.find((t) => t.marker === event.readable)
    if (!track) return true
    if (this.store.status.phase === 'hydrating') return false
    return !this.store.outbox.some((m) => m.kind === 'create' && (m.eventId === track.clientId || m.eventId === event.id))
  }

  #violate(kind: FindingKind, message: string): void {
    // A condition that lasts is one finding, however many operations see it.
    if (this.#seen.has(message)) return
    this.#seen.add(message)
    this.findings[kind]++
    if (this.violations.length < 50) this.violations.push(message)
  }
}

export function isModelMarker(readable: string | undefined): boolean {
  return readable?.startsWith(MARKER) === true
}
