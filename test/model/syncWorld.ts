import { IDBFactory } from 'fake-indexeddb'
import type { WorkstreamEvent } from '../../src/models'
import type { WorkstreamServer } from '../../src/server/index'
import { indexedDbStorage, type SyncStorage } from '../../src/storage'
import { createWorkstreamStore } from '../../src/store'
import type { WorkstreamStore } from '../../src/workstreamStore'
import { auditWorld, type Audit, type AuditedStore } from './audit'
import type { CreateTrack } from './tracks'
import { startWorldServer, WorldBase, type WorldOptions } from './worldBase'
import { sameEvents, switchable, within, type Switchable } from './worldTools'

export { isModelMarker, type WorldOptions } from './worldBase'

/*
 * One app, one embedded server and another client that changes the server behind the app's
 * back. The app's store runs on a fake IndexedDB database that survives reloads. Every
 * operation is recorded, so that an audit can say what must be true once the faults stop.
 * Used by the model-based property tests and by the soak run; it imports nothing from vitest.
 */
export class SyncWorld extends WorldBase {
  readonly online: Switchable
  store: WorkstreamStore
  generation = 0
  readonly #storage: SyncStorage
  #unsubscribe: () => void

  private constructor(server: WorkstreamServer, options: Required<WorldOptions>) {
    super(server, options)
    this.online = switchable(true)
    this.#storage = indexedDbStorage({ name: 'model', indexedDB: new IDBFactory() })
    this.store = this.#newStore()
    this.#unsubscribe = this.#watch()
  }

  static async start(options: WorldOptions): Promise<SyncWorld> {
    const { server, options: resolved } = await startWorldServer(options)
    return new SyncWorld(server, resolved)
  }

  openStores(): readonly AuditedStore[] {
    return [{ name: '', store: this.store }]
  }

  disposed(generation: number): boolean {
    return generation < this.generation
  }

  /** The app creates an event, with or without its own internal_identifier. */
  create(callerId: boolean): void {
    this.createIn(this.store, this.generation, callerId)
  }

  /** The app deletes one of its own creates, by the id it sees now (pending or confirmed). */
  deleteOwn(pick: number): void {
    const own = this.ownCreateIn(this.store, pick)
    if (!own) return
    this.stats.operations++
    own.track.deletedByApp = true
    this.deleteIn(this.store, this.generation, own.id, own.track)
  }

  /** The app deletes an event it sees that it did not create. */
  deleteListed(pick: number): void {
    const event = this.listedIn(this.store, pick)
    if (!event) return
    this.stats.operations++
    this.appDeleted.add(event.id)
    this.deleteIn(this.store, this.generation, event.id)
  }

  /** The app deletes, by an id it kept, an event that the other client deleted already. */
  deleteGone(pick: number): void {
    const id = this.goneId(pick)
    if (id === undefined) return
    this.stats.operations++
    this.appDeleted.add(id)
    this.deleteIn(this.store, this.generation, id)
  }

  /** The app calls delete() a second time for something it deleted already. */
  deleteAgain(pick: number): void {
    const track = this.deletes[pick % Math.max(this.deletes.length, 1)]
    if (!track) return
    this.stats.operations++
    this.deleteIn(this.store, this.generation, track.id, track.create)
  }

  async refresh(): Promise<void> {
    this.stats.operations++
    await within(this.store.refresh().catch(() => {}), 5_000, 'refresh()').catch((error: Error) => this.violate('stuck', error.message))
  }

  /** Waits for the outbox to drain: only while online, where it must end. */
  async flush(): Promise<void> {
    if (!this.online.get()) return
    this.stats.operations++
    await within(this.store.flush(), 5_000, 'flush()').catch((error: Error) => this.violate('stuck', error.message))
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

  /** What must hold after every operation: optimistic creates stay, optimistic deletes stay hidden. */
  checkAlways(): void {
    this.checkView(this.store, { shows: () => true, hides: (track) => track.deletedByApp, hiddenIds: this.appDeleted })
  }

  /** Stops the faults, goes online, and flushes and refreshes until the store has nothing left to do. */
  async converge(): Promise<void> {
    this.server.faults.clear()
    this.online.set(true)
    for (let round = 0; round < 10; round++) {
      for (const entry of this.store.outbox) if (entry.state === 'dead') this.store.retryMutation(entry.id)
      const flushed = await within(this.store.flush(), 5_000, 'flush() after the faults stopped').then(() => true, (error: Error) => (this.violate('stuck', error.message), false))
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

  protected holdsCreate(track: CreateTrack, event: WorkstreamEvent): boolean {
    if (this.store.status.phase === 'hydrating') return true
    return this.store.outbox.some((m) => m.kind === 'create' && (m.eventId === track.clientId || m.eventId === event.id))
  }

  #newStore(): WorkstreamStore {
    const store = createWorkstreamStore({ ...this.storeOptions(), storage: this.#storage, online: this.online })
    if (this.options.pollIntervalMs > 0) store.start()
    return store
  }

  #watch(): () => void {
    const subscription = this.store.outbox$.subscribe((outbox) => {
      this.stats.peakOutbox = Math.max(this.stats.peakOutbox, outbox.length)
    })
    return () => subscription.unsubscribe()
  }
}
