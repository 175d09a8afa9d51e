import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { WorkstreamSyncError } from '../src/errors'
import { generateSampleEvents, generateSampleSeed, seededRandom } from '../src/server/sampleEvents'
import { checkSeededWorkstreamEvent, checkWorkstreamEvent, parseSeededWorkstreamEvent, parseWorkstreamEvents } from '../src/validate'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Every string value inside `value`, keys excluded. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value)
  else if (Array.isArray(value)) for (const item of value) strings(item, out)
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) strings(item, out)
  return out
}

describe('seededRandom', () => {
  it('repeats the same sequence for the same seed, in [0, 1)', () => {
    const a = seededRandom(42)
    const b = seededRandom(42)
    const first = Array.from({ length: 1000 }, () => a())
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first)
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(new Set(first).size).toBeGreaterThan(990)
    expect(seededRandom(43)()).not.toBe(first[0])
  })
})

describe('generateSampleEvents', () => {
  it('is deterministic for a given seed and now, and differs across seeds', () => {
    expect(generateSampleEvents({ count: 50, seed: 5 })).toEqual(generateSampleEvents({ count: 50, seed: 5 }))
    expect(generateSampleEvents({ count: 5 })).toEqual(generateSampleEvents({ count: 5, seed: 1 }))
    const other = generateSampleEvents({ count: 50, seed: 6 })
    expect(other.map((e) => e.id)).not.toEqual(generateSampleEvents({ count: 50, seed: 5 }).map((e) => e.id))
  })

  it('returns exactly count events, none for zero', () => {
    expect(generateSampleEvents({ count: 0 })).toEqual([])
    expect(generateSampleEvents({ count: 17 })).toHaveLength(17)
  })

  it('rejects a count that is not a non-negative integer', () => {
    for (const count of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => generateSampleEvents({ count })).toThrow(WorkstreamSyncError)
    }
  })

  it('orders events newest created first, before now, with updated between created and now', () => {
    const now = Date.UTC(2030, 0, 1)
    const events = generateSampleEvents({ count: 500, seed: 2, now })
    let previous = Number.POSITIVE_INFINITY
    for (const event of events) {
      const createdAt = Date.parse(event.created.value)
      const updatedAt = Date.parse(event.updated.value)
      expect(createdAt).toBeLessThan(previous)
      expect(createdAt).toBeLessThanOrEqual(now)
      expect(updatedAt).toBeGreaterThanOrEqual(createdAt)
      expect(updatedAt).toBeLessThanOrEqual(now)
      previous = createdAt
    }
  })

  it('gives every event a unique uuid-like id', () => {
    const ids = generateSampleEvents({ count: 5000, seed: 8 }).map((e) => e.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(id).toMatch(UUID)
  })

  it('averages between 3.0 and 4.2 kB of JSON per event', () => {
    for (const seed of [1, 2, 3]) {
      const events = generateSampleEvents({ count: 1000, seed })
      const bytes = events.reduce((sum, event) => sum + new TextEncoder().encode(JSON.stringify(event)).length, 0)
      const average = bytes / events.length
      expect(average).toBeGreaterThanOrEqual(3000)
      expect(average).toBeLessThanOrEqual(4200)
    }
  })

  it('makes events that all pass the validator, as a snapshot too', () => {
    const events = generateSampleEvents({ count: 1000, seed: 4 })
    for (const event of events) expect(checkWorkstreamEvent(event)).toBeUndefined()
    const body = JSON.parse(JSON.stringify({ iterable: events })) as unknown
    expect(parseWorkstreamEvents(body)).toBe(body)
  })

  it('shares no objects between events, so that changing one leaves the others alone', () => {
    const [a, b] = generateSampleEvents({ count: 2 })
    expect(a?.schema).not.toBe(b?.schema)
    expect(a?.application).not.toBe(b?.application)
  })

  it('puts accents, CJK, emoji, quotes, escaped quotes, backslashes and braces in the strings of every event', () => {
    for (const event of generateSampleEvents({ count: 200, seed: 13 })) {
      const text = strings(event)
      expect(text.some((s) => /[\u00c0-\u024f]/.test(s)), 'accents').toBe(true)
      expect(text.some((s) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(s)), 'CJK').toBe(true)
      expect(text.some((s) => /\p{Extended_Pictographic}/u.test(s)), 'emoji').toBe(true)
      expect(text.some((s) => s.includes('"')), 'quotes').toBe(true)
      expect(text.some((s) => s.includes('\\')), 'backslashes').toBe(true)
      expect(text.some((s) => s.includes('{') && s.includes('}')), 'braces').toBe(true)
      expect(text.some((s) => s.includes('\\"')), 'an escaped quote inside the text itself').toBe(true)
    }
  })

  it('writes those characters so that the raw JSON body holds escaped quotes and backslashes inside strings', () => {
    const body = JSON.stringify(generateSampleEvents({ count: 6 }))
    expect(body).toContain('\\"')
    expect(body).toContain('\\\\')
    expect(body).toMatch(/"[^"]*[{}][^"]*"/)
  })
})

describe('generateSampleSeed', () => {
  it('makes seeds that all pass the seed validator', () => {
    const random = seededRandom(3)
    for (let i = 0; i < 300; i++) {
      const seed = generateSampleSeed(random, i)
      expect(checkSeededWorkstreamEvent(seed)).toBeUndefined()
      expect(parseSeededWorkstreamEvent(seed)).toBe(seed)
      expect(seed).not.toHaveProperty('internal_identifier')
    }
  })

  it('is deterministic for the same random sequence and index', () => {
    expect(generateSampleSeed(seededRandom(9), 4)).toEqual(generateSampleSeed(seededRandom(9), 4))
    expect(generateSampleSeed(seededRandom(9))).toEqual(generateSampleSeed(seededRandom(9), 0))
  })
})

describe('the sampleEvents module', () => {
  it('imports nothing from Node, so that browsers and the bench can use it', () => {
    const source = readFileSync(new URL('../src/server/sampleEvents.ts', import.meta.url), 'utf8')
    const imports = [...source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((match) => match[1])
    expect(imports).toEqual(['../errors', '../models'])
  })
})
