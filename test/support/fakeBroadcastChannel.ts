/**
 * BroadcastChannels of one origin in one process. Each message reaches every other open channel
 * of the same name, as a structured clone, in a microtask: no timers, so fake timers stay exact.
 */
export interface FakeBroadcastHub {
  /** Opens a channel, as `new BroadcastChannel(name)` would. */
  channel(name: string): BroadcastChannel
  /** Every message posted on `name`, heartbeats included. */
  posted(name: string): unknown[]
  /** How many channels are open. */
  readonly open: number
}

export function fakeBroadcastHub(): FakeBroadcastHub {
  const channels = new Map<string, Set<FakeChannel>>()
  const log = new Map<string, unknown[]>()
  let open = 0

  class FakeChannel extends EventTarget {
    readonly name: string
    onmessage: ((this: BroadcastChannel, event: MessageEvent) => unknown) | null = null
    onmessageerror: ((this: BroadcastChannel, event: MessageEvent) => unknown) | null = null
    #closed = false

    constructor(name: string) {
      super()
      this.name = name
      let members = channels.get(name)
      if (!members) channels.set(name, (members = new Set()))
      members.add(this)
      open++
    }

    postMessage(message: unknown): void {
      if (this.#closed) throw new DOMException('The channel is closed.', 'InvalidStateError')
      const copy = structuredClone(message)
      let entries = log.get(this.name)
      if (!entries) log.set(this.name, (entries = []))
      entries.push(copy)
      for (const other of channels.get(this.name) ?? []) {
        if (other === this) continue
        queueMicrotask(() => {
          if (!other.#closed) other.dispatchEvent(new MessageEvent('message', { data: structuredClone(copy) }))
        })
      }
    }

    close(): void {
      if (this.#closed) return
      this.#closed = true
      channels.get(this.name)?.delete(this)
      open--
    }
  }

  return {
    channel: (name) => new FakeChannel(name) as unknown as BroadcastChannel,
    posted: (name) => log.get(name) ?? [],
    get open() {
      return open
    },
  }
}
