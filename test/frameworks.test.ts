import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { useObservable } from '@vueuse/rxjs'
import { Observable, type Unsubscribable } from 'rxjs'
import { compile } from 'svelte/compiler'
import { render } from 'svelte/server'
import { derived, get, readable, type Readable } from 'svelte/store'
import type { Component } from 'svelte'
import { createSSRApp, defineComponent, effectScope, h, toRaw } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createWorkstreamStore, memoryStorage, type SeededWorkstreamEvent, type WorkstreamEvent, type WorkstreamStore } from '../src/index'
import { generateSampleEvents, startWorkstreamServer, type WorkstreamServer } from '../src/server/index'

/*
 * The README's framework recipes, each checked against the contract its framework relies on,
 * with a store on a real embedded server. Svelte and Vue are the real packages; Angular is not
 * installed, so its AsyncPipe is reproduced from Angular's source (packages/common/src/pipes/async_pipe.ts).
 */

let server: WorkstreamServer
let store: WorkstreamStore

beforeEach(async () => {
  server = await startWorkstreamServer({ events: generateSampleEvents({ count: 3 }) })
  store = createWorkstreamStore({ baseUrl: server.url, storage: memoryStorage(), pollIntervalMs: 0, tabs: false })
  await store.refresh()
})

afterEach(async () => {
  await store.dispose()
  await server.close()
})

const seed: SeededWorkstreamEvent = {
  application: { id: 'app-vscode', name: 'VS_CODE', version: '1.95.0', platform: 'LINUX', onboarded: true, privacy: 'OPEN' },
  trigger: { copy: true },
  readable: 'Copied from a framework test',
}

const title = (event: WorkstreamEvent): string => event.windowTitle ?? event.browserUrl ?? event.readable ?? event.application.name

describe('Angular: the async pipe', () => {
  /**
   * Angular's AsyncPipe for an Observable, line for line in what it does: subscribe on the first
   * transform and return the latest value (set synchronously by a BehaviorSubject-like source),
   * mark the view for check on every later value, resubscribe when the object changes, and
   * unsubscribe in ngOnDestroy.
   */
  class AsyncPipe<T> {
    latestValue: T | null = null
    checks = 0
    private subscription: Unsubscribable | null = null
    private obj: Observable<T> | null = null
    private markForCheckOnValueUpdate = true

    transform(obj: Observable<T>): T | null {
      if (!this.obj) {
        this.markForCheckOnValueUpdate = false
        try {
          this.obj = obj
          this.subscription = obj.subscribe({ next: (value) => this.update(obj, value), error: (error: unknown) => { throw error } })
        } finally {
          this.markForCheckOnValueUpdate = true
        }
        return this.latestValue
      }
      if (obj !== this.obj) {
        this.ngOnDestroy()
        return this.transform(obj)
      }
      return this.latestValue
    }

    ngOnDestroy(): void {
      this.subscription?.unsubscribe()
      this.subscription = null
      this.obj = null
      this.latestValue = null
    }

    private update(async: Observable<T>, value: T): void {
      if (async !== this.obj) return
      this.latestValue = value
      if (this.markForCheckOnValueUpdate) this.checks++
    }
  }

  it('renders the current events on the first change detection, without a null first frame', () => {
    const pipe = new AsyncPipe<readonly WorkstreamEvent[]>()
    expect(pipe.transform(store.events$)).toBe(store.events)
    expect(pipe.transform(store.events$)).toHaveLength(3)
    pipe.ngOnDestroy()
  })

  it('marks the view for check when an event is created, and stops listening on destroy', () => {
    const pipe = new AsyncPipe<readonly WorkstreamEvent[]>()
    pipe.transform(store.events$)
    const { event } = store.create(seed)
    expect(pipe.checks).toBe(1)
    expect(pipe.transform(store.events$)?.[0]).toBe(event)

    pipe.ngOnDestroy()
    store.create({ ...seed, readable: 'after destroy' })
    expect(pipe.checks).toBe(1)
  })

  it('keeps one subscription for event$(id) when the component holds the observable in a field', () => {
    const id = store.events[0]!.id
    const pipe = new AsyncPipe<WorkstreamEvent | undefined>()
    const event$ = store.event$(id) // a field, as the README shows: a call in the template would resubscribe each check
    expect(pipe.transform(event$)).toBe(store.get(id))
    void store.delete(id)
    expect(pipe.transform(event$)).toBeUndefined()
    expect(pipe.checks).toBe(1)
    pipe.ngOnDestroy()
  })
})

