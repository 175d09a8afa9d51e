import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { cliUsage, runCli } from '../src/cli'
import type { CommandIo } from '../src/server/index'
import { formatWatchLine, runWatchCommand, shortTitle, triggerName } from '../src/watchCommand'
import { makeEvent, makeSeed } from './support/events'
import { startServer } from './support/harness'

const running: Array<{ stop(): void; exit: Promise<number> }> = []

afterEach(async () => {
  while (running.length) {
    const command = running.pop()!
    command.stop()
    await command.exit
  }
})

/** An io that records what a command prints and resolves waits when the text shows up. */
function recordingIo(): { io: CommandIo; out(): string; err(): string; stop(): void; printed(stream: 'out' | 'err', pattern: RegExp): Promise<void> } {
  const controller = new AbortController()
  const text = { out: '', err: '' }
  const waiters = new Set<() => void>()
  const wrote = (stream: 'out' | 'err', chunk: string): void => {
    text[stream] += chunk
    for (const waiter of [...waiters]) waiter()
  }
  return {
    io: { stdout: (chunk) => wrote('out', chunk), stderr: (chunk) => wrote('err', chunk), signal: controller.signal },
    out: () => text.out,
    err: () => text.err,
    stop: () => controller.abort(),
    printed: (stream, pattern) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!pattern.test(text[stream])) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
  }
}

function watch(argv: string[]): ReturnType<typeof recordingIo> & { exit: Promise<number> } {
  const recording = recordingIo()
  const exit = runWatchCommand(argv, recording.io, { now: () => new Date(2025, 5, 2, 9, 5, 7).getTime() })
  running.push({ stop: recording.stop, exit })
  return { ...recording, exit }
}

