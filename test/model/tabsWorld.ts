import { firstValueFrom, filter, merge, type Observable } from 'rxjs'
import type { WorkstreamEvent } from '../../src/models'
import type { MutationRecord } from '../../src/mutation'
import type { WorkstreamServer } from '../../src/server/index'
import { memoryStorage, type SyncStorage, type SyncStorageArea } from '../../src/storage'
import { createWorkstreamStore } from '../../src/store'
import type { TabCoordinator } from '../../src/tabs'
import type { WorkstreamStore } from '../../src/workstreamStore'
import { memoryTabs } from '../support/memoryTabs'
import { auditWorld, storeProblems, type Audit, type AuditedStore } from './audit'
import type { CreateTrack } from './tracks'
import { startWorldServer, WorldBase, type WorldOptions } from './worldBase'
import { switchable, within, type Switchable } from './worldTools'

/*
 * One app open in several tabs: stores of one namespace on one tab hub (the first to join leads,
 * the next in line takes over when it goes) and one shared storage (like one IndexedDB), against
 * the embedded server and the other client of the single-store world. Each app operation happens
 * in a tab of the world's choosing; tabs close, crash and open. It imports nothing from vitest.
 */

export interface TabsWorldOptions extends WorldOptions {
  /** How many tabs are open at most (and at the start). */
  tabs: number
  /** Every operation, and the stores' debug lines, each naming its tab: for reproductions. */
  trace?: (line: string) => void
}

/** What happened to the tabs during a run. */
export interface TabStats {
  opened: number
  leaderCloses: number
  leaderCrashes: number
  followerCloses: number
  /** Times a store that was not the first of the hub became the leader. */
  takeovers: number
}

interface Tab {
  readonly name: string
  readonly generation: number
  readonly store: WorkstreamStore
  readonly coordinator: TabCoordinator & { crash(): void }
  /** The tab's own network source; the world switches only the leader's. */
  readonly online: Switchable
  /** The app's creates this tab deleted, and the other events it deleted: it must never show them again. */
  readonly hides: Set<CreateTrack>
  readonly hiddenIds: Set<string>
  readonly unsubscribe: () => void
}

/** A wait on a store's outputs that ends once `ready()` holds, or after `ms` with an error naming `what`. */
function settles(store: WorkstreamStore, ready: () => boolean, ms: number, what: string): Promise<unknown> {
  // status$ and outbox$ emit their current value at once; changes$ reports what a broadcast applied.
  const any: Observable<unknown> = merge(store.status$, store.outbox$, store.changes$)
  return within(firstValueFrom(any.pipe(filter(() => ready()))), ms, what)
}

export class TabsWorld extends WorldBase {
  readonly maxTabs: number
  readonly tabStats: TabStats = { opened: 0, leaderCloses: 0, leaderCrashes: 0, followerCloses: 0, takeovers: 0 }
  tabs: Tab[] = []
  readonly #hub = memoryTabs()
  readonly #storage: SyncStorage
  #area: SyncStorageArea | undefined
  #generations = 0
  readonly #disposed = new Set<number>()
  /** The generations whose tab was killed. */
  readonly #killed = new Set<number>()
  /** Disposals of crashed tabs, which nobody waited for. */
  readonly #abandoned: Promise<void>[] = []
  /** The event ids of the creates the shared storage held when it was last read. */
  #storedCreates = new Set<string>()

  readonly #trace: ((line: string) => void) | undefined

  private constructor(server: WorkstreamServer, options: Required<WorldOptions>, tabs: number, trace?: (line: string) => void) {
    super(server, options)
    this.maxTabs = tabs
    this.#trace = trace
    const shared = memoryStorage()
    this.#storage = {
      kind: shared.kind,
      open: (namespace) => (this.#area = shared.open(namespace)),
    }
  }

  static async start(options: TabsWorldOptions): Promise<TabsWorld> {
    const { tabs, trace, ...rest } = options
    if (!(tabs >= 1)) throw new Error(`a tabs world needs at least one tab, got ${tabs}`)
    const { server, options: resolved } = await startWorldServer(rest)
    const world = new TabsWorld(server, resolved, tabs, trace)
    for (let i = 0; i < tabs; i++) {
      world.#open()
      // Tabs open one after another: the first is the leader once it has read the cache.
      await world.tabs[i]!.store.ready
    }
    return world
  }

