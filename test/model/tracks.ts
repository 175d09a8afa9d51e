import type { WorkstreamEvent } from '../../src/models'
import type { FaultKind } from './worldFaults'

/** A create the app made, and what became of it. */
export interface CreateTrack {
  readonly marker: string
  /** The id create() returned. */
  readonly clientId: string
  readonly callerId: boolean
  /** The store instance the caller's promise belongs to. */
  readonly generation: number
  outcome?: { resolved: WorkstreamEvent } | { rejected: unknown }
  deletedByApp: boolean
  deletedByOther: boolean
}

/** A delete the app made. */
export interface DeleteTrack {
  readonly id: string
  readonly generation: number
  /** The app's create it deleted, if it was one. */
  readonly create?: CreateTrack
  outcome?: 'resolved' | { rejected: unknown }
}

export interface WorldStats {
  operations: number
  faults: Record<FaultKind, number>
  reloads: number
  peakOutbox: number
}

/** Kinds of what the run itself can see go wrong, before any audit. */
export type FindingKind = 'lost' | 'resurrected' | 'stuck' | 'wrongOutcomes'
