import type { PendingMutation, WorkstreamEvent, WorkstreamEventTrigger } from '../../src/index'

const APP_LABELS: Readonly<Record<string, string>> = {
  VS_CODE: 'VS Code',
  JETBRAINS: 'JetBrains',
  GOOGLE_CHROME_EXTENSION_MV3: 'Chrome',
  MICROSOFT_EDGE: 'Edge',
  SLACK: 'Slack',
  NOTION: 'Notion',
  MICROSOFT_TEAMS: 'Teams',
  OBSIDIAN: 'Obsidian',
}

/** A readable application name: "VS Code" for VS_CODE, and "SOME_APP" → "Some App" for the others. */
export function applicationLabel(name: string): string {
  return APP_LABELS[name] ?? name.toLowerCase().split('_').map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(' ')
}

/** The trigger flags that are set, in words: "file open, application switch". */
export function triggerLabel(trigger: WorkstreamEventTrigger): string {
  const set = Object.entries(trigger)
    .filter(([key, value]) => key !== 'schema' && value === true)
    .map(([key]) => key.replace(/_/g, ' '))
  return set.length === 0 ? 'event' : set.join(', ')
}

/** What the event is about: its readable text, else its window title, else its URL, else its id. */
export function eventTitle(event: WorkstreamEvent): string {
  return event.readable || event.windowTitle || event.browserUrl || `Event ${event.id}`
}

/** How a not-yet-confirmed mutation shows: pending, failed (and being retried), or a dead letter. */
export interface MutationMark {
  kind: 'pending' | 'failed' | 'dead'
  text: string
  /** One short line: attempts and the reason. */
  detail: string
  /** The last error's whole message, for a tooltip. */
  error?: string
}

export function mutationMark(mutation: PendingMutation): MutationMark {
  const tries = `${mutation.attempts} attempt${mutation.attempts === 1 ? '' : 's'}`
  const error = mutation.lastError
  const reason = error === undefined ? '' : error.status === undefined ? error.kind : String(error.status)
  const full = error === undefined ? {} : { error: error.message }
  if (mutation.state === 'dead') return { kind: 'dead', text: 'Dead letter', detail: `Gave up after ${tries} (${reason})`, ...full }
  if (error) return { kind: 'failed', text: `Failed (${reason}), retrying`, detail: `${tries} so far`, ...full }
  if (mutation.ambiguous) return { kind: 'pending', text: 'Pending', detail: 'Checking whether the server got it' }
  return { kind: 'pending', text: 'Pending', detail: mutation.state === 'sending' ? 'Sending' : 'Waiting to be sent' }
}
