import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { asciiJson } from '../src/asciiJson'
import { WorkstreamSyncError } from '../src/errors'
import type { WorkstreamEvent } from '../src/models'
import { decodeSnapshot, seededSnapshot, type DecodedSnapshot, type DecodeOptions } from '../src/snapshotDecoder'
import { split } from './support/chunks'

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A small stand-in for checkWorkstreamEvent: a string id and a `created` with a string value. */
function validate(value: unknown, path: string): string | undefined {
  if (!isObject(value)) return `${path}: expected an object`
  if (typeof value.id !== 'string') return `${path}.id: expected a string`
  if (!isObject(value.created)) return `${path}.created: expected an object`
  if (typeof value.created.value !== 'string') return `${path}.created.value: expected a string`
  return undefined
}

const options: DecodeOptions = { validate }

function event(id: string, readable = `event ${id}`, extra: Json = {}): WorkstreamEvent {
  return { id, created: { value: '2026-11-28T12:00:00.000Z' }, readable, ...extra } as unknown as WorkstreamEvent
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

function envelopeText(items: readonly unknown[], space?: string | number): string {
  const indices = Object.fromEntries(items.filter(isObject).map((item, i) => [String(item.id), i]))
  return JSON.stringify({ schema: { migration: 0, semantic: 'MAJOR_0_MINOR_0_PATCH_1' }, iterable: items, indices }, null, space)
}

const body = (items: readonly unknown[], space?: string | number): Uint8Array => utf8(envelopeText(items, space))

/** The same snapshot with an empty `iterable` key in front, which sends it down the full decode. */
function viaFullDecode(text: string): Uint8Array {
  const trimmed = text.trimStart()
  return utf8(`{"iterable":[],${trimmed.slice(1)}`)
}

const canonicalEvents = (snapshot: DecodedSnapshot): string => JSON.stringify(snapshot.events)

function ids(snapshot: DecodedSnapshot): string[] {
  return snapshot.events.map((e) => e.id)
}

function thrown(run: () => unknown): WorkstreamSyncError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(WorkstreamSyncError)
    return error as WorkstreamSyncError
  }
  throw new Error('expected decodeSnapshot to throw')
}

const many = Array.from({ length: 200 }, (_, i) => event(`e${i}`, `event number ${i} `.repeat(1 + (i % 7))))

describe('decodeSnapshot: unchanged bodies', () => {
  it('returns the previous result itself when the body is byte-identical', () => {
    const first = decodeSnapshot(body(many), undefined, options)
    const again = decodeSnapshot(body(many), first, options)
    expect(again).toBe(first)
    expect(again.path).toBe('identical')
  })

  it('compares bytes, not views: a copy at an odd offset in another buffer is identical too', () => {
    const bytes = body(many)
    const first = decodeSnapshot(bytes, undefined, options)
    const shifted = new Uint8Array(bytes.length + 3)
    shifted.set(bytes, 3)
    expect(decodeSnapshot(shifted.subarray(3), first, options)).toBe(first)
  })

  it('does not take a body of the same length that differs in one byte for identical', () => {
    const first = decodeSnapshot(body([event('a', 'xxxx')]), undefined, options)
    const next = decodeSnapshot(body([event('a', 'xxxy')]), first, options)
    expect(next).not.toBe(first)
    expect(next.events[0]?.readable).toBe('xxxy')
  })
})

