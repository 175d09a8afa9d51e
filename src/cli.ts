import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runServeCommand, SERVE_USAGE, type CommandIo } from './server/index'
import { runWatchCommand, WATCH_USAGE } from './watchCommand'

export type { CommandIo }

/** One `workstream-sync <name>` command. */
export interface CliCommand {
  /** One line for the list of commands. */
  summary: string
  usage: string
  /** Resolves with the process exit code. */
  run(argv: readonly string[], io: CommandIo): Promise<number>
}

/** The commands, by name. Add a command here. */
export const CLI_COMMANDS: Readonly<Record<string, CliCommand>> = {
  serve: {
    summary: 'run a Pieces-compatible WorkstreamEvents server (sample events, faults for tests)',
    usage: SERVE_USAGE,
    run: runServeCommand,
  },
  watch: { summary: 'print the events of a Pieces OS (or of serve) as they change', usage: WATCH_USAGE, run: runWatchCommand },
}

export function cliUsage(commands: Readonly<Record<string, CliCommand>> = CLI_COMMANDS): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length))
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  return `Usage: workstream-sync <command> [options]

Commands:
${lines.join('\n')}

Run "workstream-sync <command> --help" for a command's options.
`
}

/** Dispatches `argv` (without the node and script paths) to a command; resolves with the exit code. */
export async function runCli(
  argv: readonly string[],
  io: CommandIo,
  commands: Readonly<Record<string, CliCommand>> = CLI_COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) {
      io.stderr(cliUsage(commands))
      return 2
    }
    const topic = name === 'help' && rest[0] !== undefined ? commandNamed(commands, rest[0]) : undefined
    io.stdout(topic?.usage ?? cliUsage(commands))
    return 0
  }
  const command = commandNamed(commands, name)
  if (command === undefined) {
    io.stderr(`workstream-sync: unknown command ${JSON.stringify(name)}.\n\n${cliUsage(commands)}`)
    return 2
  }
  return command.run(rest, io)
}

// Object.hasOwn keeps names such as "toString" from finding Object.prototype members.
function commandNamed(commands: Readonly<Record<string, CliCommand>>, name: string): CliCommand | undefined {
  return Object.hasOwn(commands, name) ? commands[name] : undefined
}

/** Runs the CLI in this process: real stdout and stderr, stopping on SIGINT or SIGTERM. */
export async function runCliProcess(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  // The reader of the output went away (`watch | head`): stop quietly, as a program killed by
  // SIGPIPE would. Node ignores SIGPIPE and reports EPIPE on the stream instead.
  let outputClosed: NodeJS.ErrnoException | undefined
  const onOutputError = (error: NodeJS.ErrnoException): void => {
    outputClosed ??= error
    stop.abort()
  }
  const write = (stream: NodeJS.WriteStream) => (text: string): void => {
    if (outputClosed === undefined) stream.write(text)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.stdout.on('error', onOutputError)
  process.stderr.on('error', onOutputError)
  try {
    const code = await runCli(argv, { stdout: write(process.stdout), stderr: write(process.stderr), signal: stop.signal })
    return outputClosed === undefined ? code : outputClosed.code === 'EPIPE' ? 0 : 1
  } finally {
    // The 'error' listeners stay: a write still pending when the command ends can fail after it.
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** True when this file is the program node was started with (npm's bin link resolved). */
function isMainModule(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    // A script path that cannot be resolved (deleted, or `node -e`) is not this file.
    return false
  }
}

// The bin entry runs the CLI; importing this module (tests, tools) runs nothing.
if (isMainModule()) {
  runCliProcess().then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`workstream-sync: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
      process.exitCode = 1
    },
  )
}
