import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WorkstreamSyncError } from '../src/errors'
import type { SeededWorkstreamEvent, WorkstreamEvent } from '../src/models'
import { generateSampleEvents, generateSampleSeed, seededRandom } from '../src/server/sampleEvents'
import {
  checkSeededWorkstreamEvent,
  checkWorkstreamEvent,
  checkWorkstreamEventsEnvelope,
  isValidId,
  parseSeededWorkstreamEvent,
  parseWorkstreamEvent,
  parseWorkstreamEvents,
} from '../src/validate'

type Kind = 'ide' | 'browser' | 'native_ocr' | 'accessibility'
const DELETE = Symbol('delete')
const samples = generateSampleEvents({ count: 40, seed: 7 })

/** A fresh copy of a sample event whose context is of `kind`. */
function sample(kind: Kind = 'ide'): WorkstreamEvent {
  const found = samples.find((event) => event.context?.[kind] !== undefined)
  if (!found) throw new Error(`no sample event with a ${kind} context`)
  return structuredClone(found)
}

/** A copy of `value` with the key at `path` (like `tags.iterable[0].id`) set, or deleted. */
function withChange<T>(value: T, path: string, next: unknown): T {
  const copy = structuredClone(value) as Record<string, unknown>
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.')
  let target = copy
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>
  const last = keys[keys.length - 1] as string
  if (next === DELETE) delete target[last]
  else target[last] = next
  return copy as T
}

/** The value at `path` in `value`, or undefined when a key on the way is missing. */
function valueAt(value: unknown, path: string): unknown {
  let target = value
  for (const key of path.replace(/\[(\d+)\]/g, '.$1').split('.')) target = (target as Record<string, unknown> | undefined)?.[key]
  return target
}

function caught(fn: () => unknown): WorkstreamSyncError {
  try {
    fn()
  } catch (error) {
    if (error instanceof WorkstreamSyncError) return error
    throw error
  }
  throw new Error('expected a WorkstreamSyncError, but nothing was thrown')
}

