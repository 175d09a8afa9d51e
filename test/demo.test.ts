import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bundleApp, type AppBundle } from '../examples/appBundle'
import { startActivitySimulator, type SimulatorTimers } from '../examples/activitySimulator'
import { mutationMark } from '../examples/app/eventText'
import { relativeTime } from '../examples/app/relativeTime'
import { startDemo, type Demo, type DemoOptions } from '../examples/demoServer'
import { startTerminalFeed } from '../examples/terminalFeed'
import { generateSampleEvents } from '../src/server/index'
import { makeEvent, makeSeed } from './support/events'
import { startServer } from './support/harness'

const demos: Demo[] = []
let bundle: Promise<AppBundle>

beforeAll(() => {
  bundle = bundleApp()
})

afterEach(async () => {
  while (demos.length) await demos.pop()!.close()
})

async function demo(options: DemoOptions = {}): Promise<Demo> {
  const started = await startDemo({ simulator: false, bundle, ...options })
  demos.push(started)
  return started
}

function control(demo: Demo, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Response> {
  return fetch(`${demo.appUrl}/control/faults`, { method: 'POST', headers, body })
}

/** Timers that fire only when the test says so. */
function manualTimers(): SimulatorTimers & { fire(): void; readonly scheduled: number[] } {
  const pending = new Map<number, { callback: () => void; ms: number }>()
  let next = 1
  return {
    setTimeout(callback, ms) {
      pending.set(next, { callback, ms })
      return next++
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
    fire() {
      const first = [...pending][0]
      if (first === undefined) throw new Error('No timer is scheduled.')
      pending.delete(first[0])
      first[1].callback()
    },
    get scheduled() {
      return [...pending.values()].map((timer) => timer.ms)
    },
  }
}

describe('startDemo', () => {
  it('serves the page, with the API URL in its config, and the bundled app', async () => {
    const running = await demo()

    const page = await fetch(running.appUrl)
    const html = await page.text()
    const script = await fetch(`${running.appUrl}/app.js`)
    const js = await script.text()
    const css = await fetch(`${running.appUrl}/app.css`)

    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(html).toContain(`"apiUrl":"${running.apiUrl}"`)
    expect(html).toContain('<script type="module" src="/app.js"></script>')
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(js).toContain('useSyncExternalStore')
    expect(js).not.toMatch(/node:http|createServer/)
    expect(css.status).toBe(200)
    expect(await css.text()).toContain('.event')
    expect((await fetch(`${running.appUrl}/nothing-here`)).status).toBe(404)
  })

  it('starts the embedded server with sample events, readable from the app origin', async () => {
    const running = await demo({ events: 12 })

    const response = await fetch(`${running.apiUrl}/workstream_events`, { headers: { origin: running.appUrl } })
    const body = (await response.json()) as { iterable: unknown[] }

    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(running.appUrl)
    expect(body.iterable).toHaveLength(12)
    expect(running.server.events()).toHaveLength(12)
  })

  it('makes the server fail, go slow and come back through the control endpoint', async () => {
    const running = await demo()
    expect(await (await fetch(`${running.appUrl}/control/faults`)).json()).toMatchObject({ mode: 'normal' })

    expect(await (await control(running, '{"mode":"fail"}')).json()).toMatchObject({ mode: 'fail' })
    expect((await fetch(`${running.apiUrl}/workstream_events`)).status).toBe(503)
    expect((await fetch(`${running.apiUrl}/workstream_events`)).status).toBe(503)
    expect(running.faultMode).toBe('fail')

    expect(await (await control(running, '{"mode":"slow"}')).json()).toMatchObject({ mode: 'slow' })
    expect(running.server.faults.pending()).toBe(Infinity)

    expect(await (await control(running, '{"mode":"normal"}')).json()).toMatchObject({ mode: 'normal' })
    expect(running.server.faults.pending()).toBe(0)
    expect((await fetch(`${running.apiUrl}/workstream_events`)).status).toBe(200)
    expect(await (await fetch(`${running.appUrl}/control/faults`)).json()).toMatchObject({ mode: 'normal' })
  })

  it('refuses control requests from other origins, without JSON, or with an unknown mode', async () => {
    const running = await demo()

    const foreign = await control(running, '{"mode":"fail"}', { 'content-type': 'application/json', origin: 'http://evil.example' })
    const form = await control(running, 'mode=fail', { 'content-type': 'application/x-www-form-urlencoded' })
    const unknown = await control(running, '{"mode":"explode"}')
    const notJson = await control(running, '{mode')

    expect([foreign.status, form.status, unknown.status, notJson.status]).toEqual([403, 415, 400, 400])
    expect(running.server.faults.pending()).toBe(0)
  })

  it('stops serving on both ports once closed', async () => {
    const running = await startDemo({ simulator: false, bundle })

    await running.close()

    await expect(fetch(running.appUrl)).rejects.toThrow()
    await expect(fetch(`${running.apiUrl}/workstream_events`)).rejects.toThrow()
    await running.close()
  })

  it('reports fault mode switches on the terminal feed', async () => {
    const lines: string[] = []
    const running = await demo({ print: (line) => lines.push(line) })

    await control(running, '{"mode":"fail"}')
    await control(running, '{"mode":"fail"}')
    await control(running, '{"mode":"normal"}')

    expect(lines).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d {2}server mode fail: every request is answered 503/),
      expect.stringMatching(/^\d\d:\d\d:\d\d {2}server mode normal:/),
    ])
  })
})

