import type { TabCoordinator, TabMessage } from '../../src/tabs'

/**
 * Tabs in one process: the first coordinator to join leads, and when it closes the next in line
 * takes over. Messages arrive asynchronously and as structured clones, as over BroadcastChannel.
 */
export function memoryTabs() {
  const members: Array<{ leader: boolean; onLeader: Set<(v: boolean) => void>; onMessage: Set<(m: TabMessage) => void> }> = []
  let delivered = 0
  function elect(): void {
    const first = members[0]
    if (first && !first.leader) {
      first.leader = true
      queueMicrotask(() => first.onLeader.forEach((listener) => listener(true)))
    }
  }
  return {
    get delivered() {
      return delivered
    },
    join(): TabCoordinator & { crash(): void } {
      const member = { leader: false, onLeader: new Set<(v: boolean) => void>(), onMessage: new Set<(m: TabMessage) => void>() }
      members.push(member)
      elect()
      const leave = (): void => {
        const index = members.indexOf(member)
        if (index >= 0) members.splice(index, 1)
        member.leader = false
        elect()
      }
      return {
        get isLeader() {
          return member.leader
        },
        onLeadership(listener) {
          member.onLeader.add(listener)
          return () => member.onLeader.delete(listener)
        },
        post(message) {
          const copy = structuredClone(message)
          for (const other of members) {
            if (other === member) continue
            setTimeout(() => {
              delivered++
              other.onMessage.forEach((listener) => listener(structuredClone(copy)))
            }, 0)
          }
        },
        onMessage(listener) {
          member.onMessage.add(listener)
          return () => member.onMessage.delete(listener)
        },
        close: leave,
        /** The tab dies without closing anything: its lock is released, its listeners go silent. */
        crash() {
          member.onMessage.clear()
          member.onLeader.clear()
          leave()
        },
      }
    },
  }
}
