import { useEffect, useState, type ReactElement } from 'react'
import { FAULT_MODES, isFaultMode, SLOW_MODE_LATENCY_MS, type FaultMode } from '../faultModes'

const LABELS: Readonly<Record<FaultMode, string>> = {
  normal: 'Normal',
  fail: 'Fail (503)',
  slow: `Slow (${SLOW_MODE_LATENCY_MS / 1000} s)`,
}
const HINTS: Readonly<Record<FaultMode, string>> = {
  normal: 'The server answers every request.',
  fail: 'Every request gets 503. Changes wait in the outbox and are retried with backoff.',
  slow: `Every request waits ${SLOW_MODE_LATENCY_MS / 1000} s. Changes show at once and are marked until confirmed.`,
}

/** Switches the embedded server between normal, failing and slow, through the demo's control endpoint. */
export function FaultSwitch({ controlUrl }: { controlUrl: string }): ReactElement {
  const [mode, setMode] = useState<FaultMode>()
  const [switching, setSwitching] = useState<FaultMode>()
  const [error, setError] = useState<string>()

  useEffect(() => {
    const abort = new AbortController()
    readMode(fetch(controlUrl, { signal: abort.signal })).then(setMode, (failure: unknown) => {
      if (!abort.signal.aborted) setError(messageOf(failure))
    })
    return () => abort.abort()
  }, [controlUrl])

  function choose(next: FaultMode): void {
    setSwitching(next)
    setError(undefined)
    const request = fetch(controlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: next }) })
    readMode(request).then(
      (applied) => {
        setMode(applied)
        setSwitching(undefined)
      },
      (failure: unknown) => {
        setError(messageOf(failure))
        setSwitching(undefined)
      },
    )
  }

  const shown = switching ?? mode
  return (
    <fieldset className="panel faults" aria-busy={switching !== undefined} disabled={mode === undefined}>
      <legend>Server mode</legend>
      <div className="modes">
        {FAULT_MODES.map((option) => (
          <label key={option} className={`mode mode-${option}`}>
            <input type="radio" name="fault-mode" value={option} checked={shown === option} onChange={() => choose(option)} />
            {LABELS[option]}
          </label>
        ))}
      </div>
      <p className="hint" aria-live="polite" data-testid="fault-mode-hint">
        {switching !== undefined ? 'Switching…' : mode !== undefined ? HINTS[mode] : 'Reading the mode…'}
      </p>
      {error && (
        <p role="alert" className="error">
          Could not switch the server: {error}
        </p>
      )}
    </fieldset>
  )
}

async function readMode(response: Promise<Response>): Promise<FaultMode> {
  const answer = await response
  const body: unknown = await answer.json()
  const mode = typeof body === 'object' && body !== null ? (body as { mode?: unknown }).mode : undefined
  if (!answer.ok || !isFaultMode(mode)) throw new Error(`the control endpoint answered ${answer.status}`)
  return mode
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
