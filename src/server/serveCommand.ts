import { stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { WorkstreamEvent } from '../models'
import { integerOption } from './integerOption'
import { generateSampleEvents } from './sampleEvents'
import { startWorkstreamServer } from './workstreamServer'

/** What a CLI command reads and writes, injected so that commands run in tests without a process. */
export interface CommandIo {
  /** Writes `text` as it is (it carries its own newlines) to standard output. */
  stdout(text: string): void
  /** Writes `text` as it is to standard error: errors and warnings. */
  stderr(text: string): void
  /** Aborts when the command should stop: SIGINT or SIGTERM in the CLI. */
  signal: AbortSignal
}

/** The help text of `workstream-sync serve`, with its options and their defaults. */
export const SERVE_USAGE = `Usage: workstream-sync serve [options]

Starts a Pieces-compatible WorkstreamEvents server (GET /workstream_events,
POST /workstream_events/create, POST /workstream_events/{id}/delete) and prints its URL.
Stops on Ctrl+C (SIGINT) or SIGTERM.

Options:
  --port N      the port to listen on (default: a free port)
  --host H      the address to listen on (default: 127.0.0.1)
  --data FILE   keep the events in FILE, a JSON file that survives restarts
  --sample N    start with N sample events when there is no data yet (default: 25)
  -h, --help    show this help
`

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1'])

/** `workstream-sync serve`: resolves with the exit code once the server has stopped. */
export async function runServeCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed: ServeArguments | 'help'
  try {
    parsed = parseServeArguments(argv)
  } catch (error) {
    io.stderr(`workstream-sync serve: ${error instanceof Error ? error.message : String(error)}\n\n${SERVE_USAGE}`)
    return 2
  }
  if (parsed === 'help') {
    io.stdout(SERVE_USAGE)
    return 0
  }

  const { port, host, dataFile, sample } = parsed
  let server: Awaited<ReturnType<typeof startWorkstreamServer>>
  try {
    const events = (await hasData(dataFile)) ? [] : sampleEvents(sample)
    server = await startWorkstreamServer({ port, host, ...(dataFile === undefined ? {} : { dataFile }), events })
  } catch (error) {
    io.stderr(`workstream-sync serve: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }

  if (!LOOPBACK_HOSTS.has(host)) {
    io.stderr(`workstream-sync serve: listening on ${host} lets other machines read and change these events.\n`)
  }
  const stored = dataFile === undefined ? 'in memory' : `saved to ${dataFile}`
  io.stdout(`workstream-sync server listening on ${server.url} (${server.events().length} events, ${stored})\n`)
  io.stdout('Press Ctrl+C to stop.\n')

  await aborted(io.signal)
  try {
    await server.close()
  } catch (error) {
    io.stderr(`workstream-sync serve: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
  io.stdout('Stopped.\n')
  return 0
}

interface ServeArguments {
  port: number
  host: string
  dataFile: string | undefined
  sample: number
}

function parseServeArguments(argv: readonly string[]): ServeArguments | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      sample: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help === true) return 'help'
  const port = integerOption('--port', values.port, 0, 0, 65535)
  const sample = integerOption('--sample', values.sample, 25, 0, 1_000_000)
  const host = values.host ?? '127.0.0.1'
  if (host === '') throw new Error('--host needs an address, for example 127.0.0.1')
  if (values.data === '') throw new Error('--data needs a file name')
  return { port, host, dataFile: values.data, sample }
}

/** Whether the data file already holds something, so that no sample events need generating. */
async function hasData(dataFile: string | undefined): Promise<boolean> {
  if (dataFile === undefined) return false
  const info = await stat(dataFile).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined
    throw error
  })
  return info !== undefined && info.size > 0
}

/** Sample events of the last hours, so that their times read as recent (the data stays seeded). */
function sampleEvents(count: number): WorkstreamEvent[] {
  return count === 0 ? [] : generateSampleEvents({ count, now: Date.now() })
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