describe('decodeSnapshot: changed bodies', () => {
  it('parses only new and changed events and keeps the identity of the others', () => {
    const first = decodeSnapshot(body(many), undefined, options)
    expect(first.path).toBe('slices')
    const edited = many.filter((_, i) => i !== 10 && i !== 150).map((e) => (e.id === 'e20' || e.id === 'e199' ? event(e.id, 'updated') : e))
    const validated: unknown[] = []
    const counting: DecodeOptions = { validate: (value, path) => (validated.push((value as Json).id), validate(value, path)) }
    const next = decodeSnapshot(body([event('new1'), event('new2'), ...edited, event('new3')]), first, counting)
    expect(next.path).toBe('slices')
    expect(validated.sort()).toEqual(['e199', 'e20', 'new1', 'new2', 'new3'])
    expect(ids(next)).toEqual(['new1', 'new2', ...edited.map((e) => e.id), 'new3'])
    const fresh = new Set(['new1', 'new2', 'new3', 'e20', 'e199'])
    for (const e of next.events) {
      if (fresh.has(e.id)) {
        expect(first.byId.get(e.id)).not.toBe(e)
        expect(JSON.parse(next.rawText(e.id)!)).toEqual(e)
      } else {
        expect(e).toBe(first.byId.get(e.id))
        expect(next.rawText(e.id)).toBeUndefined()
      }
    }
    expect(next.byId.get('e20')?.readable).toBe('updated')
    expect(next.byId.has('e10')).toBe(false)
    expect(next.quarantined).toEqual([])
  })

  it('keeps identity when events are reordered', () => {
    const first = decodeSnapshot(body(many), undefined, options)
    const reordered = [...many].reverse()
    const next = decodeSnapshot(body(reordered), first, options)
    expect(ids(next)).toEqual(reordered.map((e) => e.id))
    for (const e of next.events) expect(e).toBe(first.byId.get(e.id))
  })

  it.each([
    ['one event to the front', [many[150]!, ...many.slice(0, 150), ...many.slice(151)], ['e150']],
    ['two events to the front', [many[150]!, many[100]!, ...many.slice(0, 100), ...many.slice(101, 150), ...many.slice(151)], ['e150', 'e100']],
    ['one event back', [many[0]!, ...many.slice(2, 120), many[1]!, ...many.slice(120)], ['e1']],
    ['an event to the front, changed', [event('e150', 'changed'), ...many.slice(0, 150), ...many.slice(151)], ['e150']],
  ])('parses only the moved events when moving %s', (_, moved, parsed) => {
    const first = decodeSnapshot(body(many), undefined, options)
    const validated: unknown[] = []
    const next = decodeSnapshot(body(moved), first, { validate: (value, path) => (validated.push((value as Json).id), validate(value, path)) })
    expect(validated).toEqual(parsed)
    expect(next.events).toEqual(moved)
    for (const e of next.events) if (!parsed.includes(e.id)) expect(e).toBe(first.byId.get(e.id))
  })

  it('finds its place again after a run of deletions that ends in a changed event', () => {
    const first = decodeSnapshot(body(many), undefined, options)
    const edited = [...many.slice(0, 10), event('e20', 'updated'), ...many.slice(21)]
    const validated: unknown[] = []
    const next = decodeSnapshot(body(edited), first, { validate: (value, path) => (validated.push((value as Json).id), validate(value, path)) })
    expect(validated).toEqual(['e20'])
    expect(next.events).toEqual(edited)
    expect(next.byId.get('e21')).toBe(first.byId.get('e21'))
  })

  it('finds its place again after each of many runs of deletions', () => {
    // Six runs of ten deletions, each ending in a changed event: more runs than the walk scans for
    // before it maps the previous ids, so both ways of finding the place are used.
    const first = decodeSnapshot(body(many), undefined, options)
    const changedIds = [20, 50, 80, 110, 140, 170].map((k) => `e${k}`)
    const edited = many.filter((e) => {
      const k = Number(e.id.slice(1))
      return !(k >= 10 && k < 180 && k % 30 >= 10 && k % 30 < 20)
    }).map((e) => (changedIds.includes(e.id) ? event(e.id, 'updated') : e))
    const validated: unknown[] = []
    const next = decodeSnapshot(body(edited), first, { validate: (value, path) => (validated.push((value as Json).id), validate(value, path)) })
    expect(validated).toEqual(changedIds)
    expect(next.events).toEqual(edited)
    for (const e of next.events) if (!changedIds.includes(e.id)) expect(e).toBe(first.byId.get(e.id))
  })

  it('keeps identity, without raw text, for an event that only changed its formatting', () => {
    const first = decodeSnapshot(body(many), undefined, options)
    const next = decodeSnapshot(body(many, 2), first, options)
    expect(next.path).toBe('slices')
    for (const e of next.events) expect(e).toBe(first.byId.get(e.id))
    expect(next.rawText('e1')).toBeUndefined()
  })

  it('reads pretty-printed bodies with any JSON whitespace on the fast path', () => {
    const items = [event('a'), event('b', 'with\nnewline')]
    const text = envelopeText(items, '\t').replace(/\n/g, '\r\n  ').replace(/":/g, '" \n:\t')
    const first = decodeSnapshot(utf8(`\r\n ${text} \n`), undefined, options)
    expect(first.path).toBe('slices')
    expect(first.events).toEqual(items)
    const next = decodeSnapshot(utf8(`\r\n ${text.replace('event a', 'event A')} \n`), first, options)
    expect(next.path).toBe('slices')
    expect(next.byId.get('b')).toBe(first.byId.get('b'))
    expect(next.byId.get('a')?.readable).toBe('event A')
  })

  it('skips a UTF-8 byte order mark', () => {
    const bytes = utf8(`\ufeff${envelopeText([event('a')])}`)
    expect(bytes[0]).toBe(0xef)
    const first = decodeSnapshot(bytes, undefined, options)
    expect(first.path).toBe('slices')
    expect(ids(first)).toEqual(['a'])
    expect(decodeSnapshot(bytes.slice(), first, options)).toBe(first)
  })

  it.each([
    ['iterable first', (items: unknown[]) => JSON.stringify({ iterable: items, schema: { migration: 0 }, score: { manual: 1, automatic: 2 } })],
    ['iterable last, indices before it', (items: unknown[]) => JSON.stringify({ indices: { a: 0 }, unknown: [1, 'x', null, true, -2.5e3], iterable: items })],
    ['iterable alone', (items: unknown[]) => JSON.stringify({ iterable: items })],
    ['an escaped key', (items: unknown[]) => JSON.stringify({ iterable: items }).replace('"iterable"', '"iter\\u0061ble"')],
  ])('reads envelopes with %s', (_, write) => {
    const items = [event('a'), event('b')]
    const first = decodeSnapshot(utf8(write(items)), undefined, options)
    expect(first.path).toBe('slices')
    expect(first.events).toEqual(items)
    const next = decodeSnapshot(utf8(write([items[1], event('c')])), first, options)
    expect(ids(next)).toEqual(['b', 'c'])
    expect(next.byId.get('b')).toBe(first.byId.get('b'))
  })

  it('reads indices whose keys need JSON.parse (escapes) on the fast path', () => {
    const text = envelopeText([event('a'), event('b')]).replace('"indices":{"a"', '"indices":{"\\u0061"')
    const decoded = decodeSnapshot(utf8(text), undefined, options)
    expect(decoded.path).toBe('slices')
    expect(ids(decoded)).toEqual(['a', 'b'])
  })

  it('ignores indices that disagree with iterable', () => {
    const text = JSON.stringify({ iterable: [event('a'), event('b')], indices: { z: 0, a: 7 } })
    expect(ids(decodeSnapshot(utf8(text), undefined, options))).toEqual(['a', 'b'])
  })

  it('reads an empty iterable', () => {
    const first = decodeSnapshot(utf8('{"iterable": [ ] }'), undefined, options)
    expect(first.events).toEqual([])
    expect(first.path).toBe('slices')
  })

  it('handles strings full of escapes, brackets and Unicode, before and after a change', () => {
    const tricky = [
      event('q', 'say \\"hi\\" and "bye"'),
      event('b', 'ends in a backslash \\'),
      event('bb', 'two \\\\'),
      event('br', '{ [ ] } ] } , "{"'),
      event('u', 'café naïve 東京 データ 🚀 \u2028 \u2029 \u0000 \ud83d'),
      event('k', 'k', { 'key with "quotes" and }': { '\\': ['[', '{'] }, browserUrl: 'https://example.com/a?b=c' }),
      event('long', `${'x'.repeat(300)}\\"${'y'.repeat(300)}\\`),
    ]
    const text = envelopeText(tricky).replace('caf\u00e9', 'caf\\u00e9').replace(/\//g, '\\/')
    expect(text).toContain('https:\\/\\/example.com')
    const first = decodeSnapshot(utf8(text), undefined, options)
    expect(first.path).toBe('slices')
    expect(first.events).toEqual(JSON.parse(text).iterable)
    const changed = [event('first'), ...tricky.slice(0, 3), event('br', 'changed ] }'), ...tricky.slice(4)]
    const next = decodeSnapshot(body(changed), first, options)
    expect(next.events).toEqual(changed)
    expect(next.byId.get('q')).toBe(first.byId.get('q'))
    expect(next.byId.get('long')).toBe(first.byId.get('long'))
  })

  it('parses an element whose bytes are a prefix of the previous one', () => {
    const first = decodeSnapshot(utf8('{"iterable":[{"id":"a","created":{"value":"t"},"n":12},{"id":"b","created":{"value":"t"}}]}'), undefined, options)
    const next = decodeSnapshot(utf8('{"iterable":[{"id":"a","created":{"value":"t"},"n":1},{"id":"b","created":{"value":"t"}}]}'), first, options)
    expect(next.byId.get('a')).toEqual({ id: 'a', created: { value: 't' }, n: 1 })
    expect(next.byId.get('b')).toBe(first.byId.get('b'))
    const shorter = decodeSnapshot(utf8('{"iterable":[{"id":"a","created":{"value":"t"}}]}'), next, options)
    expect(shorter.events).toEqual([{ id: 'a', created: { value: 't' } }])
  })

  it('rejects a previous element followed by anything but a comma or the end of the array', () => {
    const text = '{"iterable":[{"id":"a","created":{"value":"t"}}]}'
    const first = decodeSnapshot(utf8(text), undefined, options)
    for (const bad of [text.replace('}]}', '} 1]}'), text.replace('}]}', '}'), text.replace('}]}', '},]}'), text.slice(0, 30)]) {
      expect(thrown(() => decodeSnapshot(utf8(bad), first, options)).kind).toBe('validation')
    }
  })

  it('keeps the last occurrence of a duplicate id, at its position', () => {
    const items = [event('a', 'first a'), event('b'), event('a', 'second a'), event('c')]
    const text = envelopeText(items)
    const fast = decodeSnapshot(utf8(text), undefined, options)
    expect(fast.path).toBe('slices')
    expect(fast.events.map((e) => e.readable)).toEqual(['event b', 'second a', 'event c'])
    expect(fast.byId.get('a')?.readable).toBe('second a')
    const full = decodeSnapshot(viaFullDecode(text), undefined, options)
    expect(full.path).toBe('full')
    expect(full.events).toEqual(fast.events)
    const next = decodeSnapshot(body([event('a', 'first a'), event('b')]), fast, options)
    expect(next.events.map((e) => e.readable)).toEqual(['first a', 'event b'])
  })

  it('treats ids like __proto__ and constructor as ordinary events, without polluting prototypes', () => {
    const items = [event('__proto__'), event('constructor'), event('prototype'), event('hasOwnProperty')]
    const text = envelopeText(items).replace('"readable":"event __proto__"', '"readable":"event __proto__","__proto__":{"polluted":true}')
    const first = decodeSnapshot(utf8(text), undefined, options)
    expect(ids(first)).toEqual(['__proto__', 'constructor', 'prototype', 'hasOwnProperty'])
    expect(first.byId.get('__proto__')?.readable).toBe('event __proto__')
    expect(Object.prototype.hasOwnProperty.call(first.byId.get('__proto__'), '__proto__')).toBe(true)
    expect(({} as Json).polluted).toBeUndefined()
    const next = decodeSnapshot(utf8(text.replace('"event constructor"', '"changed"')), first, options)
    expect(ids(next)).toEqual(['__proto__', 'constructor', 'prototype', 'hasOwnProperty'])
    expect(next.byId.get('constructor')?.readable).toBe('changed')
    expect(next.byId.get('__proto__')).toBe(first.byId.get('__proto__'))
    expect(next.byId.get('prototype')).toBe(first.byId.get('prototype'))
  })

  it('keeps identity with an event from lastGood that equals the new one', () => {
    const cached = event('a')
    const decoded = decodeSnapshot(body([event('a'), event('b')]), undefined, { validate, lastGood: (id) => (id === 'a' ? cached : undefined) })
    expect(decoded.byId.get('a')).toBe(cached)
    expect(decoded.rawText('a')).toBeUndefined()
    expect(JSON.parse(decoded.rawText('b')!)).toEqual(event('b'))
  })

  it('still decodes when the previous body was transferred away', () => {
    const bytes = body(many)
    const first = decodeSnapshot(bytes, undefined, options)
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] })
    expect(bytes.length).toBe(0)
    const next = decodeSnapshot(body(many), first, options)
    expect(next.path).toBe('slices')
    for (const e of next.events) expect(e).toBe(first.byId.get(e.id))
  })

  it('continues from a result of the full decode', () => {
    const full = decodeSnapshot(viaFullDecode(envelopeText(many)), undefined, options)
    expect(full.path).toBe('full')
    expect(JSON.parse(full.rawText('e3')!)).toEqual(many[3])
    const next = decodeSnapshot(body(many), full, options)
    expect(next.path).toBe('slices')
    for (const e of next.events) expect(e).toBe(full.byId.get(e.id))
  })
})

