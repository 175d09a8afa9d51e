import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { asciiJson, ESCAPED_OFFSET, isAsciiEscaped, unescapeAsciiJson } from '../src/asciiJson'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** What the first poll after a reload compares with the server's bytes: the stored text, encoded, its escapes undone. */
function undone(stored: string): Uint8Array {
  const bytes = utf8(stored)
  return isAsciiEscaped(stored) ? bytes.slice(ESCAPED_OFFSET, unescapeAsciiJson(bytes, bytes.length)) : bytes
}

describe('asciiJson: cached texts stored in ASCII', () => {
  const valueArb = fc.jsonValue({ maxDepth: 3 }).chain((value) => fc.tuple(fc.constant(value), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 })))

  it('writes any JSON text as ASCII that parses to the same value, or as it came, and gives back its exact UTF-8 bytes', () => {
    fc.assert(
      fc.property(valueArb, ([value, binary, grapheme]) => {
        const text = JSON.stringify({ value, binary, grapheme, [binary]: grapheme })
        const stored = asciiJson(text)
        // As it came only when it has (or seems to have: `\\u` in a string) a `\u` escape of its own.
        if (stored === text) expect(/^[\x00-\x7f]*$/.test(text) || /\\u(?!00[0-7])/.test(text)).toBe(true)
        else expect(stored).toMatch(/^[\x00-\x7f]*$/)
        expect(JSON.parse(stored)).toEqual(JSON.parse(text))
        expect(undone(stored)).toEqual(utf8(text))
        expect(asciiJson(stored)).toBe(stored)
      }),
      { numRuns: 500 },
    )
  })

  it('leaves ASCII text as it is, the escapes a server wrote included', () => {
    const text = '{"id":"a","s":"caf\\u00E9 \\ud83d\\ude80 \\\\u00e9 \\"q\\""}'
    expect(asciiJson(text)).toBe(text)
    expect(undone(text)).toEqual(utf8(text))
  })

  it('undoes only its own escapes: a backslash before a non-ASCII character stays a backslash', () => {
    const text = JSON.stringify({ s: 'é \\ü \\\\🚀 \\n' })
    const stored = asciiJson(text)
    expect(stored).toBe(String.raw` {"s":"\u00e9 \\\u00fc \\\\\ud83d\ude80 \\n"}`)
    expect(new TextDecoder().decode(undone(stored))).toBe(text)
  })

  it('stores as it came a text with escapes of non-ASCII characters of its own, which matches byte for byte', () => {
    // Go's encoding/json escapes U+2028 and sends other characters raw; JSON.stringify escapes lone surrogates.
    for (const text of ['{"s":"café\\u2028next line"}', JSON.stringify({ s: 'é \ud800' }), '{"s":"東京 \\uD83D\\uDE80"}']) {
      expect(asciiJson(text)).toBe(text)
      expect(undone(asciiJson(text))).toEqual(utf8(text))
    }
  })
})
