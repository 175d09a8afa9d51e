import { WorkstreamSyncError } from './errors'

/** How much the store tells: nothing (the default), errors, warnings, info, or everything. */
export type LogLevel = 'off' | 'error' | 'warn' | 'info' | 'debug'

/** Where log lines go: `console` fits, and so does any logger with these four methods. */
export interface LogSink {
  /** Failures that need the app's attention. */
  error(message: string, ...details: unknown[]): void
  /** Failures the store reports on `errors$` and goes on after (a failed poll or send, a bad cache). */
  warn(message: string, ...details: unknown[]): void
  /** Changes worth a line, such as this tab becoming the leader. */
  info(message: string, ...details: unknown[]): void
  /** Polls, diffs and mutation state changes. */
  debug(message: string, ...details: unknown[]): void
}

/**
 * The store's `logger` option, when more than a level is needed. Lines start with
 * `[workstream-sync]`.
 *
 * @example
 * ```ts
 * createWorkstreamStore({ logger: { level: 'debug', sink: myLogger, includeContent: false } })
 * ```
 */
export interface LoggerOptions {
  /** Default `'off'`. */
  level?: LogLevel
  /** Where lines go. Default: `console`. */
  sink?: LogSink
  /** Whether lines may include events' content (titles, URLs). Default `false`: ids and counts only. */
  includeContent?: boolean
}

export interface Logger {
  readonly includeContent: boolean
  /** Whether lines of `level` are written: to skip building lines nobody reads. */
  enabled(level: Exclude<LogLevel, 'off'>): boolean
  error(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
  info(message: string, ...details: unknown[]): void
  debug(message: string, ...details: unknown[]): void
}

const RANK: Record<LogLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 }

/** A logger that prefixes lines and drops those below its level. Off unless asked for. */
export function createLogger(options: LoggerOptions | LogLevel | undefined): Logger {
  const resolved: LoggerOptions = typeof options === 'string' ? { level: options } : options ?? {}
  const level = resolved.level ?? 'off'
  if (!Object.hasOwn(RANK, level)) {
    throw new WorkstreamSyncError('invalid-input', `The logger level ${JSON.stringify(level)} is not one of ${Object.keys(RANK).map((l) => `'${l}'`).join(', ')}.`)
  }
  const rank = RANK[level]
  const sink = (): LogSink => resolved.sink ?? console
  const line = (level: Exclude<LogLevel, 'off'>) => (message: string, ...details: unknown[]): void => {
    if (RANK[level] > rank) return
    try {
      sink()[level](`[workstream-sync] ${message}`, ...details)
    } catch {
      // A sink that throws loses its line, and only that: the store's work goes on.
    }
  }
  return {
    includeContent: resolved.includeContent ?? false,
    enabled: (level) => RANK[level] <= rank,
    error: line('error'),
    warn: line('warn'),
    info: line('info'),
    debug: line('debug'),
  }
}