describe('workstream-sync watch', () => {
  it('prints the count, then a line for each event added, updated and removed elsewhere', async () => {
    const server = await startServer({ events: [makeEvent('a', 2), makeEvent('b', 1)] })
    const run = watch(['--url', server.url, '--interval', '20'])
    await run.printed('out', /2 events at http:\/\/127\.0\.0\.1:\d+; watching every 20 ms/)

    const created = server.create(makeSeed('written elsewhere'))
    await run.printed('out', /\+ VS_CODE {2}paste {2}written elsewhere\n/)
    server.update(created.id, { readable: 'renamed\nelsewhere' })
    await run.printed('out', /~ VS_CODE {2}paste {2}renamed elsewhere\n/)
    server.delete('a')
    await run.printed('out', /- VS_CODE {2}copy {2}event a\n/)

    run.stop()
    expect(await run.exit).toBe(0)
    expect(run.out().split('\n').filter((line) => /^\d\d:\d\d:\d\d {2}[+~-] /.test(line))).toEqual([
      '09:05:07  + VS_CODE  paste  written elsewhere',
      '09:05:07  ~ VS_CODE  paste  renamed elsewhere',
      '09:05:07  - VS_CODE  copy  event a',
    ])
    expect(run.out()).toMatch(/Stopped\.\n$/)
    expect(run.err()).toBe('')
  })

  it('reports a failing server once on stderr, keeps polling, and says when it is back in sync', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const run = watch(['--url', server.url, '--interval', '20'])
    await run.printed('out', /1 event at /)

    server.faults.add('snapshot', { type: 'status', status: 503 }, { times: 3 })
    await run.printed('err', /back in sync \(1 events\)/)

    const failures = run.err().split('\n').filter((line) => line.includes('answered 503'))
    expect(failures).toHaveLength(1)
    expect(server.faults.pending('snapshot')).toBe(0)
  })

  it('warns once of an unreadable event on the server, and never says "back in sync" when the sync did not fail (bug: both lines at every poll)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const run = watch(['--url', server.url, '--interval', '20'])
    await run.printed('out', /1 event at /)
    const body = JSON.stringify({ iterable: [makeEvent('a', 1), { ...makeEvent('bad', 2), created: { value: 'not a date' } }] })
    // Five polls bring the unreadable event, then one fails, then the server is fine.
    server.faults.add('snapshot', { type: 'body', body }, { times: 5 })
    server.faults.add('snapshot', { type: 'status', status: 503 })
    await run.printed('err', /answered 503[^]*back in sync/)
    const lines = run.err().split('\n').filter((line) => line !== '')
    expect(lines.filter((line) => line.includes('quarantined'))).toHaveLength(1)
    expect(lines.filter((line) => line.includes('back in sync'))).toHaveLength(1)
  })

  it('sends --app-id as the X-Application-ID header', async () => {
    const server = await startServer()
    const run = watch(['--url', server.url, '--app-id', 'my-app'])
    await run.printed('out', /0 events at /)

    const snapshot = server.requests.log.find((request) => request.route === 'snapshot')
    expect(snapshot?.headers['x-application-id']).toBe('my-app')
  })

  it('stops at once when stopped while the first snapshot is still on its way', async () => {
    const server = await startServer()
    server.faults.add('snapshot', { type: 'latency', ms: 60_000 })
    const run = watch(['--url', server.url])

    run.stop()

    expect(await run.exit).toBe(0)
    expect(run.err()).toBe('')
  })

  it('exits 1 naming the URL and what to check when nothing listens there', async () => {
    const server = await startServer()
    const url = server.url
    await server.close()

    const run = watch(['--url', url])

    expect(await run.exit).toBe(1)
    expect(run.err()).toContain(`workstream-sync watch: cannot read the events at ${url}.`)
    expect(run.err()).toContain(`(ECONNREFUSED). Check that Pieces OS (or the embedded server) is running at ${url}.`)
    expect(run.err()).toMatch(/Check --url\.\n$/)
    expect(run.out()).toBe('')
  })

  it('exits 1 and says the URL is not the API when it answers 404', async () => {
    const server = await startServer()

    const run = watch(['--url', `${server.url}/not-the-api/`])

    expect(await run.exit).toBe(1)
    expect(run.err()).toContain('answered 404')
    expect(run.err()).toContain('it must be the base URL of Pieces OS or of "workstream-sync serve"')
  })

  it.each([
    [['--url', 'localhost:1000'], '--url must be an http or https URL'],
    [['--url', 'ftp://127.0.0.1'], '--url must be an http or https URL'],
    [['--interval', 'soon'], '--interval must be a whole number'],
    [['--interval', '5'], '--interval must be a whole number from 10'],
    [['--log', 'loud'], '--log must be one of off, error, warn, info, debug'],
    [['--verbose'], "Unknown option '--verbose'"],
    // Refused by the store the command makes (it printed a stack trace and exited 1).
    [['--app-id', 'Café ✓'], 'cannot be sent as the X-Application-ID header'],
    [['--url', 'http://127.0.0.1:1000/?x=1'], 'has a query or a fragment'],
  ])('exits 2 with the usage for %j', async (argv, message) => {
    const run = watch(argv)

    expect(await run.exit).toBe(2)
    expect(run.err()).toContain(message)
    expect(run.err()).toContain('Usage: workstream-sync watch')
  })

  it('traces the store on stderr with --log debug', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const run = watch(['--url', server.url, '--log', 'debug'])
    await run.printed('out', /1 event at /)

    expect(run.err()).toMatch(/\[workstream-sync\] .*snapshot/)
  })

  it('stops quietly with exit code 0 when the reader of its output goes away, as `watch | head -1` does (bug: it crashed on EPIPE)', async () => {
    const server = await startServer({ events: [makeEvent('a', 1)] })
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'watch', '--url', server.url, '--interval', '50'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    // The reader closes its end, as head does after its first line; the next change is written to nobody.
    child.stdout.destroy()
    server.create(makeSeed('nobody reads this'))
    expect(await exited).toBe(0)
    expect(stderr).not.toMatch(/EPIPE|Error/)
  })

  it('is the watch command of the CLI', async () => {
    const recording = recordingIo()

    expect(await runCli(['watch', '--help'], recording.io)).toBe(0)
    expect(recording.out()).toContain('Usage: workstream-sync watch')
    expect(cliUsage()).toMatch(/\n {2}watch {2}/)
  })
})

describe('watch lines', () => {
  it('names every trigger flag that is set, and a dash when none is', () => {
    expect(triggerName({ file_close: true, application_switch: true, copy: false })).toBe('file_close+application_switch')
    expect(triggerName({ schema: { migration: 0, semantic: 'MAJOR_0_MINOR_0_PATCH_1' } })).toBe('-')
  })

  it('falls back from the readable text to the window title, the URL and the id, on one cut line', () => {
    const base = makeEvent('id-1', 0, { readable: undefined })
    expect(shortTitle({ ...base, windowTitle: 'store.ts — sync', browserUrl: 'https://x.test' })).toBe('store.ts — sync')
    expect(shortTitle({ ...base, browserUrl: 'https://x.test' })).toBe('https://x.test')
    expect(shortTitle(base)).toBe('id-1')
    expect(shortTitle({ ...base, readable: `${'é'.repeat(10)} 東京 ${'x'.repeat(100)}` }, 16)).toBe('éééééééééé 東京 x…')
  })

  it('shows the local time, the sign, the application, the trigger and the title', () => {
    const at = new Date(2025, 0, 1, 7, 8, 9).getTime()
    expect(formatWatchLine('-', makeEvent('a', 0), at)).toBe('07:08:09  - VS_CODE  copy  event a')
  })
})