describe('checkWorkstreamEvent', () => {
  it('accepts every generated sample event', () => {
    for (const event of generateSampleEvents({ count: 300, seed: 3 })) expect(checkWorkstreamEvent(event)).toBeUndefined()
  })

  it.each<[Kind, string, unknown, string]>([
    ['ide', 'id', DELETE, 'id: expected a non-empty string (missing)'],
    ['ide', 'id', '', 'id: expected a non-empty string, got ""'],
    ['ide', 'id', 42, 'id: expected a non-empty string, got a number'],
    ['ide', 'application', DELETE, 'application: expected an object (missing)'],
    ['ide', 'application', [], 'application: expected an object, got an array'],
    ['ide', 'application.id', DELETE, 'application.id: expected a string (missing)'],
    ['ide', 'application.name', 7, 'application.name: expected a string, got a number'],
    ['ide', 'application.version', DELETE, 'application.version: expected a string (missing)'],
    ['ide', 'application.platform', null, 'application.platform: expected a string, got null'],
    ['ide', 'application.onboarded', 'yes', 'application.onboarded: expected a boolean, got "yes"'],
    ['ide', 'application.privacy', DELETE, 'application.privacy: expected a string (missing)'],
    ['ide', 'application.automaticUnload', 0, 'application.automaticUnload: expected a boolean, got a number'],
    ['ide', 'created', DELETE, 'created: expected an object (missing)'],
    ['ide', 'created.value', DELETE, 'created.value: expected an ISO date string (missing)'],
    ['ide', 'created.value', 1717338600000, 'created.value: expected an ISO date string, got a number'],
    ['ide', 'created.value', 'yesterday', 'created.value: expected an ISO date string, got "yesterday"'],
    ['ide', 'created.value', 'June 2, 2025 14:30', 'created.value: expected an ISO date string, got "June 2, 2025 14:30"'],
    ['ide', 'updated.value', '2025-13-02T14:30:00.000Z', 'updated.value: expected an ISO date string, got "2025-13-02T14:30:00.000Z"'],
    ['ide', 'created.readable', 5, 'created.readable: expected a string, got a number'],
    ['ide', 'trigger', DELETE, 'trigger: expected an object (missing)'],
    ['ide', 'trigger.check_in', 'true', 'trigger.check_in: expected a boolean, got "true"'],
    ['ide', 'score.manual', DELETE, 'score.manual: expected a number (missing)'],
    ['ide', 'score.automatic', '3', 'score.automatic: expected a number, got "3"'],
    ['ide', 'schema.migration', DELETE, 'schema.migration: expected a number (missing)'],
    ['ide', 'readable', 1, 'readable: expected a string, got a number'],
    ['ide', 'windowTitle', {}, 'windowTitle: expected a string, got an object'],
    ['ide', 'workstreamEventsVector', 'fast', 'workstreamEventsVector: expected an array of numbers, got "fast"'],
    ['ide', 'workstreamEventsVector[1]', '0.5', 'workstreamEventsVector[1]: expected a number, got "0.5"'],
    ['ide', 'tags', [], 'tags: expected an object, got an array'],
    ['ide', 'tags.iterable', DELETE, 'tags.iterable: expected an array (missing)'],
    ['ide', 'tags.iterable[0].id', DELETE, 'tags.iterable[0].id: expected a string (missing)'],
    ['ide', 'tags.iterable[0]', 'rxjs', 'tags.iterable[0]: expected an object, got "rxjs"'],
    ['ide', 'tags.iterable', 'rxjs', 'tags.iterable: expected an array, got "rxjs"'],
    ['ide', 'tags.iterable[0].id', 5, 'tags.iterable[0].id: expected a string, got a number'],
    ['ide', 'tags.iterable[0].reference', 'rxjs', 'tags.iterable[0].reference: expected an object, got "rxjs"'],
    ['ide', 'tags.indices', ['a'], 'tags.indices: expected an object, got an array'],
    ['ide', 'tags.indices.first', '0', 'tags.indices.first: expected a number, got "0"'],
    ['ide', 'tags.indices.not an identifier', true, 'tags.indices["not an identifier"]: expected a number, got a boolean'],
    ['ide', 'tags.schema', 'v1', 'tags.schema: expected an object, got "v1"'],
    ['ide', 'tags.score', { automatic: 1 }, 'tags.score.manual: expected a number (missing)'],
    ['ide', 'source_windows.iterable[0].id', DELETE, 'source_windows.iterable[0].id: expected a string (missing)'],
    ['ide', 'source_windows.iterable[0].reference', [], 'source_windows.iterable[0].reference: expected an object, got an array'],
    ['ide', 'summaries', 'none', 'summaries: expected an object, got "none"'],
    ['ide', 'sources', { iterable: [null] }, 'sources.iterable[0]: expected an object, got null'],
    ['ide', 'messages', {}, 'messages.iterable: expected an array (missing)'],
    ['ide', 'annotations', { iterable: [{ reference: {} }] }, 'annotations.iterable[0].id: expected a string (missing)'],
    ['ide', 'anchors', { iterable: [{ id: 'a', reference: 1 }] }, 'anchors.iterable[0].reference: expected an object, got a number'],
    ['ide', 'persons', { iterable: {} }, 'persons.iterable: expected an array, got an object'],
    ['ide', 'context', [], 'context: expected an object, got an array'],
    ['ide', 'context', 'ide', 'context: expected an object, got "ide"'],
    ['ide', 'application.enrichment', 3, 'application.enrichment: expected an object, got a number'],
    ['browser', 'websites.iterable', DELETE, 'websites.iterable: expected an array (missing)'],
    ['browser', 'websites.iterable[0].reference', 3, 'websites.iterable[0].reference: expected an object, got a number'],
    ['browser', 'browserUrl', false, 'browserUrl: expected a string, got a boolean'],
  ])('names the path when a %s event has %s set to %o', (kind, path, value, expected) => {
    expect(checkWorkstreamEvent(withChange(sample(kind), path, value))).toBe(expected)
  })

  it.each<[Kind, string]>([
    ['ide', 'tags.iterable[0].reference.text'],
    ['ide', 'tags.iterable[0].reference.created'],
    ['ide', 'source_windows.iterable[0].reference.name'],
    ['ide', 'context.ide.tabs.iterable[0].anchor.fullpath'],
    ['ide', 'context.ide.tabs.iterable[0].anchor'],
    ['browser', 'context.browser.tabs.iterable[0].website.url'],
    ['browser', 'websites.iterable[0].reference.url'],
    ['native_ocr', 'context.native_ocr.ocrText'],
    ['accessibility', 'context.accessibility.windowTitle'],
  ])('accepts a %s event whose deep graphs omit fields the official models call required (%s), so a newer or older Pieces OS never hides an event', (kind, path) => {
    const event = sample(kind)
    expect(valueAt(event, path)).toBeDefined()
    expect(checkWorkstreamEvent(withChange(event, path, DELETE))).toBeUndefined()
  })

  it.each<[Kind, string, unknown]>([
    ['ide', 'context.ide.tabs.iterable[1].current', 'no'],
    ['ide', 'context.ide.tabs.iterable[0].value.raw', 12],
    ['ide', 'context.ide.tabs', 'tabs'],
    ['ide', 'tags.iterable[0].reference.created.value', 'soon'],
    ['ide', 'tags.iterable[0].reference.id', 7],
    ['ide', 'tags.iterable[0].schema', 'v1'],
    ['browser', 'websites.iterable[0].reference.url', 3],
    ['native_ocr', 'context.native_ocr.isCached', 'false'],
    ['native_ocr', 'context.native_ocr', []],
  ])('never reads inside a deep graph: accepts a %s event with %s set to %o', (kind, path, value) => {
    expect(checkWorkstreamEvent(withChange(sample(kind), path, value))).toBeUndefined()
  })

  it('prefixes every message with the given path', () => {
    const event = withChange(sample(), 'created.value', 'not a date')
    expect(checkWorkstreamEvent(event, 'iterable[3]')).toBe('iterable[3].created.value: expected an ISO date string, got "not a date"')
    expect(checkWorkstreamEvent(null, 'iterable[3]')).toBe('iterable[3]: expected an object, got null')
  })

  it('rejects values that are not plain objects', () => {
    expect(checkWorkstreamEvent(null)).toBe('expected an object, got null')
    expect(checkWorkstreamEvent([sample()])).toBe('expected an object, got an array')
    expect(checkWorkstreamEvent('{"id":"a"}')).toBe('expected an object, got "{\\"id\\":\\"a\\"}"')
  })

  it('treats null optional fields as absent, since generated servers write null', () => {
    const event: Record<string, unknown> = { ...sample() }
    for (const key of ['schema', 'score', 'context', 'summaries', 'tags', 'readable', 'workstreamEventsVector', 'sources', 'windowTitle',
      'browserUrl', 'processing', 'messages', 'annotations', 'anchors', 'websites', 'source_windows', 'persons']) event[key] = null
    event.trigger = { check_in: null, copy: true, schema: null }
    event.created = { value: '2025-06-02T14:30:00.000Z', readable: null, schema: null }
    expect(checkWorkstreamEvent(event)).toBeUndefined()
  })

  it('accepts unknown keys at any depth without reading them', () => {
    const depth = 100_000
    const deep = JSON.parse(`${'{"next":'.repeat(depth)}[1,{"__proto__":null}]${'}'.repeat(depth)}`) as unknown
    const event = sample() as unknown as Record<string, unknown>
    event.futureField = deep
    ;(event.application as Record<string, unknown>).futureFlag = { nested: deep }
    ;(event.trigger as Record<string, unknown>).future_flag = deep
    expect(checkWorkstreamEvent(event)).toBeUndefined()
  })

  it('accepts a 5 MB string in one event', () => {
    const big = 'é{"\\'.repeat(1_250_000)
    const event = JSON.parse(JSON.stringify(withChange(sample('native_ocr'), 'context.native_ocr.ocrText', big))) as unknown
    expect(checkWorkstreamEvent(event)).toBeUndefined()
    expect(checkWorkstreamEvent(withChange(sample(), 'readable', big))).toBeUndefined()
  })

  it('shortens long strings quoted in a message', () => {
    const message = checkWorkstreamEvent(withChange(sample(), 'created.value', 'x'.repeat(5_000_000)))
    expect(message).toBe(`created.value: expected an ISO date string, got "${'x'.repeat(40)}"... (5000000 characters)`)
  })

  it('accepts the ISO 8601 forms that servers write', () => {
    for (const value of ['2025-06-02T14:30:00Z', '2025-06-02T14:30:00.123Z', '2025-06-02T14:30:00.123456Z', '2025-06-02T16:30:00+02:00',
      '2025-06-02T14:30:00.123456', '2024-02-29T00:00:00.000Z', '2025-06-02T14:30Z']) {
      expect(checkWorkstreamEvent(withChange(sample(), 'created.value', value)), value).toBeUndefined()
    }
  })

  it('accepts a date-time string exactly when it has the ISO shape and Date.parse accepts it', () => {
    const pad = (n: number, width: number): string => String(n).padStart(width, '0')
    const isoLike = fc.record({
      year: fc.integer({ min: 0, max: 9999 }), month: fc.integer({ min: 0, max: 13 }), day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 25 }), minute: fc.integer({ min: 0, max: 61 }), second: fc.integer({ min: 0, max: 61 }),
      fraction: fc.constantFrom('', '.', '.1', '.123', '.123456', '.123456789', '.1234567890', '.12a'),
      zone: fc.constantFrom('Z', '', '+02:00', '-11:30', 'z', ' UTC', 'Zx'),
    }).map((d) => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}T${pad(d.hour, 2)}:${pad(d.minute, 2)}:${pad(d.second, 2)}${d.fraction}${d.zone}`)
    fc.assert(fc.property(isoLike, (value) => {
      const accepted = checkWorkstreamEvent(withChange(sample(), 'updated.value', value)) === undefined
      expect(accepted).toBe(!Number.isNaN(Date.parse(value)))
    }), { numRuns: 2000 })
    fc.assert(fc.property(fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (date) => {
      expect(checkWorkstreamEvent(withChange(sample(), 'updated.value', date.toISOString()))).toBeUndefined()
    }))
  })

  it('never pollutes prototypes when the input has __proto__, constructor or prototype keys', () => {
    const body = JSON.stringify(sample()).slice(1, -1)
    const event = JSON.parse(`{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":{"polluted":3},${body}}`) as unknown
    const tags = JSON.parse('{"iterable":[],"indices":{"__proto__":0,"constructor":1}}') as unknown
    expect(checkWorkstreamEvent(event)).toBeUndefined()
    expect(checkWorkstreamEvent(withChange(sample(), 'tags', tags))).toBeUndefined()
    expect(parseWorkstreamEvent(event)).toBe(event)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype)
  })

  it('names a __proto__ key of an index map that holds the wrong type', () => {
    const tags = JSON.parse('{"iterable":[],"indices":{"__proto__":"zero"}}') as unknown
    expect(checkWorkstreamEvent(withChange(sample(), 'tags', tags))).toBe('tags.indices.__proto__: expected a number, got "zero"')
  })

  it('checks only own keys of index maps, and never takes an inherited iterable, when Object.prototype was polluted elsewhere', () => {
    const proto = Object.prototype as Record<string, unknown>
    proto.iterable = []
    proto.stray = 'not a number'
    try {
      expect(checkWorkstreamEvent(sample())).toBeUndefined()
      expect(checkWorkstreamEventsEnvelope({})).toBe('iterable: expected an array (missing)')
      expect(checkWorkstreamEvent(withChange(sample(), 'tags', {}))).toBe('tags.iterable: expected an array (missing)')
    } finally {
      delete proto.iterable
      delete proto.stray
    }
  })
})

