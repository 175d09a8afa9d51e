import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hasByteOrderMark, isFlatNumberMap, NOT_JSON, parseJsonSlice, scanString, scanValue, skipWhitespace } from '../src/jsonScanner'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** The text of the value that starts at `start` (in characters of an ASCII prefix) of `text`. */
function valueAt(text: string, start = 0): string | undefined {
  const bytes = utf8(text)
  const end = scanValue(bytes, start)
  return end < 0 ? undefined : new TextDecoder().decode(bytes.subarray(start, end))
}

describe('skipWhitespace', () => {
  it('skips spaces, tabs, line feeds and carriage returns, and nothing else', () => {
    const bytes = utf8(' \t\r\n x')
    expect(skipWhitespace(bytes, 0)).toBe(5)
    expect(skipWhitespace(bytes, 5)).toBe(5)
    expect(skipWhitespace(utf8('\u00a0'), 0)).toBe(0)
    expect(skipWhitespace(utf8('  '), 0)).toBe(2)
  })
})

describe('hasByteOrderMark', () => {
  it('recognises the UTF-8 byte order mark only at the start', () => {
    expect(hasByteOrderMark(utf8('\ufeff{}'))).toBe(true)
    expect(hasByteOrderMark(utf8('{}\ufeff'))).toBe(false)
    expect(hasByteOrderMark(new Uint8Array([0xef, 0xbb]))).toBe(false)
  })
})

describe('scanString', () => {
  it.each([
    ['"plain"', '"plain"'],
    ['"a\\"b" tail', '"a\\"b"'],
    ['"a\\\\" tail', '"a\\\\"'],
    ['"a\\\\\\"b" tail', '"a\\\\\\"b"'],
    ['"\\\\\\\\"x"', '"\\\\\\\\"'],
    ['"" tail', '""'],
    ['"{[}]," tail', '"{[}],"'],
    ['"café 東京 🚀 \u2028" tail', '"café 東京 🚀 \u2028"'],
  ])('finds the end of %s', (text, expected) => {
    const bytes = utf8(text)
    const end = scanString(bytes, 0)
    expect(new TextDecoder().decode(bytes.subarray(0, end))).toBe(expected)
  })

  it('handles escapes in long strings, where it jumps from quote to quote', () => {
    const long = 'x'.repeat(100)
    for (const inner of [`${long}\\"${long}`, `${long}\\\\`, `${long}\\\\\\"y`, `\\"${long}\\\\\\\\`, `${long}\\u0022`]) {
      const text = `"${inner}", "next"`
      expect(valueAt(text)).toBe(`"${inner}"`)
      expect(JSON.parse(valueAt(text)!)).toBe(JSON.parse(`"${inner}"`))
    }
  })

  it('reports a string that is never closed', () => {
    expect(scanString(utf8('"abc'), 0)).toBe(-1)
    expect(scanString(utf8(`"${'x'.repeat(50)}\\"`), 0)).toBe(-1)
    expect(scanString(utf8('"ab\\'), 0)).toBe(-1)
  })

  it('agrees with JSON.stringify on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ maxLength: 5 }), (value, tail) => {
        const text = JSON.stringify(value)
        const bytes = utf8(`${text}${JSON.stringify(tail)}`)
        expect(scanString(bytes, 0)).toBe(utf8(text).length)
      }),
    )
  })
})

describe('scanValue', () => {
  it('finds the end of objects and arrays, ignoring brackets inside strings', () => {
    expect(valueAt('{"a":"}","b":["]",{"c":"{"}]} ,')).toBe('{"a":"}","b":["]",{"c":"{"}]}')
    expect(valueAt('[1, [2, [3]], "]"] ]')).toBe('[1, [2, [3]], "]"]')
    expect(valueAt('{ "a\\"}" : { } }x')).toBe('{ "a\\"}" : { } }')
    expect(valueAt('{\n  "k": [\n    1\n  ]\n}\n')).toBe('{\n  "k": [\n    1\n  ]\n}')
  })

  it('finds the end of scalars', () => {
    expect(valueAt('-12.5e+3,')).toBe('-12.5e+3')
    expect(valueAt('true}')).toBe('true')
    expect(valueAt('null ]')).toBe('null')
    expect(valueAt('"s",')).toBe('"s"')
  })

  it('reports values that do not end or do not start', () => {
    expect(valueAt('{"a": [1, 2}')).toBeUndefined()
    expect(valueAt('{"a": "}')).toBeUndefined()
    expect(valueAt(',')).toBeUndefined()
    expect(valueAt('')).toBeUndefined()
  })

  it('agrees with JSON.stringify on any JSON value, pretty or not', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t'), (value, space) => {
        const text = JSON.stringify(value, null, space)
        expect(valueAt(`${text} ,"next"`)).toBe(text)
      }),
    )
  })
})

describe('parseJsonSlice', () => {
  it('parses exactly the slice it is given, and reports anything that is not one JSON value', () => {
    const bytes = utf8('x{"a":"é"} ,[1]')
    const decoder = new TextDecoder()
    expect(parseJsonSlice(decoder, bytes, 1, 11)).toEqual({ a: 'é' })
    expect(parseJsonSlice(decoder, bytes, 1, 12)).toEqual({ a: 'é' })
    expect(parseJsonSlice(decoder, bytes, 1, 10)).toBe(NOT_JSON)
    expect(parseJsonSlice(decoder, bytes, 1, 13)).toBe(NOT_JSON)
    expect(parseJsonSlice(decoder, bytes, 0, 0)).toBe(NOT_JSON)
  })
})

describe('isFlatNumberMap', () => {
  const check = (text: string): boolean => {
    const bytes = utf8(text)
    return isFlatNumberMap(bytes, 0, bytes.length)
  }

  it.each(['{}', '{ }', '{"a":0}', '{"a":0,"b":-12,"東京 🚀":3}', '{\n  "a" : 1 ,\n  "b":2\n}'])('accepts %s', (text) => {
    expect(check(text)).toBe(true)
  })

  it.each([
    ['an escape in a key', '{"a\\"b":1}'],
    ['a raw control character in a key', '{"a\u0001":1}'],
    ['a fraction', '{"a":1.5}'],
    ['an exponent', '{"a":1e3}'],
    ['a leading zero', '{"a":01}'],
    ['a sign alone', '{"a":-}'],
    ['a plus sign', '{"a":+1}'],
    ['a string value', '{"a":"1"}'],
    ['a trailing comma', '{"a":1,}'],
    ['a missing colon', '{"a" 1}'],
    ['two commas', '{"a":1,,"b":2}'],
    ['an unclosed key', '{"a:1}'],
    ['an array', '[1,2]'],
    ['something after the object', '{"a":1}x'],
  ])('leaves %s to JSON.parse', (_, text) => {
    expect(check(text)).toBe(false)
  })

  it('never accepts what JSON.parse rejects', () => {
    const piece = fc.constantFrom('{', '}', '"a"', '"\\u0041"', ':', ',', '0', '-1', '12', '01', ' ', '\n', '.5', 'e2', '"', '\\', '東', '\u0000')
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        const text = pieces.join('')
        if (!check(text)) return
        expect(() => JSON.parse(text)).not.toThrow()
        expect(Object.values(JSON.parse(text) as object).every((v) => Number.isInteger(v))).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('accepts the indices of any object of whole numbers, as JSON.stringify writes them', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.integer()), (map) => {
        const text = JSON.stringify(map)
        const simple = Object.keys(map).every((key) => JSON.stringify(key) === `"${key}"`)
        expect(check(text)).toBe(simple)
      }),
    )
  })
})