  openStores(): readonly AuditedStore[] {
    return this.tabs
  }

  disposed(generation: number): boolean {
    return this.#disposed.has(generation)
  }

  killed(generation: number): boolean {
    return this.#killed.has(generation)
  }

  /** The tab that leads now (the hub elects at once when a leader goes). */
  leader(): Tab | undefined {
    return this.tabs.find((tab) => tab.coordinator.isLeader)
  }

  create(at: number, callerId: boolean): void {
    const tab = this.#tab(at)
    const track = this.createIn(tab.store, tab.generation, callerId)
    this.#note(`${tab.name}: create ${track.marker} as ${track.clientId}`)
  }

  /** The app, in a tab, deletes one of its own creates by the id that tab shows. */
  deleteOwn(at: number, pick: number): void {
    const tab = this.#tab(at)
    const own = this.ownCreateIn(tab.store, pick)
    if (!own) return
    this.stats.operations++
    own.track.deletedByApp = true
    tab.hides.add(own.track)
    this.#note(`${tab.name}: delete own ${own.track.marker} by ${own.id}`)
    this.deleteIn(tab.store, tab.generation, own.id, own.track)
  }

  deleteListed(at: number, pick: number): void {
    const tab = this.#tab(at)
    const event = this.listedIn(tab.store, pick)
    if (!event) return
    this.#deleteOther(tab, event.id)
  }

  deleteGone(at: number, pick: number): void {
    const id = this.goneId(pick)
    if (id !== undefined) this.#deleteOther(this.#tab(at), id)
  }

  /** The app deletes again, maybe in another tab, something it deleted already. */
  deleteAgain(at: number, pick: number): void {
    const track = this.deletes[pick % Math.max(this.deletes.length, 1)]
    if (!track) return
    const tab = this.#tab(at)
    this.stats.operations++
    this.#note(`${tab.name}: delete again ${track.id}${track.create ? ` (${track.create.marker})` : ''}`)
    // By the server's id, in a tab that still shows the create under the id create() returned: the
    // id came from another tab, faster than the leader's word of the rename, and nothing in this
    // tab says what it names yet. The event goes once that word comes; the final audit checks it.
    const unknownHere = track.create !== undefined && track.id !== track.create.clientId && tab.store.get(track.create.clientId) !== undefined && tab.store.get(track.id) === undefined
    if (track.create && !unknownHere) tab.hides.add(track.create)
    else if (!track.create) tab.hiddenIds.add(track.id)
    this.deleteIn(tab.store, tab.generation, track.id, track.create)
  }

  async refresh(at: number): Promise<void> {
    const tab = this.#tab(at)
    this.stats.operations++
    this.#note(`${tab.name}: refresh`)
    await within(tab.store.refresh().catch(() => {}), 5_000, `refresh() in ${tab.name}`).catch((error: Error) => this.violate('stuck', error.message))
  }

  /** Waits in a tab for the outbox to drain: only while the leader is online, where it must end. */
  async flush(at: number): Promise<void> {
    if (this.leader()?.online.get() !== true) return
    const tab = this.#tab(at)
    this.stats.operations++
    this.#note(`${tab.name}: flush`)
    await within(tab.store.flush(), 5_000, `flush() in ${tab.name}`).catch((error: Error) => this.violate('stuck', error.message))
  }

  /** The leader's tab goes offline or online. */
  setOnline(value: boolean): void {
    const tab = this.leader()
    if (!tab) return
    this.stats.operations++
    this.#note(`${tab.name} (leader): ${value ? 'online' : 'offline'}`)
    tab.online.set(value)
  }

  /** The leader's tab is closed: dispose() hands over to the next tab. One tab stays open. */
  async closeLeader(): Promise<void> {
    const tab = this.leader()
    if (!tab || this.tabs.length < 2) return
    this.stats.operations++
    this.tabStats.leaderCloses++
    this.#note(`${tab.name} (leader): close`)
    await this.#close(tab)
  }

