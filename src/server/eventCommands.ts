import type { SeededWorkstreamEvent, WorkstreamEvent } from '../models'
import { checkSeededWorkstreamEvent, checkWorkstreamEvent } from '../validate'
import { eventFromSeed, withoutAbsent } from '../eventFromSeed'
import type { EventRepository } from './eventRepository'

export type CreateOutcome =
  | { kind: 'created'; event: WorkstreamEvent }
  | { kind: 'invalid'; message: string }
  | { kind: 'conflict'; id: string; message: string }

export type UpdateOutcome =
  | { kind: 'updated'; event: WorkstreamEvent }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string }

/** The server's rules for changing events, shared by the HTTP routes and the direct API. */
export interface EventCommands {
  /** `seed` is taken over as it is (the caller passes a fresh or cloned object). */
  create(seed: unknown): CreateOutcome
  remove(id: string): boolean
  update(id: string, patch: Partial<WorkstreamEvent>): UpdateOutcome
}

export interface EventCommandOptions {
  repository: EventRepository
  now: () => number
  generateId: () => string
  honourInternalIdentifier: boolean
  /** Called after every change, for persistence. */
  onChange: () => void
}

export function createEventCommands(options: EventCommandOptions): EventCommands {
  const { repository, now, generateId, honourInternalIdentifier, onChange } = options

  return {
    create(value) {
      const problem = checkSeededWorkstreamEvent(value)
      if (problem !== undefined) {
        return { kind: 'invalid', message: `The body is not a valid SeededWorkstreamEvent: ${problem}.` }
      }
      const seed = value as SeededWorkstreamEvent
      const requested = honourInternalIdentifier ? seed.internal_identifier : undefined
      const id = requested ?? generateId()
      // An id names one event. Creating over an existing one would silently replace it, and a
      // client retrying a create whose response was lost must be able to tell "already there".
      if (repository.has(id)) {
        return {
          kind: 'conflict',
          id,
          message: `An event with id ${JSON.stringify(id)} already exists; ids are unique, so nothing was created.`,
        }
      }
      const event = eventFromSeed(seed, id, now())
      repository.insert(event)
      onChange()
      return { kind: 'created', event }
    },

    remove(id) {
      const removed = repository.remove(id)
      if (removed) onChange()
      return removed
    },

    update(id, patch) {
      const current = repository.get(id)
      if (current === undefined) return { kind: 'missing' }
      if (patch.id !== undefined && patch.id !== id) {
        return { kind: 'invalid', message: `An update cannot change the id (${JSON.stringify(id)} to ${JSON.stringify(patch.id)}).` }
      }
      const next = withoutAbsent({
        ...current,
        ...patch,
        id,
        updated: patch.updated ?? { value: new Date(now()).toISOString() },
      })
      const problem = checkWorkstreamEvent(next)
      if (problem !== undefined) return { kind: 'invalid', message: `The updated event would not be valid: ${problem}.` }
      repository.replace(next)
      onChange()
      return { kind: 'updated', event: next }
    },
  }
}