describe('Svelte: the store contract', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'workstream-sync-svelte-'))
    await mkdir(join(dir, 'node_modules'))
    await symlink(resolve(__dirname, '..', 'node_modules', 'svelte'), join(dir, 'node_modules', 'svelte'), 'dir')
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('renders $events from the README component with the current events', async () => {
    // The README's component, compiled by the real Svelte compiler and rendered on the server.
    const source = `<script lang="ts">
  import type { WorkstreamStore } from 'workstream-sync'
  let { store }: { store: WorkstreamStore } = $props()
  const events = store.events$
</script>

<ul>
  {#each $events as event (event.id)}
    <li>{event.windowTitle ?? event.browserUrl ?? event.application.name}</li>
  {/each}
</ul>
`
    const { js } = compile(source, { generate: 'server', filename: 'EventList.svelte' })
    const file = join(dir, 'EventList.js')
    await writeFile(file, js.code)
    const { default: EventList } = (await import(/* @vite-ignore */ file)) as { default: Component<{ store: WorkstreamStore }> }
    const { body } = render(EventList, { props: { store } })
    for (const event of store.events) {
      expect(unescapeHtml(body)).toContain(event.windowTitle ?? event.browserUrl ?? event.application.name)
    }
    expect(body.match(/<li>/g)).toHaveLength(3)
  })

  it('reads the current events with get(), and follows changes through derived() until unsubscribed', () => {
    // Svelte's runtime takes a subscribe() that returns an RxJS Subscription (its documented
    // interop), but its TypeScript types want an unsubscribe function: hence the cast.
    const events = store.events$ as unknown as Readable<readonly WorkstreamEvent[]>
    expect(get(events)).toBe(store.events)

    const titles = derived(events, ($events) => $events.map(title))
    const seen: string[][] = []
    const unsubscribe = titles.subscribe((value) => seen.push(value))
    expect(seen).toHaveLength(1)

    store.create(seed)
    expect(seen).toHaveLength(2)
    expect(seen[1]![0]).toBe('Copied from a framework test')

    unsubscribe()
    store.create({ ...seed, readable: 'after unsubscribe' })
    expect(seen).toHaveLength(2)
  })
})

describe('Svelte: the typed readable() adapter of the README', () => {
  it('starts with the current events, follows changes, and unsubscribes from events$ with the last subscriber', () => {
    let live = 0
    const counted = new Observable<readonly WorkstreamEvent[]>((subscriber) => {
      live++
      const inner = store.events$.subscribe(subscriber)
      return () => {
        live--
        inner.unsubscribe()
      }
    })
    // The README's adapter, with `counted` in place of `store.events$` to see the teardown.
    const events = readable(store.events, (set) => {
      const subscription = counted.subscribe(set)
      return () => subscription.unsubscribe()
    })
    const seen: (readonly WorkstreamEvent[])[] = []
    const unsubscribe = events.subscribe((value) => seen.push(value))
    expect(seen).toEqual([store.events])
    expect(live).toBe(1)

    const { event } = store.create(seed)
    expect(seen.at(-1)?.[0]).toBe(event)

    unsubscribe()
    expect(live).toBe(0)
  })
})

describe('Vue: useObservable from @vueuse/rxjs', () => {
  it('holds the current events at once, follows changes, and unsubscribes when the scope ends', () => {
    const scope = effectScope()
    const events = scope.run(() => useObservable(store.events$, { initialValue: store.events }))!
    expect(toRaw(events.value)).toBe(store.events)

    const { event } = store.create(seed)
    expect(toRaw(events.value)[0]).toBe(event)

    scope.stop()
    store.create({ ...seed, readable: 'after the scope' })
    expect(toRaw(events.value)).toHaveLength(4)
  })

  it('renders the events in a component on the server', async () => {
    const EventList = defineComponent({
      setup() {
        const events = useObservable(store.events$, { initialValue: store.events })
        return () => h('ul', events.value.map((event) => h('li', { key: event.id }, title(event))))
      },
    })
    const html = await renderToString(createSSRApp(EventList))
    expect(html.match(/<li>/g)).toHaveLength(3)
    expect(unescapeHtml(html)).toContain(title(store.events[0]!))
  })
})

/** Markup to text, for the entities that Svelte and Vue write. */
function unescapeHtml(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" }
  return html.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, name: string) => entities[name]!)
}