describe('seededSnapshot: a previous result made from cached texts', () => {
  const texts = (events: readonly unknown[]): string[] => events.map((e) => JSON.stringify(e))
  const tricky = [event('a', 'Grüße 東京 🚀'), event('b', 'say "hi" {not} [json] \\ \n'), event('c'), event('d', '\u2028 line separator')]

  it('reuses every cached event whose bytes the body repeats, without parsing it', () => {
    const seed = seededSnapshot(tricky, texts(tricky))
    const next = decodeSnapshot(body([tricky[0], event('b', 'changed'), tricky[2], tricky[3]]), seed, options)
    expect(next.path).toBe('slices')
    expect(next.events.map((e) => e.id)).toEqual(['a', 'b', 'c', 'd'])
    for (const id of ['a', 'c', 'd']) {
      expect(next.byId.get(id)).toBe(seed.byId.get(id))
      expect(next.rawText(id)).toBeUndefined()
    }
    expect(next.byId.get('b')?.readable).toBe('changed')
    expect([...next.changedFrom!.ids]).toEqual(['b'])
  })

  it('decodes as without a seed when the order or the formatting differ, keeping identity', () => {
    const seed = seededSnapshot([...tricky].reverse(), texts([...tricky].reverse()))
    const pretty = decodeSnapshot(body(tricky, 2), seed, options)
    expect(canonicalEvents(pretty)).toEqual(canonicalEvents(decodeSnapshot(body(tricky, 2), undefined, options)))
    for (const e of pretty.events) expect(e).toBe(seed.byId.get(e.id))
  })

  it('reuses cached events of any length, without parsing them', () => {
    // Texts of about 30 kB of UTF-8 each, around short ones: larger than the walk's first buffer.
    const long = [event('x', 'é🚀'.repeat(5000)), event('y'), event('z', 'ü"\\'.repeat(8000))]
    const seed = seededSnapshot(long, texts(long))
    const validated: unknown[] = []
    const next = decodeSnapshot(body([...long, event('w')]), seed, { validate: (value, path) => (validated.push((value as Json).id), validate(value, path)) })
    expect(validated).toEqual(['w'])
    for (const e of long) expect(next.byId.get(e.id)).toBe(seed.byId.get(e.id))
  })

  it('reuses cached texts stored in ASCII, their escapes undone, without parsing them', () => {
    const unicode = [
      ...tricky,
      event('e', 'é🚀'.repeat(5000)),
      event('f', '\u0080 \u00ff \u0100 \u07ff \u0800 \uffff 𝄞 \u{10ffff}', { keyed: { ключ: '值' } }),
      event('g', 'a backslash before it: \\é \\\\ü, and escaped text: \\u00e9 \\\\u00fc'),
    ]
    const stored = texts(unicode).map(asciiJson)
    // All in ASCII but g's, which has text that looks like an escape of its own: stored as it came.
    stored.forEach((text, i) => expect(unicode[i]!.id === 'g' ? text === JSON.stringify(unicode[i]) : /^[\x00-\x7f]+$/.test(text)).toBe(true))
    const seed = seededSnapshot(unicode, stored)
    const validated: unknown[] = []
    const next = decodeSnapshot(body([...unicode, event('w')]), seed, { validate: (value, path) => (validated.push((value as Json).id), validate(value, path)) })
    expect(validated).toEqual(['w'])
    for (const e of unicode) expect(next.byId.get(e.id)).toBe(seed.byId.get(e.id))
  })

  it('takes a changed non-ASCII character in a text stored in ASCII for a change', () => {
    const before = [event('a', 'café 東京'), event('b', 'ü')]
    const seed = seededSnapshot(before, texts(before).map(asciiJson))
    const next = decodeSnapshot(body([event('a', 'cafè 東京'), event('b', 'û')]), seed, options)
    expect(next.byId.get('a')?.readable).toBe('cafè 東京')
    expect(next.byId.get('b')?.readable).toBe('û')
    expect([...next.changedFrom!.ids].sort()).toEqual(['a', 'b'])
  })

  it('matches a server that escapes non-ASCII itself, its texts stored as they came', () => {
    const escapeAll = (text: string): string => text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)
    const asServed = tricky.map((e) => escapeAll(JSON.stringify(e)))
    expect(asServed.map(asciiJson)).toEqual(asServed)
    const seed = seededSnapshot(tricky, asServed)
    const validated: unknown[] = []
    const served = utf8(`{"iterable":[${asServed.join(',')}]}`)
    const next = decodeSnapshot(served, seed, { validate: (value, path) => (validated.push(value), validate(value, path)) })
    expect(validated).toEqual([])
    for (const e of tricky) expect(next.byId.get(e.id)).toBe(seed.byId.get(e.id))
  })

  it('is not taken for an empty body', () => {
    expect(() => decodeSnapshot(new Uint8Array(0), seededSnapshot([], []), options)).toThrow(WorkstreamSyncError)
    expect(() => decodeSnapshot(new Uint8Array(0), seededSnapshot(tricky, texts(tricky)), options)).toThrow(WorkstreamSyncError)
  })

  it('is no previous result at all when the cache is empty', () => {
    const next = decodeSnapshot(body(tricky), seededSnapshot([], []), options)
    expect(next.events.map((e) => e.id)).toEqual(['a', 'b', 'c', 'd'])
  })
})

