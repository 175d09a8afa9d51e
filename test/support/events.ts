import type { SeededWorkstreamEvent, WorkstreamEvent } from '../../src/models'

/** A small valid event, created `minutesAgo` before a fixed instant. */
export function makeEvent(id: string, minutesAgo = 0, extra: Partial<WorkstreamEvent> = {}): WorkstreamEvent {
  const at = new Date(Date.UTC(2026, 10, 28, 12, 0, 0) - minutesAgo * 60_000).toISOString()
  return {
    id,
    application: { id: 'app-vscode', name: 'VS_CODE', version: '1.95.0', platform: 'LINUX', onboarded: true, privacy: 'OPEN' },
    created: { value: at },
    updated: { value: at },
    trigger: { copy: true },
    readable: `event ${id}`,
    ...extra,
  }
}

export function makeSeed(readable = 'a new event', extra: Partial<SeededWorkstreamEvent> = {}): SeededWorkstreamEvent {
  return {
    application: { id: 'app-vscode', name: 'VS_CODE', version: '1.95.0', platform: 'LINUX', onboarded: true, privacy: 'OPEN' },
    trigger: { paste: true },
    readable,
    ...extra,
  }
}
