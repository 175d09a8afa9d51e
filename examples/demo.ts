import { parseArgs } from 'node:util'
import { startDemo } from './demoServer'
import { integerOption } from '../src/server/integerOption'

const USAGE = `Usage: npm start -- [options]

Starts the workstream-sync demo: an embedded Pieces-compatible server with sample events
and an activity simulator, and a web app (React hooks over the store) to open in a browser.

Options:
  --port N          the web app's port (default: 5310)
  --api-port N      the embedded server's port (default: 5311)
  --events N        sample events to start with (default: 40)
  --no-simulator    no activity besides yours
  -h, --help        show this help
`

interface DemoArguments {
  port: number
  apiPort: number
  events: number
  simulator: boolean
}

function parseDemoArguments(argv: readonly string[]): DemoArguments | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      'api-port': { type: 'string' },
      events: { type: 'string' },
      'no-simulator': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help === true) return 'help'
  return {
    port: integerOption('--port', values.port, 5310, 0, 65535),
    apiPort: integerOption('--api-port', values['api-port'], 5311, 0, 65535),
    events: integerOption('--events', values.events, 40, 0, 100_000),
    simulator: values['no-simulator'] !== true,
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: DemoArguments | 'help'
  try {
    parsed = parseDemoArguments(argv)
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
    return 2
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE)
    return 0
  }

  const print = (line: string): void => {
    process.stdout.write(`${line}\n`)
  }
  let demo: Awaited<ReturnType<typeof startDemo>>
  try {
    demo = await startDemo({ port: parsed.port, apiPort: parsed.apiPort, events: parsed.events, simulator: parsed.simulator, print })
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\nPorts in use? Choose others with --port and --api-port.\n`)
    return 1
  }

  print(`
  workstream-sync demo

  App:     ${demo.appUrl}   <- open this in a browser
  Server:  ${demo.apiUrl}   (${demo.server.events().length} sample events${parsed.simulator ? ', simulator on' : ''})
  Watch:   npx tsx src/cli.ts watch --url ${demo.apiUrl}

  Press Ctrl+C to stop. What happens on the server:
`)

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await demo.close()
  print('\nStopped.')
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