describe('the terminal feed', () => {
  it('prints the creates and deletes that came over HTTP, with the request counts', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const lines: string[] = []
    const feed = startTerminalFeed({ server, print: (line) => lines.push(line), intervalMs: 60_000, now: () => new Date(2025, 0, 1, 9, 0, 0).getTime() })

    await fetch(`${server.url}/workstream_events/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makeSeed('from the app')) })
    await fetch(`${server.url}/workstream_events/a/delete`, { method: 'POST' })
    feed.check()
    feed.check()
    feed.stop()

    expect(lines).toEqual([
      '09:00:00  + VS_CODE  paste  from the app  (app)  [0 snapshots, 1 creates, 1 deletes]',
      '09:00:00  - VS_CODE  copy  event a  (app)  [0 snapshots, 1 creates, 1 deletes]',
    ])
  })

  it('prints the request counts when requests changed nothing, as while the server fails', async () => {
    const server = await startServer()
    const lines: string[] = []
    const feed = startTerminalFeed({ server, print: (line) => lines.push(line), intervalMs: 60_000 })
    server.faults.add('create', { type: 'status', status: 503 })

    await fetch(`${server.url}/workstream_events/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makeSeed()) })
    feed.check()
    feed.stop()

    expect(lines).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d {2}requests \[0 snapshots, 1 creates, 0 deletes\]$/)])
  })

  it('prints what the simulator did once, and not again as an HTTP change', async () => {
    const server = await startServer()
    const lines: string[] = []
    const feed = startTerminalFeed({ server, print: (line) => lines.push(line), intervalMs: 60_000 })

    const event = server.create(makeSeed('simulated'))
    feed.simulated({ kind: 'created', event })
    feed.check()
    feed.stop()

    expect(lines).toEqual([expect.stringMatching(/\+ VS_CODE {2}paste {2}simulated {2}\(simulator\)/)])
  })

  it('prints the app’s create before the simulator’s delete of it, though the simulator deleted it before the feed looked (bug: only the delete showed)', async () => {
    const server = await startServer()
    const lines: string[] = []
    const feed = startTerminalFeed({ server, print: (line) => lines.push(line), intervalMs: 60_000 })

    // The app's event is the newest, among which the simulator deletes.
    const response = await fetch(`${server.url}/workstream_events/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makeSeed('from the app')) })
    const { id } = (await response.json()) as { id: string }
    const event = server.events().find((e) => e.id === id)!
    server.delete(event.id)
    feed.simulated({ kind: 'deleted', event })
    feed.check()
    feed.stop()

    expect(lines.filter((line) => line.includes('from the app'))).toEqual([
      expect.stringMatching(/\+ VS_CODE {2}paste {2}from the app {2}\(app\)/),
      expect.stringMatching(/- VS_CODE {2}paste {2}from the app {2}\(simulator\)/),
    ])
  })
})

describe('the activity simulator', () => {
  it('creates events while below its target and deletes among the newest while above', async () => {
    const server = await startServer({ events: generateSampleEvents({ count: 3 }) })
    const timers = manualTimers()
    const activity: string[] = []
    const simulator = startActivitySimulator({
      server,
      target: 5,
      timers,
      random: () => 0.3,
      delayMs: [1000, 2000],
      onActivity: ({ kind }) => activity.push(kind),
    })
    expect(timers.scheduled).toEqual([1300])

    timers.fire()
    timers.fire()
    expect(server.events()).toHaveLength(5)
    for (let i = 0; i < 4; i++) server.create(makeSeed(`extra ${i}`))
    // random() is 0.3: the third of the newest ten.
    const victim = server.events()[2]!
    timers.fire()

    expect(activity).toEqual(['created', 'created', 'deleted'])
    expect(server.events()).toHaveLength(8)
    expect(server.events().map((event) => event.id)).not.toContain(victim.id)
    simulator.stop()
    expect(timers.scheduled).toEqual([])
  })
})

describe('the app helpers', () => {
  it('says how long ago something happened', () => {
    const now = Date.UTC(2025, 5, 2, 12, 0, 0)
    expect(relativeTime(now - 3_000, now)).toBe('just now')
    expect(relativeTime(now - 42_000, now)).toBe('42 s ago')
    expect(relativeTime(now - 2 * 60_000 - 5_000, now)).toBe('2 min ago')
    expect(relativeTime(now - 3 * 3_600_000, now)).toBe('3 h ago')
    expect(relativeTime(now - 26 * 3_600_000, now)).toBe('1 day ago')
    expect(relativeTime(now - 5 * 86_400_000, now)).toBe('5 days ago')
    expect(relativeTime(now + 5_000, now)).toBe('just now')
  })

  it('marks a mutation pending, failed while it retries, or dead', () => {
    const base = { id: 'm', kind: 'create' as const, eventId: 'e', attempts: 0, queuedAt: 0 }
    const error = { kind: 'http' as const, status: 503, message: 'answered 503' }
    expect(mutationMark({ ...base, state: 'queued' }).kind).toBe('pending')
    expect(mutationMark({ ...base, state: 'waiting', attempts: 2, lastError: error })).toMatchObject({ kind: 'failed', text: 'Failed (503), retrying' })
    expect(mutationMark({ ...base, state: 'dead', attempts: 6, lastError: error })).toMatchObject({ kind: 'dead', text: 'Dead letter', detail: 'Gave up after 6 attempts (503)', error: 'answered 503' })
  })
})