describe('checkWorkstreamEventsEnvelope', () => {
  it.each<[string, unknown, string]>([
    ['an array', [], 'expected a WorkstreamEvents object, got an array'],
    ['null', null, 'expected a WorkstreamEvents object, got null'],
    ['a string', 'ok', 'expected a WorkstreamEvents object, got "ok"'],
    ['no iterable', {}, 'iterable: expected an array (missing)'],
    ['an iterable that is not an array', { iterable: { 0: {} } }, 'iterable: expected an array, got an object'],
    ['an index that is not a number', { iterable: [], indices: { a: '0' } }, 'indices.a: expected a number, got "0"'],
    ['a score without manual', { iterable: [], score: { automatic: 1 } }, 'score.manual: expected a number (missing)'],
    ['a schema that is not an object', { iterable: [], schema: 'v1' }, 'schema: expected an object, got "v1"'],
  ])('rejects %s', (_, value, expected) => {
    expect(checkWorkstreamEventsEnvelope(value)).toBe(expected)
  })

  it('accepts an envelope without checking its items', () => {
    expect(checkWorkstreamEventsEnvelope({ iterable: [1, null, 'x'] })).toBeUndefined()
    expect(checkWorkstreamEventsEnvelope({ iterable: [], indices: null, score: null, schema: null })).toBeUndefined()
  })
})