  /** The leader's tab is killed: its lock goes, its listeners fall silent, and nobody waits for its store to wind down. */
  crashLeader(): void {
    const tab = this.leader()
    if (!tab || this.tabs.length < 2) return
    this.stats.operations++
    this.tabStats.leaderCrashes++
    this.#note(`${tab.name} (leader): crash`)
    this.#killed.add(tab.generation)
    tab.coordinator.crash()
    this.#forget(tab)
    this.#abandoned.push(tab.store.dispose().catch(() => {}))
  }

  async closeFollower(at: number): Promise<void> {
    const followers = this.tabs.filter((tab) => !tab.coordinator.isLeader)
    const tab = followers[at % Math.max(followers.length, 1)]
    // One tab stays open: while a closing leader still holds the lock, the last tab is a follower.
    if (!tab || this.tabs.length < 2) return
    this.stats.operations++
    this.tabStats.followerCloses++
    this.#note(`${tab.name}: close`)
    await this.#close(tab)
  }

  /** A new tab opens (when fewer than the most are open): a store joins the hub on the shared storage. */
  openTab(): void {
    if (this.tabs.length >= this.maxTabs) return
    this.stats.operations++
    this.#open()
  }

  /** A tab is reloaded: it closes and a new one opens on the same storage. */
  async reload(at: number): Promise<void> {
    const tab = this.#tab(at)
    this.stats.operations++
    this.stats.reloads++
    if (tab.coordinator.isLeader) this.tabStats.leaderCloses++
    else this.tabStats.followerCloses++
    this.#note(`${tab.name}: reload`)
    await this.#close(tab)
    this.#open()
  }

  /** The other client changes the server only once nothing in the tabs or the storage may still send the app's create. */
  override async otherDelete(pick: number): Promise<void> {
    await this.#readStorage()
    const before = this.otherDeleted.length
    super.otherDelete(pick)
    if (this.otherDeleted.length > before) this.#note(`other client: delete ${this.otherDeleted.at(-1)}`)
  }

  override fault(...args: Parameters<WorldBase['fault']>): void {
    this.#note(`server: fault ${args.join(' ')}`)
    super.fault(...args)
  }

  override async otherUpdate(pick: number): Promise<void> {
    await this.#readStorage()
    super.otherUpdate(pick)
  }

  /** In every tab: its own creates stay visible (until someone deletes them), its own deletes stay hidden. */
  checkAlways(): void {
    for (const tab of this.tabs) {
      this.checkView(tab.store, { shows: (track) => track.generation === tab.generation, hides: (track) => tab.hides.has(track), hiddenIds: tab.hiddenIds, name: tab.name })
    }
  }

  /**
   * Stops the faults, brings every tab online, retries the dead letters from a tab, and flushes
   * and refreshes until every tab has nothing left to do and shows the server's events.
   */
  async converge(): Promise<void> {
    this.server.faults.clear()
    for (const tab of this.tabs) tab.online.set(true)
    for (let round = 0; round < 10; round++) {
      const tab = this.tabs[round % this.tabs.length]!
      const dead = tab.store.outbox.filter((entry) => entry.state === 'dead').map((entry) => entry.id)
      for (const id of dead) tab.store.retryMutation(id)
      if (dead.length) {
        // From a follower, the retry travels to the leader first.
        await settles(tab.store, () => !tab.store.outbox.some((e) => e.state === 'dead' && dead.includes(e.id)), 5_000, `retryMutation() in ${tab.name}`).catch((error: Error) => this.violate('stuck', error.message))
      }
      const flushed = await within(Promise.all(this.tabs.map((t) => t.store.flush())), 5_000, 'flush() in every tab after the faults stopped').then(
        () => true,
        (error: Error) => (this.violate('stuck', error.message), false),
      )
      if (!flushed) return
      const leader = this.leader()
      await leader?.store.refresh().catch(() => {})
      await leader?.store.refresh().catch(() => {})
      // The followers take the leader's state; a follower that asks for it gets it whole.
      const done = (): boolean => this.tabs.every((t) => storeProblems(t.name, t.store, this.server.events(), false).length === 0)
      const caughtUp = await within(Promise.all(this.tabs.map((t) => settles(t.store, done, 1_000, 'the tabs catching up'))), 2_000, 'the tabs catching up').then(
        () => true,
        () => false,
      )
      if (caughtUp) return
    }
  }