describe('decodeSnapshot: the delta', () => {
  it('has none on a first decode, and names the added, changed and removed ids after one', () => {
    const first = decodeSnapshot(body([event('a'), event('b'), event('c')]), undefined, options)
    expect(first.changedFrom).toBeUndefined()
    const next = decodeSnapshot(body([event('d'), event('a'), event('b', 'changed')]), first, options)
    expect([...next.changedFrom!.ids].sort()).toEqual(['b', 'c', 'd'])
    expect(next.changedFrom!.from).toBe(first.stamp)
  })

  it('leaves out a quarantined event that keeps its last good version', () => {
    const first = decodeSnapshot(body([event('a'), event('b')]), undefined, options)
    const next = decodeSnapshot(body([event('a'), { id: 'b', created: { value: 1 } }]), first, options)
    expect(next.byId.get('b')).toBe(first.byId.get('b'))
    expect(next.changedFrom!.ids).toEqual([])
  })
})

describe('decodeSnapshot: quarantine', () => {
  const broken = (id: string): unknown => ({ id, created: { value: 42 } })

  it('keeps the last good version of an invalid event and reports it', () => {
    const first = decodeSnapshot(body([event('a'), event('b')]), undefined, options)
    const next = decodeSnapshot(body([event('a'), broken('b'), event('c')]), first, options)
    expect(ids(next)).toEqual(['a', 'b', 'c'])
    expect(next.byId.get('b')).toBe(first.byId.get('b'))
    expect(next.rawText('b')).toBeUndefined()
    expect(next.quarantined).toHaveLength(1)
    const [error] = next.quarantined
    expect(error).toBeInstanceOf(WorkstreamSyncError)
    expect(error).toMatchObject({ kind: 'validation', eventId: 'b', path: 'iterable[1].created.value', retryable: false })
    expect(error?.message).toContain('iterable[1].created.value: expected a string')
  })

  it('takes the last good version from lastGood when the previous result lacks it', () => {
    const known = event('b', 'from the cache')
    const decoded = decodeSnapshot(body([event('a'), broken('b')]), undefined, { validate, lastGood: (id) => (id === 'b' ? known : undefined) })
    expect(decoded.events).toEqual([event('a'), known])
    expect(decoded.byId.get('b')).toBe(known)
    expect(decoded.quarantined.map((e) => e.eventId)).toEqual(['b'])
  })

  it('leaves out a new invalid event and still reports it', () => {
    const decoded = decodeSnapshot(body([broken('x'), event('a')]), undefined, options)
    expect(ids(decoded)).toEqual(['a'])
    expect(decoded.byId.has('x')).toBe(false)
    expect(decoded.quarantined[0]).toMatchObject({ kind: 'validation', eventId: 'x', path: 'iterable[0].created.value' })
  })

  it('checks an unchanged invalid event again on the next poll, with its new position', () => {
    const first = decodeSnapshot(body([event('a'), event('b')]), undefined, options)
    const second = decodeSnapshot(body([event('a'), broken('b')]), first, options)
    const third = decodeSnapshot(body([event('z'), event('a'), broken('b')]), second, options)
    expect(third.byId.get('b')).toBe(first.byId.get('b'))
    expect(third.quarantined[0]?.path).toBe('iterable[2].created.value')
    const healed = decodeSnapshot(body([event('a'), event('b', 'fixed')]), third, options)
    expect(healed.byId.get('b')?.readable).toBe('fixed')
    expect(healed.quarantined).toEqual([])
  })

  it('quarantines the same way on the full decode', () => {
    const first = decodeSnapshot(body([event('a'), event('b')]), undefined, options)
    const text = envelopeText([event('a'), broken('b'), broken('n')])
    const fast = decodeSnapshot(utf8(text), first, options)
    const full = decodeSnapshot(viaFullDecode(text), first, options)
    expect(full.path).toBe('full')
    expect(full.events).toEqual(fast.events)
    expect(full.byId.get('b')).toBe(fast.byId.get('b'))
    expect(full.quarantined.map((e) => [e.eventId, e.path, e.message])).toEqual(fast.quarantined.map((e) => [e.eventId, e.path, e.message]))
  })
})

