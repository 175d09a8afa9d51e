import { afterAll, afterEach } from 'vitest'

/*
 * Fails the test during which a promise rejection went unhandled or an exception went uncaught,
 * naming it (vitest also reports them at the end of the run and fails it). A library whose
 * callers may ignore a promise must never leave a rejection unhandled.
 */
const unhandled: string[] = []
const record = (what: string) => (reason: unknown): void => {
  unhandled.push(`${what}: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`)
}
const onRejection = record('unhandled rejection')
const onException = record('uncaught exception')
process.on('unhandledRejection', onRejection)
process.on('uncaughtException', onException)

function check(): void {
  if (unhandled.length === 0) return
  const found = unhandled.splice(0)
  throw new Error(`${found.length} unhandled failure(s):\n${found.join('\n')}`)
}

afterEach(check)

afterAll(() => {
  process.off('unhandledRejection', onRejection)
  process.off('uncaughtException', onException)
  check()
})
