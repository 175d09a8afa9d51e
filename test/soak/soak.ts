import { formatSummary, runSoak, violationCount } from './runSoak'
import { runTabsSoak, type TabsSoakOptions } from './runTabsSoak'

/*
 * npm run soak -- --ops 5000 --seed 42 [--fingerprints] [--unknown-delete-status 404|500] [--poll <ms>] [--tabs 2|3 [--trace]]
 * --tabs runs the soak of several tabs (test/soak/runTabsSoak.ts) instead of the single store's;
 * --trace writes its operations and the stores' debug lines to stderr.
 * Prints the summary; exits 1 when anything was lost, duplicated or resurrected, 2 on bad options.
 */

const USAGE = 'usage: npm run soak -- --ops <n> --seed <n> [--fingerprints] [--unknown-delete-status 404|500] [--poll <ms>] [--tabs 2|3 [--trace]]'

function parse(argv: readonly string[]): (Parameters<typeof runSoak>[0] & Partial<Pick<TabsSoakOptions, 'tabs' | 'trace'>>) | string {
  let ops = 2000
  let seed = 1
  let honourInternalIdentifier = true
  let unknownDeleteStatus: 404 | 500 = 500
  let pollIntervalMs = 0
  let tabs: number | undefined
  let trace = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = argv[i + 1]
    if (arg === '--fingerprints') honourInternalIdentifier = false
    else if (arg === '--ops' && value !== undefined && /^\d+$/.test(value)) (ops = Number(value)), i++
    else if (arg === '--seed' && value !== undefined && /^-?\d+$/.test(value)) (seed = Number(value)), i++
    else if (arg === '--poll' && value !== undefined && /^\d+$/.test(value)) (pollIntervalMs = Number(value)), i++
    else if (arg === '--trace') trace = true
    else if (arg === '--tabs' && (value === '2' || value === '3')) (tabs = Number(value)), i++
    else if (arg === '--unknown-delete-status' && (value === '404' || value === '500')) (unknownDeleteStatus = Number(value) as 404 | 500), i++
    else return `unknown or incomplete option ${JSON.stringify(arg)}`
  }
  return { ops, seed, honourInternalIdentifier, unknownDeleteStatus, pollIntervalMs, ...(tabs !== undefined ? { tabs } : {}), ...(trace ? { trace: (line: string) => process.stderr.write(`${line}\n`) } : {}), log: (line) => process.stderr.write(`${line}\n`) }
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2))
  if (typeof options === 'string') {
    process.stderr.write(`${options}\n${USAGE}\n`)
    return 2
  }
  const { tabs } = options
  if (options.trace && tabs === undefined) {
    process.stderr.write(`--trace needs --tabs\n${USAGE}\n`)
    return 2
  }
  const summary = tabs !== undefined ? await runTabsSoak({ ...options, tabs }) : await runSoak(options)
  process.stdout.write(`${formatSummary(summary)}\n`)
  return violationCount(summary) === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