describe('parseWorkstreamEvents', () => {
  it('returns the very object it was given when everything is valid', () => {
    const snapshot = { iterable: structuredClone(samples), indices: { [samples[0]?.id ?? '']: 0 } }
    expect(parseWorkstreamEvents(snapshot)).toBe(snapshot)
  })

  it('throws a validation error naming the item path and its id for the first bad item', () => {
    const iterable = structuredClone(samples.slice(0, 6))
    iterable[3] = withChange(iterable[3] as WorkstreamEvent, 'created.value', 17)
    iterable[5] = withChange(iterable[5] as WorkstreamEvent, 'id', DELETE)
    const error = caught(() => parseWorkstreamEvents({ iterable }))
    expect(error.kind).toBe('validation')
    expect(error.retryable).toBe(false)
    expect(error.path).toBe('iterable[3].created.value')
    expect(error.eventId).toBe(iterable[3]?.id)
    expect(error.message).toContain('iterable[3].created.value: expected an ISO date string, got a number')
  })

  it('throws a validation error for a bad envelope', () => {
    for (const [value, path] of [[[], ''], [null, ''], [{}, 'iterable'], [{ iterable: 'x' }, 'iterable']] as const) {
      const error = caught(() => parseWorkstreamEvents(value))
      expect(error.kind).toBe('validation')
      expect(error.path).toBe(path)
    }
  })

  it('reports an item that is not an object by its index', () => {
    const error = caught(() => parseWorkstreamEvents({ iterable: [structuredClone(samples[0]), null] }))
    expect(error.path).toBe('iterable[1]')
    expect(error.eventId).toBeUndefined()
    expect(error.message).toContain('iterable[1]: expected an object, got null')
  })
})

