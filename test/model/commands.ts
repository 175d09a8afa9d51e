import fc from 'fast-check'
import type { SyncWorld } from './syncWorld'
import { FAULT_KINDS, ROUTES } from './worldFaults'

/** One step of the app, the network or the other client; printed by fast-check on failure. */
class WorldCommand implements fc.AsyncCommand<object, SyncWorld> {
  constructor(
    readonly label: string,
    readonly act: (world: SyncWorld) => void | Promise<void>,
  ) {}

  check(): boolean {
    return true
  }

  async run(_model: object, world: SyncWorld): Promise<void> {
    await this.act(world)
    world.checkAlways()
    if (world.violations.length) throw new Error(`after ${this.label}: ${world.violations.join('; ')}`)
  }

  toString(): string {
    return this.label
  }
}

const command = (label: string, act: WorldCommand['act']): WorldCommand => new WorldCommand(label, act)
const pick = fc.nat({ max: 50 })

/** The operations, weighted by repetition: app mutations and faults are the most common. */
export function worldCommands(): fc.Arbitrary<fc.AsyncCommand<object, SyncWorld>>[] {
  const create = fc.boolean().map((callerId) => command(`create(${callerId ? 'callerId' : ''})`, (w) => w.create(callerId)))
  const deleteOwn = pick.map((n) => command(`deleteOwn(${n})`, (w) => w.deleteOwn(n)))
  const fault = fc
    .tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...FAULT_KINDS))
    .map(([route, kind]) => command(`fault(${route}, ${kind})`, (w) => w.fault(route, kind)))
  return [
    create,
    create,
    deleteOwn,
    deleteOwn,
    fault,
    fault,
    fault,
    pick.map((n) => command(`deleteListed(${n})`, (w) => w.deleteListed(n))),
    pick.map((n) => command(`deleteGone(${n})`, (w) => w.deleteGone(n))),
    pick.map((n) => command(`deleteAgain(${n})`, (w) => w.deleteAgain(n))),
    fc.constant(command('refresh', (w) => w.refresh())),
    fc.constant(command('flush', (w) => w.flush())),
    fc.constant(command('otherCreate', (w) => w.otherCreate())),
    pick.map((n) => command(`otherDelete(${n})`, (w) => w.otherDelete(n))),
    pick.map((n) => command(`otherUpdate(${n})`, (w) => w.otherUpdate(n))),
    fc.boolean().map((online) => command(online ? 'online' : 'offline', (w) => w.setOnline(online))),
    fc.constant(command('reload', (w) => w.reload())),
    fc.integer({ min: 1, max: 20 }).map((turns) => command(`pause(${turns})`, (w) => w.pause(turns))),
    fc.integer({ min: 1, max: 20 }).map((turns) => command(`pause(${turns})`, (w) => w.pause(turns))),
  ]
}
