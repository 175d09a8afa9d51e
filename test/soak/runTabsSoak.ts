import { TabsWorld } from '../model/tabsWorld'
import { pick, soakWorld, WORLD_STEPS, type SoakOptions, type SoakSummary, type Steps } from './runSoak'

/*
 * The soak of several tabs: the single soak's operations, each in a tab drawn at random, with
 * the tabs' own events on top: the leader closes or is killed, followers close, tabs open and
 * reload, the leader goes offline. Checked at every checkpoint and audited at the end the same way.
 */

export interface TabsSoakOptions extends SoakOptions {
  /** Tabs open at most (and at the start): 2 or 3. */
  tabs: number
  /** Every operation and the stores' debug lines, for a reproduction. */
  trace?: (line: string) => void
}

/** Weighted as the single soak, plus the tabs' events; `t` picks the tab. */
const STEPS: Steps<TabsWorld> = [
  [14, (w, r) => w.create(pick(r), r() < 0.2)],
  [8, (w, r) => w.deleteOwn(pick(r), pick(r))],
  [4, (w, r) => w.deleteListed(pick(r), pick(r))],
  [2, (w, r) => w.deleteGone(pick(r), pick(r))],
  [2, (w, r) => w.deleteAgain(pick(r), pick(r))],
  [8, (w, r) => w.refresh(pick(r))],
  [5, (w, r) => w.flush(pick(r))],
  ...WORLD_STEPS,
  [2, (w) => w.setOnline(false)],
  [3, (w) => w.setOnline(true)],
  [1, (w) => w.closeLeader()],
  [1, (w) => w.crashLeader()],
  [1, (w, r) => w.closeFollower(pick(r))],
  [3, (w) => w.openTab()],
  [1, (w, r) => w.reload(pick(r))],
  [15, (w, r) => w.pause(1 + Math.floor(r() * 20))],
]

export async function runTabsSoak(options: TabsSoakOptions): Promise<SoakSummary> {
  const world = await TabsWorld.start({
    tabs: options.tabs,
    honourInternalIdentifier: options.honourInternalIdentifier ?? true,
    unknownDeleteStatus: options.unknownDeleteStatus ?? 500,
    pollIntervalMs: options.pollIntervalMs ?? 0,
    ...(options.trace ? { trace: options.trace } : {}),
  })
  return soakWorld(world, STEPS, options, () => ({ count: world.maxTabs, ...world.tabStats }))
}