describe('parseWorkstreamEvent', () => {
  it('prefixes the path of a server response', () => {
    const error = caught(() => parseWorkstreamEvent(withChange(sample(), 'trigger', DELETE), 'response'))
    expect(error.kind).toBe('validation')
    expect(error.path).toBe('response.trigger')
    expect(error.message).toContain('response.trigger: expected an object (missing)')
  })
})

describe('parseSeededWorkstreamEvent', () => {
  const seed = (): SeededWorkstreamEvent => generateSampleSeed(seededRandom(11))

  it('returns a valid seed as it is', () => {
    const value = seed()
    expect(parseSeededWorkstreamEvent(value)).toBe(value)
    expect(checkSeededWorkstreamEvent({ ...value, internal_identifier: 'client-1', summary: { id: 's1' } })).toBeUndefined()
  })

  it.each<[string, unknown, string]>([
    ['application', DELETE, 'application: expected an object (missing)'],
    ['application.onboarded', 'true', 'application.onboarded: expected a boolean, got "true"'],
    ['trigger', DELETE, 'trigger: expected an object (missing)'],
    ['trigger.copy', 1, 'trigger.copy: expected a boolean, got a number'],
    ['internal_identifier', '', 'internal_identifier: expected a non-empty string, got ""'],
    ['internal_identifier', 5, 'internal_identifier: expected a non-empty string, got a number'],
    ['summary', { name: 'no id' }, 'summary.id: expected a string (missing)'],
    ['summary', { id: 's1', reference: 'text' }, 'summary.reference: expected an object, got "text"'],
    ['tags.iterable[0].id', 9, 'tags.iterable[0].id: expected a string, got a number'],
    ['tags.iterable', DELETE, 'tags.iterable: expected an array (missing)'],
    ['tags.iterable[0].reference', 1, 'tags.iterable[0].reference: expected an object, got a number'],
    ['context', 'ocr', 'context: expected an object, got "ocr"'],
    ['anchors', [], 'anchors: expected an object, got an array'],
    ['websites', { iterable: ['https://rxjs.dev'] }, 'websites.iterable[0]: expected an object, got "https://rxjs.dev"'],
    ['persons', { iterable: [{}] }, 'persons.iterable[0].id: expected a string (missing)'],
    ['readable', 5, 'readable: expected a string, got a number'],
    ['workstreamEventsVector[0]', 'x', 'workstreamEventsVector[0]: expected a number, got "x"'],
  ])('rejects a seed whose %s is %o with kind invalid-input', (path, value, expected) => {
    const error = caught(() => parseSeededWorkstreamEvent(withChange(seed(), path, value)))
    expect(error.kind).toBe('invalid-input')
    expect(error.path).toBe(expected.slice(0, expected.indexOf(':')))
    expect(error.message).toContain(expected)
    expect(checkSeededWorkstreamEvent(withChange(seed(), path, value), 'seed')).toBe(`seed.${expected}`)
  })

  it('rejects what is not an object', () => {
    for (const value of [null, undefined, [], 'seed', 3]) {
      const error = caught(() => parseSeededWorkstreamEvent(value))
      expect(error.kind).toBe('invalid-input')
      expect(error.message).toMatch(/expected a SeededWorkstreamEvent object/)
    }
  })

  it('accepts null optional fields', () => {
    expect(parseSeededWorkstreamEvent({ ...seed(), internal_identifier: null, context: null, tags: null, summary: null })).toBeDefined()
  })

  it('accepts a seed whose deep graphs omit fields the official models call required', () => {
    for (const path of ['context.native_ocr.ocrText', 'tags.iterable[0].reference.text', 'tags.iterable[0].reference.created']) {
      expect(valueAt(seed(), path)).toBeDefined()
      expect(parseSeededWorkstreamEvent(withChange(seed(), path, DELETE))).toBeDefined()
    }
    expect(checkSeededWorkstreamEvent({ ...seed(), summary: { id: 's1', reference: {} } })).toBeUndefined()
  })

  it('points an official model object to SeededWorkstreamEventToJSON', () => {
    const camelId = caught(() => parseSeededWorkstreamEvent({ ...seed(), internalIdentifier: 'x' }))
    expect(camelId.kind).toBe('invalid-input')
    expect(camelId.path).toBe('internalIdentifier')
    expect(camelId.message).toContain('SeededWorkstreamEventToJSON')
    const camelFlag = caught(() => parseSeededWorkstreamEvent({ ...seed(), trigger: { checkIn: true } }))
    expect(camelFlag.path).toBe('trigger.checkIn')
  })
})

describe('isValidId', () => {
  it('is true only for a non-empty string', () => {
    expect(isValidId('a')).toBe(true)
    expect(isValidId('00000000-0000-4000-8000-000000000000')).toBe(true)
    for (const value of ['', null, undefined, 0, 1, {}, ['a'], true]) expect(isValidId(value)).toBe(false)
  })
})
