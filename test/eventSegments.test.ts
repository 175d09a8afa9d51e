import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isAsciiEscaped } from '../src/asciiJson'
import { EventSegments, MAX_DELTA_SEGMENTS, SEGMENT_CHARS, SEGMENT_PREFIX, type Segment, type SegmentWrites } from '../src/eventSegments'
import type { WorkstreamEvent } from '../src/models'

/*
 * The segment log alone: what each change writes, and that reading back what was written gives
 * every event's newest text. Storage is a Map here; values go through JSON, as a custom storage
 * that serialises them would.
 */

/** A storage of segment values and the meta record's layout, written the way Persistence writes them. */
class Stored {
  readonly values = new Map<number, unknown>()
  layout = { segments: [] as readonly number[], base: 0 }
  charsWritten = 0

  apply(log: EventSegments, writes: SegmentWrites): void {
    for (const [key, segment] of writes.sets) {
      this.values.set(seqOf(key), JSON.parse(JSON.stringify(segment)))
      this.charsWritten += segment.text.length
    }
    this.layout = log.layout()
    for (const key of writes.deletes) this.values.delete(seqOf(key))
  }

  /**
   * What a new log reads back: each event's text as stored (`stored`), and as JSON.stringify
   * writes it (`texts`), to compare with the texts given, which the log may have escaped.
   */
  readBack(): { texts: Map<string, string>; stored: Map<string, string>; bad: string[]; stale: string[] } {
    const read = new EventSegments().read(this.layout, this.values, (id, text) => ({ id, text }) as unknown as WorkstreamEvent)
    const stored = new Map(read.texts.map((text, i) => [read.events[i]!.id, text]))
    return { texts: new Map([...stored].map(([id, text]) => [id, JSON.stringify(JSON.parse(text))])), stored, bad: read.bad, stale: read.stale }
  }

  get chars(): number {
    let sum = 0
    for (const value of this.values.values()) sum += (value as Segment).text.length
    return sum
  }
}

const seqOf = (key: string): number => Number(key.slice(SEGMENT_PREFIX.length))

/** A cache as a map of id → text, changed through a log and a store the way Persistence does it. */
function cache(initial: ReadonlyArray<[string, string]> = []) {
  let log = new EventSegments()
  const stored = new Stored()
  const texts = new Map<string, string>()
  const change = (set: ReadonlyArray<readonly [string, string]>, remove: readonly string[] = []): SegmentWrites => {
    for (const [id, text] of set) texts.set(id, text)
    for (const id of remove) texts.delete(id)
    const writes = log.write(
      set.map(([id]) => id),
      remove,
      texts.keys(),
      (id) => texts.get(id)!,
    )
    stored.apply(log, writes)
    return writes
  }
  change(initial)
  /** A new session: a log that knows only what it reads from storage goes on writing. */
  const reload = (): void => {
    log = new EventSegments()
    log.read(stored.layout, stored.values, (id, t) => ({ id, text: t }) as unknown as WorkstreamEvent)
  }
  return { stored, texts, change, reload }
}

const text = (id: string, body = ''): string => JSON.stringify({ id, body })