describe('decodeSnapshot: bodies that are rejected whole', () => {
  const good = envelopeText([event('a'), event('b')])
  const cases: [string, string, string | undefined][] = [
    ['not JSON', 'hello', undefined],
    ['truncated', good.slice(0, good.length - 40), undefined],
    ['truncated inside the iterable', good.slice(0, 60), undefined],
    ['trailing garbage', `${good} x`, undefined],
    ['with a trailing comma in the envelope', `${good.slice(0, -1)},}`, undefined],
    ['with a trailing comma in iterable', good.replace('}],"indices"', '},],"indices"'), undefined],
    ['with a missing comma in iterable', good.replace('},{', '}{'), undefined],
    ['an array', JSON.stringify([event('a')]), undefined],
    ['null', 'null', undefined],
    ['empty', '', undefined],
    ['without iterable', JSON.stringify({ schema: {} }), 'iterable'],
    ['with iterable not an array', JSON.stringify({ iterable: { a: event('a') } }), 'iterable'],
    ['with an item without id', envelopeText([event('a'), { created: { value: 't' } }]), 'iterable[1].id'],
    ['with an item whose id is empty', envelopeText([event('a'), event('')]), 'iterable[1].id'],
    ['with an item whose id is a number', envelopeText([event('a'), { id: 3 }]), 'iterable[1].id'],
    ['with an item that is not an object', envelopeText([event('a'), 'b']), 'iterable[1]'],
    ['with an invalid event after the first', good.replace('"event b"', '"event b" "x"'), undefined],
    ['with a leading zero in indices', good.replace('"indices":{"a":0', '"indices":{"a":00'), undefined],
    ['with a bad escape in an indices key', good.replace('"indices":{"a"', '"indices":{"\\q"'), undefined],
  ]

  it.each(cases)('rejects a body %s, with and without a previous result', (_, text, path) => {
    expect(text).not.toBe(good)
    const previous = decodeSnapshot(utf8(good.replace('event a', 'event 0')), undefined, options)
    const cold = thrown(() => decodeSnapshot(utf8(text), undefined, options))
    const warm = thrown(() => decodeSnapshot(utf8(text), previous, options))
    expect(cold.kind).toBe('validation')
    expect(cold.retryable).toBe(false)
    expect(cold.path).toBe(path)
    if (path !== undefined) expect(cold.message.startsWith(`${path}: `)).toBe(true)
    expect(warm.message).toBe(cold.message)
    expect(warm.path).toBe(cold.path)
  })

  it('names the first item without an id', () => {
    const error = thrown(() => decodeSnapshot(body([event('a'), event('b'), event('c'), { id: null }]), undefined, options))
    expect(error.message).toMatch(/^iterable\[3\]\.id: expected a non-empty string/)
  })
})

