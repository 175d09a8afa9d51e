import { randomUUID } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { WorkstreamSyncError } from '../errors'
import type { WorkstreamEvent } from '../models'
import { checkWorkstreamEvent } from '../validate'

/**
 * Reads a data file: a `WorkstreamEvents` JSON body (what the server writes, or a snapshot saved
 * from Pieces OS). Resolves undefined when the file does not exist or is empty, so that the caller
 * seeds it.
 */
export async function readDataFile(file: string): Promise<WorkstreamEvent[] | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (isMissingFile(error)) return undefined
    throw new WorkstreamSyncError('storage', `Cannot read the data file ${file}: ${describe(error)}`, { cause: error })
  }
  if (text.trim() === '') return undefined

  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw unreadable(file, `it is not JSON (${describe(error)})`, error)
  }
  const iterable = isRecord(parsed) ? parsed['iterable'] : undefined
  if (!Array.isArray(iterable)) throw unreadable(file, 'it has no "iterable" array of events')

  const seen = new Set<string>()
  iterable.forEach((item: unknown, index) => {
    const problem = checkWorkstreamEvent(item, `iterable[${index}]`)
    if (problem !== undefined) throw unreadable(file, problem)
    const id = (item as WorkstreamEvent).id
    if (seen.has(id)) throw unreadable(file, `iterable[${index}].id: ${JSON.stringify(id)} appears twice`)
    seen.add(id)
  })
  return iterable as WorkstreamEvent[]
}

/** The body a writer persists and the revision it belongs to. */
export interface DataFileSource {
  readonly revision: number
  body(): Buffer
}

export interface DataFileWriter {
  /** Writes the current state soon; writes coalesce, and at most one runs at a time. */
  schedule(): void
  /** Resolves once the current state is on disk; rejects with the write error if it is not. */
  flush(): Promise<void>
}

/**
 * Persists `source` to `file` atomically: each write goes to a temporary file in the same
 * directory, is synced, then renamed over the target, so a reader (or a crash) never sees a
 * partial file. `writtenRevision` is the revision already on disk (the loaded one), if any.
 */
export function createDataFileWriter(file: string, source: DataFileSource, writtenRevision?: number): DataFileWriter {
  let written = writtenRevision
  let running: Promise<void> | undefined
  let lastError: unknown

  async function writeUntilCurrent(): Promise<void> {
    try {
      while (written !== source.revision) {
        const revision = source.revision
        await writeAtomically(file, source.body())
        written = revision
        lastError = undefined
      }
    } catch (error) {
      lastError = error
    } finally {
      running = undefined
    }
  }

  function schedule(): void {
    running ??= writeUntilCurrent()
  }

  return {
    schedule,
    async flush() {
      if (written !== source.revision) schedule()
      await running
      if (written !== source.revision) {
        throw new WorkstreamSyncError('storage', `Cannot write the data file ${file}: ${describe(lastError)}`, {
          cause: lastError,
        })
      }
    },
  }
}

async function writeAtomically(file: string, body: Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`
  try {
    const handle = await open(temporary, 'w')
    try {
      await handle.writeFile(body)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    await rename(temporary, file)
  } catch (error) {
    // The temporary file may never have been created; the write error is the one that matters.
    await unlink(temporary).catch(() => undefined)
    throw error
  }
}

function unreadable(file: string, problem: string, cause?: unknown): WorkstreamSyncError {
  return new WorkstreamSyncError(
    'storage',
    `The data file ${file} cannot be loaded: ${problem}. Fix the file, or move it away to start from the initial events.`,
    cause === undefined ? {} : { cause },
  )
}

function isMissingFile(error: unknown): boolean {
  return isRecord(error) && error['code'] === 'ENOENT'
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