describe('event segments', () => {
  it('writes a change as one segment with the changed texts and the removals, and nothing else', () => {
    const { stored, change } = cache([
      ['a', text('a')],
      ['b', text('b')],
      ['c', text('c')],
    ])
    const writes = change([['a', text('a', 'changed')], ['d', text('d')]], ['b'])
    expect(writes.deletes).toEqual([])
    expect(writes.sets.map(([, segment]) => segment)).toEqual([{ ids: ['a', 'd'], lengths: [text('a', 'changed').length, text('d').length], text: text('a', 'changed') + text('d'), removed: ['b'] }])
    expect(stored.readBack().texts).toEqual(new Map([['a', text('a', 'changed')], ['c', text('c')], ['d', text('d')]]))
  })

  it('reads back texts with quotes, braces, escapes and any Unicode as the same JSON, through JSON storage', () => {
    const tricky = [
      ['q', JSON.stringify({ id: 'q', s: 'say "hi" {not} [an] \\ object', t: '}{', e: '\\u00e9' })],
      ['u', JSON.stringify({ id: 'u', s: 'naïve café — 日本語 🎉👩‍👩‍👧 \u2028 \u0000 \\ü \\\\🎉', lone: '\ud800', ['ключ 🔑']: '\u0080\u00ff\u0100\uffff' })],
    ] as const
    const { stored } = cache(tricky.map(([id, t]) => [id, t]))
    expect(stored.readBack().texts).toEqual(new Map(tricky))
  })

  it('stores a segment in ASCII where that takes fewer bytes than its texts as they came', () => {
    const english = (id: string): string => JSON.stringify({ id, body: `${'A plain English sentence, with one emoji 🚀 and a dash — in it. '.repeat(20)}` })
    const japanese = (id: string): string => JSON.stringify({ id, body: '東京都の日本語のテキストです。'.repeat(40) })
    const german = (id: string): string => JSON.stringify({ id, body: 'Grüße aus Köln, schön. '.repeat(40) })
    for (const [make, escaped] of [[english, true], [japanese, false], [german, false]] as const) {
      const { stored } = cache([['a', make('a')], ['b', make('b')]])
      const back = stored.readBack()
      expect(back.texts).toEqual(new Map([['a', make('a')], ['b', make('b')]]))
      for (const text of back.stored.values()) {
        expect(isAsciiEscaped(text)).toBe(escaped)
        if (escaped) expect(text).toMatch(/^[\x00-\x7f]+$/)
      }
    }
  })

  it('splits what it writes into segments of at most SEGMENT_CHARS, a larger text alone in its own', () => {
    const half = 'x'.repeat(SEGMENT_CHARS / 2)
    const { stored } = cache([
      ['a', text('a', half)],
      ['b', text('b', half)],
      ['c', text('c', half + half + half)],
      ['d', text('d')],
    ])
    expect(stored.layout.segments).toHaveLength(4)
    expect([...stored.values.values()].map((segment) => (segment as Segment).ids)).toEqual([['a'], ['b'], ['c'], ['d']])
    expect(stored.readBack().texts.size).toBe(4)
  })

  it('merges the segments of many small changes into one, keeping the removal of events the rewrite holds', () => {
    const initial = Array.from({ length: 10 }, (_, i): [string, string] => [`e${i}`, text(`e${i}`)])
    const { stored, change, texts } = cache(initial)
    change([], ['e0'])
    for (let i = 0; i < MAX_DELTA_SEGMENTS; i++) change([['e1', text('e1', `v${i}`)]])
    expect(stored.layout.segments.length).toBeLessThanOrEqual(stored.layout.base + 1)
    expect(stored.readBack().texts).toEqual(texts)
    expect(stored.readBack().texts.has('e0')).toBe(false)
  })

  it('lets a large cache take more segments before merging: a quarter of its rewrite’s', () => {
    const big = 'w'.repeat(SEGMENT_CHARS * 0.6)
    const initial = Array.from({ length: 160 }, (_, i): [string, string] => [`e${i}`, text(`e${i}`, big)])
    const { stored, change } = cache(initial)
    expect(stored.layout.base).toBe(160)
    for (let i = 0; i < 40; i++) change([[`e${i}`, text(`e${i}`, 'small')]])
    expect(stored.layout.segments.length - stored.layout.base).toBe(40)
    change([['e40', text('e40', 'small')]])
    expect(stored.layout.segments.length - stored.layout.base).toBe(1)
  })

  it('writes only the changed event once a cache has grown far beyond its last rewrite', () => {
    // A first snapshot of one event, then polls that each add 100 events of 3.6 kB: nothing goes
    // stale, so only the growth itself can bring a rewrite.
    const { stored, change, texts } = cache([['first', text('first')]])
    const body = 'x'.repeat(3600)
    for (let poll = 0; poll < 40; poll++) change(Array.from({ length: 100 }, (_, i): [string, string] => [`p${poll}-${i}`, text(`p${poll}-${i}`, body)]))
    for (let i = 0; i < 5; i++) {
      const before = stored.charsWritten
      change([[`p0-${i}`, text(`p0-${i}`, body + '!')]])
      expect(stored.charsWritten - before).toBe(text(`p0-${i}`, body + '!').length)
    }
    expect(stored.layout.segments.length - stored.layout.base).toBeLessThanOrEqual(Math.max(MAX_DELTA_SEGMENTS, stored.layout.base / 4))
    expect(stored.readBack().texts).toEqual(texts)
  })

  it('rewrites everything once stale texts outweigh the live ones, so that storage holds about the cache', () => {
    const big = 'y'.repeat(SEGMENT_CHARS / 4)
    const initial = Array.from({ length: 8 }, (_, i): [string, string] => [`e${i}`, text(`e${i}`, big)])
    const { stored, change, texts } = cache(initial)
    let rewrites = 0
    for (let round = 0; round < 3; round++) {
      for (const [id] of initial) {
        const writes = change([[id, text(id, big + round)]])
        if (writes.deletes.length > 0) rewrites++
      }
    }
    expect(rewrites).toBeGreaterThan(0)
    const live = [...texts.values()].reduce((sum, t) => sum + t.length, 0)
    expect(stored.chars).toBeLessThanOrEqual(2 * live + SEGMENT_CHARS)
    expect(stored.readBack().texts).toEqual(texts)
  })

  it('reports an unreadable segment and segments the layout does not list, and reads the rest', () => {
    const { stored } = cache([
      ['a', text('a')],
      ['b', text('b', 'z'.repeat(SEGMENT_CHARS))],
    ])
    stored.values.set(0, { ids: ['a'], lengths: [1000], text: 'short', removed: [] })
    stored.values.set(99, { ids: ['old'], lengths: [3], text: '"x"', removed: [] })
    const { texts, bad, stale } = stored.readBack()
    expect(bad).toEqual(['s:0'])
    expect(stale).toEqual(['s:99'])
    expect([...texts.keys()]).toEqual(['b'])
  })

  it('holds every event’s newest text through any sequence of changes, within bounded reads and size', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f']
    const step = fc.record({
      set: fc.array(fc.tuple(fc.constantFrom(...ids), fc.string({ maxLength: 40, unit: 'binary' })), { maxLength: 4 }),
      remove: fc.uniqueArray(fc.constantFrom(...ids), { maxLength: 2 }),
      reload: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    })
    fc.assert(
      fc.property(fc.array(step, { minLength: MAX_DELTA_SEGMENTS + 8, maxLength: 120 }), (steps) => {
        const { stored, change, texts, reload } = cache()
        for (const { set, remove, reload: reloads } of steps) {
          if (reloads) reload()
          const unique = new Map(set.map(([id, body]) => [id, text(id, body)]))
          change([...unique], remove.filter((id) => !unique.has(id)))
          expect(stored.readBack().texts).toEqual(texts)
          expect(stored.layout.segments.length - stored.layout.base).toBeLessThanOrEqual(Math.max(MAX_DELTA_SEGMENTS, stored.layout.base / 4))
          const live = [...stored.readBack().stored.values()].reduce((sum, t) => sum + t.length, 0)
          expect(stored.chars).toBeLessThanOrEqual(2 * live + 2 * SEGMENT_CHARS)
        }
      }),
      { seed: 20261129, numRuns: 200 },
    )
  })
})
