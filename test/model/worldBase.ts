import type { WorkstreamEvent } from '../../src/models'
import type { Route, WorkstreamServer } from '../../src/server/index'
import type { StoreOptions } from '../../src/storeOptions'
import type { WorkstreamStore } from '../../src/workstreamStore'
import { makeEvent, makeSeed } from '../support/events'
import { startWorkstreamServer } from '../../src/server/index'
import type { AuditedStore, AuditedWorld } from './audit'
import type { CreateTrack, DeleteTrack, FindingKind, WorldStats } from './tracks'
import { FAULT_KINDS, faultOf, type FaultKind } from './worldFaults'

/*
 * What every world shares, whatever its number of stores: the embedded server, the other client
 * that changes it behind the app's back, the faults, the record of the app's creates and deletes
 * and of what went wrong. A world adds its stores (one, or one per tab) on top. It imports
 * nothing from vitest.
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

/** The server a world starts with: six events the app did not create. */
export async function startWorldServer(options: WorldOptions): Promise<{ server: WorkstreamServer; options: Required<WorldOptions> }> {
  const initial = Array.from({ length: 6 }, (_, i) => makeEvent(`seeded-${i}`, i + 1))
  const server = await startWorkstreamServer({ events: initial, honourInternalIdentifier: options.honourInternalIdentifier, unknownDeleteStatus: options.unknownDeleteStatus })
  return { server, options: { timeoutMs: 200, pollIntervalMs: 0, ...options } }
}

export abstract class WorldBase implements AuditedWorld {
  readonly server: WorkstreamServer
  readonly options: Required<WorldOptions>
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
  #counter = 0
  readonly #seen = new Set<string>()

  protected constructor(server: WorkstreamServer, options: Required<WorldOptions>) {
    this.server = server
    this.options = options
  }

  /** The stores open now, each named for the findings. */
  abstract openStores(): readonly AuditedStore[]
  /** Whether the store that the promises of `generation` belong to was disposed. */
  abstract disposed(generation: number): boolean
  /** Whether some store (or its storage) may still send a create of this event of the app's. */
  protected abstract holdsCreate(track: CreateTrack, event: WorkstreamEvent): boolean

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

  /** Lets the network and the timers make progress for a few turns of the event loop. */
  async pause(turns: number): Promise<void> {
    this.stats.operations++
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }

  /** The options of every store of the world, on `storage`. */
  protected storeOptions(): StoreOptions & { ambiguityGraceMs: number } {
    return {
      baseUrl: this.server.url,
      pollIntervalMs: this.options.pollIntervalMs,
      timeoutMs: this.options.timeoutMs,
      // At least as long as the longest time a request waits on the server before it commits.
      ambiguityGraceMs: this.options.timeoutMs + 100,
      retry: { baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 6 },
    }
  }

  /** The app creates an event in `store`, with or without its own internal_identifier. */
  protected createIn(store: WorkstreamStore, generation: number, callerId: boolean): CreateTrack {
    this.stats.operations++
    const n = ++this.#counter
    const marker = `${MARKER}${n}`
    const seed = callerId ? { ...makeSeed(marker), internal_identifier: `caller-${n}` } : makeSeed(marker)
    const { event, confirmed } = store.create(seed)
    if (store.get(event.id) !== event) this.violate('lost', `lost: create(${marker}) was not in the view when create() returned`)
    const track: CreateTrack = { marker, clientId: event.id, callerId, generation, deletedByApp: false, deletedByOther: false }
    this.creates.push(track)
    confirmed.then((resolved) => (track.outcome = { resolved }), (rejected: unknown) => (track.outcome = { rejected }))
    return track
  }

  /** The app's create that `pick` chooses among those it has not deleted, and its id in `store`'s view now. */
  protected ownCreateIn(store: WorkstreamStore, pick: number): { track: CreateTrack; id: string } | undefined {
    const candidates = this.creates.filter((t) => !t.deletedByApp)
    const track = candidates[pick % Math.max(candidates.length, 1)]
    const id = track && store.events.find((e) => e.readable === track.marker)?.id
    return track && id !== undefined ? { track, id } : undefined
  }

  /** An event `store` shows that the app did not create. */
  protected listedIn(store: WorkstreamStore, pick: number): WorkstreamEvent | undefined {
    const candidates = store.events.filter((e) => !isModelMarker(e.readable))
    return candidates[pick % Math.max(candidates.length, 1)]
  }

  /** An id the other client deleted and the app may have kept; not one of the app's creates. */
  protected goneId(pick: number): string | undefined {
    const id = this.otherDeleted[pick % Math.max(this.otherDeleted.length, 1)]
    if (id === undefined || id.startsWith('caller-') || this.creates.some((t) => t.clientId === id)) return undefined
    return id
  }

  /** The app deletes `id` in `store`. */
  protected deleteIn(store: WorkstreamStore, generation: number, id: string, create?: CreateTrack): DeleteTrack {
    const track: DeleteTrack = { id, generation, ...(create ? { create } : {}) }
    this.deletes.push(track)
    const done = store.delete(id)
    if (store.get(id) !== undefined) this.violate('resurrected', `resurrected: delete(${id}) left the event in the view when it returned`)
    done.then(() => (track.outcome = 'resolved'), (rejected: unknown) => (track.outcome = { rejected }))
    return track
  }

  /**
   * What must hold in one store's view after every operation: the creates it must show stay
   * (unless someone deleted them), the deletes it made stay hidden.
   */
  protected checkView(store: WorkstreamStore, scope: { shows(track: CreateTrack): boolean; hides(track: CreateTrack): boolean; hiddenIds: Iterable<string>; name?: string }): void {
    if (store.status.phase === 'hydrating') return
    const where = scope.name ? ` in ${scope.name}` : ''
    const visible = new Map<string, number>()
    for (const event of store.events) {
      if (event.readable !== undefined) visible.set(event.readable, (visible.get(event.readable) ?? 0) + 1)
    }
    for (const track of this.creates) {
      const count = visible.get(track.marker) ?? 0
      if (count > 0 && scope.hides(track)) this.violate('resurrected', `resurrected: ${track.marker}, deleted by the app, is visible again${where}`)
      if (count === 0 && scope.shows(track) && !track.deletedByApp && !track.deletedByOther) this.violate('lost', `lost: ${track.marker} vanished from the view${where} although nobody deleted it`)
    }
    for (const id of scope.hiddenIds) {
      if (store.get(id)) this.violate('resurrected', `resurrected: ${id}, deleted by the app, is visible again${where}`)
    }
  }

  protected violate(kind: FindingKind, message: string): void {
    // A condition that lasts is one finding, however many operations see it.
    if (this.#seen.has(message)) return
    this.#seen.add(message)
    this.findings[kind]++
    if (this.violations.length < 50) this.violations.push(message)
  }

  /**
   * Whether the other client may delete or change this event now. An app's create is off limits
   * while a store may still send it: before that, the store cannot tell "it never landed" from
   * "it landed and someone deleted it", and sending it again is what the rules require.
   */
  #otherMayChange(event: WorkstreamEvent): boolean {
    const track = this.creates.find((t) => t.marker === event.readable)
    return !track || !this.holdsCreate(track, event)
  }
}

export function isModelMarker(readable: string | undefined): boolean {
  return readable?.startsWith(MARKER) === true
}