/*
 * Property: for random event lists, random edits and random JSON formatting, decoding the new body
 * against the old result gives what JSON.parse gives (deduplicated, invalid items replaced by their
 * last good version), keeps the identity of every unchanged event, and agrees with the full decode.
 */
describe('decodeSnapshot: property', () => {
  const idArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', '__proto__', 'constructor', 'x"y', 'back\\slash', '東京', '🚀')
  const textArb = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('\\', '"', '\\"', '{[', ']}', '\u2028'))
  const itemArb = fc.record({
    id: idArb,
    valid: fc.boolean(),
    readable: textArb,
    payload: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
  }).map(({ id, valid, readable, payload }): Json => ({ id, created: valid ? { value: readable } : { value: 1 }, readable, payload }))

  function random(seed: number): () => number {
    let state = seed >>> 0 || 1
    return () => {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return (state >>> 0) / 0x1_0000_0000
    }
  }

  /** JSON text of `value` with random whitespace between tokens and some escapes spelled differently. */
  function format(value: unknown, rand: () => number): string {
    const ws = (): string => [' ', '', '\n  ', '\t', '\r\n', ''][Math.floor(rand() * 6)]!
    const string = (s: string): string => {
      const text = JSON.stringify(s)
      // Some escapes spelled out, and the first non-ASCII character escaped with the rest raw (as Go writes U+2028).
      return rand() < 0.3 ? text.replace(/a/g, '\\u0061').replace(/\//g, '\\/').replace(/[\ud800-\udbff][\udc00-\udfff]|[^\x00-\x7f]/, (c) => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')) : text
    }
    if (Array.isArray(value)) return `[${ws()}${value.map((v) => format(v, rand)).join(`${ws()},${ws()}`)}${ws()}]`
    if (isObject(value)) {
      const entries = Object.entries(value).filter(([, v]) => v !== undefined)
      return `{${ws()}${entries.map(([k, v]) => `${string(k)}${ws()}:${ws()}${format(v, rand)}`).join(`${ws()},${ws()}`)}${ws()}}`
    }
    return typeof value === 'string' ? string(value) : JSON.stringify(value)
  }

  /** Formats each item from a seed of its own content, so that an unchanged item keeps its bytes. */
  function snapshotText(items: readonly Json[], seed: number): string {
    const rand = random(seed)
    const elements = items.map((item) => format(item, random(seed ^ [...JSON.stringify(item)].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7))))
    const iterable = `[${elements.join(`${rand() < 0.5 ? '\n' : ''},`)}]`
    return rand() < 0.5 ? `{"schema": ${format({ migration: 0 }, rand)}, "iterable": ${iterable}}` : ` {"iterable":${iterable},"indices":{"a":0}}\n`
  }

  function expected(items: readonly Json[], previous: DecodedSnapshot | undefined): unknown[] {
    const last = new Map(items.map((item, i) => [item.id, i]))
    return items.flatMap((item, i): unknown[] => {
      if (last.get(item.id) !== i) return []
      if (validate(item, '') === undefined) return [item]
      const good = previous?.byId.get(item.id as string)
      return good === undefined ? [] : [good]
    })
  }

  const canonical = (value: unknown): string => JSON.stringify(value, (_, v: unknown) => (v === undefined ? null : v))

  it('matches JSON.parse and keeps identity for unchanged events', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 12 }), fc.array(itemArb, { maxLength: 8 }), fc.nat(), (old, pool, seed) => {
        const rand = random(seed)
        const oldText = snapshotText(old, seed)
        const first = decodeSnapshot(utf8(oldText), undefined, options)
        expect(first.path).toBe('slices')
        expect(canonical(first.events)).toBe(canonical(expected(JSON.parse(oldText).iterable, undefined)))

        const next: Json[] = []
        for (const item of old) {
          const r = rand()
          if (r < 0.15) continue
          next.push(r < 0.3 && pool.length > 0 ? { ...pool.pop()!, id: item.id } : item)
          if (rand() < 0.15 && pool.length > 0) next.push(pool.pop()!)
        }
        next.push(...pool)
        if (next.length > 1 && rand() < 0.5) next.push(next.splice(Math.floor(rand() * next.length), 1)[0]!)
        const newText = snapshotText(next, rand() < 0.8 ? seed : seed + 1)
        const parsed: Json[] = JSON.parse(newText).iterable

        const fast = decodeSnapshot(utf8(newText), first, options)
        expect(fast.path).toBe(newText === oldText ? 'identical' : 'slices')
        expect(canonical(fast.events)).toBe(canonical(expected(parsed, first)))
        for (const e of fast.events) {
          const before = first.byId.get(e.id)
          if (before !== undefined && canonical(before) === canonical(e)) {
            expect(e).toBe(before)
            if (fast !== first) expect(fast.rawText(e.id)).toBeUndefined()
          } else {
            expect(canonical(JSON.parse(fast.rawText(e.id)!))).toBe(canonical(e))
          }
        }

        const full = decodeSnapshot(viaFullDecode(newText), first, options)
        expect(full.path).toBe('full')
        expect(full.events.length).toBe(fast.events.length)
        full.events.forEach((e, i) => expect(e === fast.events[i] || (fast.rawText(e.id) !== undefined && canonical(e) === canonical(fast.events[i]))).toBe(true))
        expect(full.quarantined.map((e) => e.message)).toEqual(fast.quarantined.map((e) => e.message))

        // Seeded from the first result's events and their texts, as after a reload: the same result.
        const seeded = decodeSnapshot(utf8(newText), seededSnapshot(first.events, first.events.map((e) => JSON.stringify(e))), options)
        expect(canonical(seeded.events)).toBe(canonical(fast.events))
        expect(seeded.quarantined.map((e) => e.message)).toEqual(fast.quarantined.map((e) => e.message))
        for (const e of seeded.events) if (first.byId.get(e.id) !== undefined && canonical(first.byId.get(e.id)) === canonical(e)) expect(e).toBe(first.byId.get(e.id))
        // From the texts the first body held, and from them in ASCII as the cache stores them: the
        // same result, and no event parsed that the texts as they were matched.
        const parsedFrom = (texts: readonly string[]): unknown[] => {
          const validated: unknown[] = []
          const result = decodeSnapshot(utf8(newText), seededSnapshot(first.events, texts), { validate: (value, path) => (validated.push(value), validate(value, path)) })
          expect(canonical(result.events)).toBe(canonical(seeded.events))
          result.events.forEach((e, i) => {
            if (seeded.events[i] === first.byId.get(e.id)) expect(e).toBe(seeded.events[i])
          })
          return validated
        }
        const served = first.events.map((e) => first.rawText(e.id)!)
        expect(canonical(parsedFrom(served.map(asciiJson)))).toBe(canonical(parsedFrom(served)))

        // The delta names exactly the ids whose event is new, another object, or gone.
        const differing = new Set([...first.byId.keys(), ...fast.byId.keys()].filter((id) => first.byId.get(id) !== fast.byId.get(id)))
        for (const result of fast === first ? [] : [fast, full]) {
          expect(result.changedFrom?.from).toBe(first.stamp)
          expect(new Set(result.changedFrom?.ids)).toEqual(result === fast ? differing : new Set([...first.byId.keys(), ...full.byId.keys()].filter((id) => first.byId.get(id) !== full.byId.get(id))))
          expect(result.changedFrom?.ids.length).toBe(new Set(result.changedFrom?.ids).size)
        }
      }),
      { numRuns: 300 },
    )
  })
  /** `bytes` cut into chunks of 1 to 80 bytes, each in a buffer of its own, as a body arrives over HTTP. */
  function chunks(bytes: Uint8Array, rand: () => number): Uint8Array[] {
    const cuts: number[] = []
    for (let at = 1 + Math.floor(rand() * 80); at < bytes.length; at += 1 + Math.floor(rand() * (rand() < 0.5 ? 8 : 80))) cuts.push(at)
    return split(bytes, cuts)
  }

  it('decodes bodies cut into chunks anywhere as it decodes them whole', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 10 }), fc.array(itemArb, { maxLength: 6 }), fc.nat(), (old, pool, seed) => {
        const rand = random(seed)
        const oldText = snapshotText(old, seed)
        const newText = snapshotText([...pool, ...old.filter(() => rand() < 0.8)], rand() < 0.8 ? seed : seed + 1)
        const wholeFirst = decodeSnapshot(utf8(oldText), undefined, options)
        const whole = decodeSnapshot(utf8(newText), wholeFirst, options)
        const first = decodeSnapshot(chunks(utf8(oldText), rand), undefined, options)
        const split = decodeSnapshot(chunks(utf8(newText), rand), first, options)
        expect(split.path).toBe(whole.path)
        expect(canonical(split.events)).toBe(canonical(whole.events))
        expect(split.quarantined.map((e) => e.message)).toEqual(whole.quarantined.map((e) => e.message))
        for (const e of split.events) {
          expect(split.rawText(e.id)).toBe(whole.rawText(e.id))
          // What the whole decode kept, the chunked one kept too.
          if (whole.byId.get(e.id) === wholeFirst.byId.get(e.id)) expect(e).toBe(first.byId.get(e.id))
        }
        const seeded = decodeSnapshot(chunks(utf8(newText), rand), seededSnapshot(first.events, first.events.map((e) => JSON.stringify(e))), options)
        expect(canonical(seeded.events)).toBe(canonical(whole.events))
        // And the next decode compares with a body that was itself cut elsewhere.
        const again = decodeSnapshot(chunks(utf8(newText), rand), split, options)
        expect(again).toBe(split)
        expect(again.path).toBe('identical')
      }),
      { numRuns: 300 },
    )
  })
})
