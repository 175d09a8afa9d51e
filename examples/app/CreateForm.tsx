import { useId, useState, type FormEvent, type ReactElement } from 'react'
import type { Application, SeededWorkstreamEvent, WorkstreamEventTrigger, WorkstreamStore } from '../../src/index'

const APPLICATIONS: readonly Application[] = [
  { id: 'demo-vs-code', name: 'VS_CODE', version: '1.90.2', platform: 'MACOS', onboarded: true, privacy: 'OPEN' },
  { id: 'demo-chrome', name: 'GOOGLE_CHROME_EXTENSION_MV3', version: '3.1.0', platform: 'MACOS', onboarded: true, privacy: 'OPEN' },
  { id: 'demo-slack', name: 'SLACK', version: '4.38.125', platform: 'MACOS', onboarded: true, privacy: 'OPEN' },
  { id: 'demo-obsidian', name: 'OBSIDIAN', version: '1.6.3', platform: 'LINUX', onboarded: true, privacy: 'OPEN' },
]
const APPLICATION_LABELS: Readonly<Record<string, string>> = {
  VS_CODE: 'VS Code',
  GOOGLE_CHROME_EXTENSION_MV3: 'Chrome',
  SLACK: 'Slack',
  OBSIDIAN: 'Obsidian',
}
const TRIGGERS: readonly (keyof WorkstreamEventTrigger)[] = ['copy', 'paste', 'file_open', 'url_changed', 'check_in']

/** A form that creates an event through the store: it shows at once, marked pending until confirmed. */
export function CreateForm({ store }: { store: WorkstreamStore }): ReactElement {
  const [error, setError] = useState<string>()
  const id = useId()

  function submit(submitted: FormEvent<HTMLFormElement>): void {
    submitted.preventDefault()
    const form = submitted.currentTarget
    const data = new FormData(form)
    const application = APPLICATIONS.find((app) => app.id === data.get('application'))
    const trigger = TRIGGERS.find((name) => name === data.get('trigger'))
    const readable = String(data.get('readable') ?? '').trim()
    if (!application || !trigger || readable === '') {
      setError('Pick an application and a trigger, and say what happened.')
      return
    }
    const seed: SeededWorkstreamEvent = { application, trigger: { [trigger]: true }, readable }
    try {
      // Failures after this point show in the feed's mark and the outbox, not here.
      store.create(seed)
      setError(undefined)
      form.reset()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
  }

  return (
    <form className="panel create" aria-labelledby={`${id}-heading`} onSubmit={submit}>
      <h2 id={`${id}-heading`}>New event</h2>
      <label>
        Application
        <select name="application" defaultValue={APPLICATIONS[0]?.id}>
          {APPLICATIONS.map((app) => (
            <option key={app.id} value={app.id}>
              {APPLICATION_LABELS[app.name] ?? app.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Trigger
        <select name="trigger" defaultValue={TRIGGERS[0]}>
          {TRIGGERS.map((name) => (
            <option key={name} value={name}>
              {name.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
      </label>
      <label>
        What happened
        <input name="readable" required maxLength={200} placeholder="Read the RxJS docs on shareReplay" autoComplete="off" />
      </label>
      <button type="submit">Create event</button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  )
}