  /**
   * After converge(): every tab shows the server's events, no outbox holds anything but dead
   * letters, and exactly one tab leads. What fails is a `stuck` finding of the run.
   */
  checkpoint(): void {
    const server = this.server.events()
    const at = `at the checkpoint after ${this.stats.operations} operations`
    for (const tab of this.tabs) for (const problem of storeProblems(tab.name, tab.store, server, true)) this.violate('stuck', `${at}: ${problem}`)
    const leaders = this.tabs.filter((tab) => tab.store.status.isLeader)
    if (leaders.length !== 1) this.violate('stuck', `${at}: ${leaders.length} tabs say they lead (${leaders.map((t) => t.name).join(', ')})`)
  }

  audit(): Audit {
    return auditWorld(this)
  }

  async close(): Promise<void> {
    for (const tab of [...this.tabs]) await this.#close(tab)
    await Promise.all(this.#abandoned)
    await this.server.close()
  }

  protected holdsCreate(track: CreateTrack, event: WorkstreamEvent): boolean {
    const ids = [track.clientId, event.id]
    if (ids.some((id) => this.#storedCreates.has(id))) return true
    return this.tabs.some((tab) => tab.store.status.phase === 'hydrating' || tab.store.outbox.some((m) => m.kind === 'create' && ids.includes(m.eventId)))
  }

  #tab(at: number): Tab {
    return this.tabs[at % this.tabs.length]!
  }

  #note(line: string): void {
    this.#trace?.(`[${this.stats.operations}] ${line}`)
  }

  #deleteOther(tab: Tab, id: string): void {
    this.stats.operations++
    this.#note(`${tab.name}: delete ${id}`)
    this.appDeleted.add(id)
    tab.hiddenIds.add(id)
    this.deleteIn(tab.store, tab.generation, id)
  }

  #open(): void {
    const generation = ++this.#generations
    const coordinator = this.#hub.join()
    const online = switchable(true)
    const trace = this.#trace
    const line = (message: string): void => trace?.(`  tab ${generation}| ${message}`)
    const logger = trace ? { level: 'debug' as const, sink: { error: line, warn: line, info: line, debug: line } } : 'off'
    const store = createWorkstreamStore({ ...this.storeOptions(), storage: this.#storage, online, tabs: coordinator, logger })
    if (this.options.pollIntervalMs > 0) store.start()
    let led = false
    const outbox = store.outbox$.subscribe((entries) => {
      this.stats.peakOutbox = Math.max(this.stats.peakOutbox, entries.length)
    })
    const status = store.status$.subscribe((s) => {
      if (s.isLeader && !led && generation > 1) this.tabStats.takeovers++
      led ||= s.isLeader
    })
    this.tabStats.opened++
    this.#note(`tab ${generation}: open`)
    this.tabs.push({ name: `tab ${generation}`, generation, store, coordinator, online, hides: new Set(), hiddenIds: new Set(), unsubscribe: () => (outbox.unsubscribe(), status.unsubscribe()) })
  }

  #forget(tab: Tab): void {
    tab.unsubscribe()
    this.#disposed.add(tab.generation)
    this.tabs = this.tabs.filter((t) => t !== tab)
  }

  async #close(tab: Tab): Promise<void> {
    this.#forget(tab)
    await within(tab.store.dispose(), 5_000, `dispose() of ${tab.name}`).catch((error: Error) => this.violate('stuck', error.message))
  }

  async #readStorage(): Promise<void> {
    const entries = (await this.#area?.entries()) ?? []
    this.#storedCreates = new Set(
      entries
        .filter(([key, value]) => key.startsWith('m:') && (value as MutationRecord).kind === 'create')
        .map(([, value]) => (value as MutationRecord).eventId),
    )
  }
}
