import type { FaultController } from '../src/server/index'

/** What the demo's switch can make the embedded server do. */
export type FaultMode = 'normal' | 'fail' | 'slow'

/** The modes, in the order the switch shows them. */
export const FAULT_MODES: readonly FaultMode[] = ['normal', 'fail', 'slow']

/** How long every request waits in `slow` mode. */
export const SLOW_MODE_LATENCY_MS = 2500

/** One line for the terminal, per mode. */
export const FAULT_MODE_DESCRIPTIONS: Readonly<Record<FaultMode, string>> = {
  normal: 'normal: every request is answered at once',
  fail: 'fail: every request is answered 503 Service Unavailable',
  slow: `slow: every request waits ${SLOW_MODE_LATENCY_MS} ms`,
}

export function isFaultMode(value: unknown): value is FaultMode {
  return typeof value === 'string' && (FAULT_MODES as readonly string[]).includes(value)
}

/** Replaces whatever faults the server had with those of `mode`, until the next call. */
export function applyFaultMode(faults: FaultController, mode: FaultMode): void {
  faults.clear()
  if (mode === 'fail') faults.add('*', { type: 'status', status: 503 }, { times: Infinity })
  if (mode === 'slow') faults.add('*', { type: 'latency', ms: SLOW_MODE_LATENCY_MS }, { times: Infinity })
}
