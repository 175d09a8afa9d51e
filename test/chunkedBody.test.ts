import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ChunkedBody, scanValueIn } from '../src/chunkedBody'
import { scanValue } from '../src/jsonScanner'
import { split } from './support/chunks'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Compares [aStart, aStart + length) of `a` with [bStart, ...) of `b`, each as one part. */
function equal(a: Uint8Array, b: Uint8Array, aStart: number, bStart: number, length: number): boolean {
  return ChunkedBody.of(a).equals(aStart, ChunkedBody.of(b), bStart, length)
}

describe('ChunkedBody.equals', () => {
  it('tells equal ranges from different ones at every alignment and length', () => {
    const source = utf8('{"id":"e1","readable":"The quick brown fox jumps over the lazy dog, café 🚀 東京"}'.repeat(3))
    for (let shift = 0; shift < 9; shift++) {
      const padded = new Uint8Array(source.length + shift)
      padded.set(source, shift)
      for (let start = 0; start < 9; start++) {
        for (const length of [0, 1, 7, 8, 31, 32, 33, 64, 100, source.length - start]) {
          expect(equal(padded, source, start + shift, start, length)).toBe(true)
          if (length === 0) continue
          for (const at of [0, length >> 1, length - 1]) {
            padded[start + shift + at]! ^= 0x20
            expect(equal(padded, source, start + shift, start, length)).toBe(false)
            padded[start + shift + at]! ^= 0x20
          }
        }
      }
    }
  })

  it('compares views that start anywhere in their buffers', () => {
    const buffer = new Uint8Array(200).fill(0x61)
    const a = buffer.subarray(3, 150)
    const b = new Uint8Array(new ArrayBuffer(160), 5, 147).fill(0x61)
    expect(equal(a, b, 0, 0, 147)).toBe(true)
    b[146] = 0x62
    expect(equal(a, b, 0, 0, 147)).toBe(false)
    expect(equal(a, b, 0, 0, 146)).toBe(true)
  })

  it('is false for a range that runs past either end', () => {
    const text = utf8('{"id":"a"}')
    expect(equal(text, text, 0, 0, text.length + 1)).toBe(false)
    expect(equal(text, text, 1, 0, text.length)).toBe(false)
  })

  it('agrees with a byte loop on random text, each side cut into chunks anywhere', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }),
        fc.nat(8),
        fc.nat(8),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (text, shiftA, shiftB, flip, cutsA, cutsB) => {
          const bytes = utf8(text)
          const a = new Uint8Array(bytes.length + shiftA)
          const b = new Uint8Array(bytes.length + shiftB)
          a.set(bytes, shiftA)
          b.set(bytes, shiftB)
          const at = flip % bytes.length
          a[shiftA + at]! ^= 1 << (flip % 8)
          const chunkedA = new ChunkedBody(split(a, cutsA))
          const chunkedB = new ChunkedBody(split(b, cutsB))
          expect(chunkedA.equals(shiftA, chunkedB, shiftB, bytes.length)).toBe(false)
          expect(chunkedA.equals(shiftA, chunkedB, shiftB, at)).toBe(true)
          expect(chunkedA.equals(shiftA + at + 1, chunkedB, shiftB + at + 1, bytes.length - at - 1)).toBe(true)
        },
      ),
    )
  })
})

describe('ChunkedBody: reading across chunks', () => {
  it('reads bytes, whitespace and ranges as the whole body has them, wherever it is cut', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat(), fc.nat(), (text, cuts, x, y) => {
        const whole = utf8(` \n${text}\t `)
        const body = new ChunkedBody(split(whole, cuts))
        expect(body.length).toBe(whole.length)
        const start = x % (whole.length + 1)
        const end = start + (y % (whole.length + 1 - start))
        expect([...body.bytes(start, end)]).toEqual([...whole.subarray(start, end)])
        expect([...body.peek(start, end)]).toEqual([...whole.subarray(start, end)])
        expect(body.byteAt(start)).toBe(start < whole.length ? whole[start] : -1)
        expect(body.byteAt(-1)).toBe(-1)
        expect([...body.whole()]).toEqual([...whole])
        let p = start
        while (p < whole.length && ' \n\r\t'.includes(String.fromCharCode(whole[p]!))) p++
        expect(body.skipWhitespace(start)).toBe(p)
      }),
    )
  })

  it('finds where a JSON value ends as scanValue does in the whole body, numbers cut in two included', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.constantFrom('12345.678e-9', '"a\\"b\\\\"', '[1,{"x":"]}"}]', 'true', '{"s":"東京 🚀"}'))
    fc.assert(
      fc.property(value, fc.constantFrom('', ',', ' ]', '}'), fc.array(fc.nat(), { maxLength: 8 }), (text, after, cuts) => {
        const whole = utf8(text + after)
        expect(scanValueIn(new ChunkedBody(split(whole, cuts)), 0)).toBe(scanValue(whole, 0))
      }),
    )
  })

  it('scans a value that runs over many chunks of 64 kB', () => {
    const text = JSON.stringify({ readable: 'x'.repeat(300_000), n: 12_345 })
    const whole = utf8(`[${text},1]`)
    const chunks = split(whole, Array.from({ length: Math.floor(whole.length / 65_536) }, (_, i) => (i + 1) * 65_536))
    expect(chunks.length).toBeGreaterThan(4)
    expect(scanValueIn(new ChunkedBody(chunks), 1)).toBe(1 + utf8(text).length)
    expect(scanValueIn(new ChunkedBody(chunks), whole.length - 2)).toBe(whole.length - 1)
  })

  it('scans and reads a value longer than the buffer that stretches across chunks are copied into', () => {
    const text = JSON.stringify({ readable: 'é'.repeat(700_000), n: 1 })
    const whole = utf8(`[${text},1]`)
    const body = new ChunkedBody(split(whole, Array.from({ length: Math.floor(whole.length / 65_536) }, (_, i) => (i + 1) * 65_536)))
    const end = scanValueIn(body, 1)
    expect(end).toBe(1 + utf8(text).length)
    expect(new TextDecoder().decode(body.peek(1, end))).toBe(text)
    // A short stretch across two chunks after it is read right too.
    expect(new TextDecoder().decode(body.peek(65_530, 65_540))).toBe(new TextDecoder().decode(whole.subarray(65_530, 65_540)))
  })

  it('is no longer intact once a chunk was transferred away', () => {
    const chunks = split(utf8('{"iterable":[]}'), [4, 9])
    const body = new ChunkedBody(chunks)
    expect(body.intact).toBe(true)
    structuredClone(chunks[1]!.buffer, { transfer: [chunks[1]!.buffer] })
    expect(body.intact).toBe(false)
  })
})

describe('ChunkedBody.of', () => {
  it('takes a Uint8Array from another realm as one chunk, not as a list of chunks', () => {
    const foreign = runInNewContext('new Uint8Array([123, 125])') as Uint8Array
    expect(foreign instanceof Uint8Array).toBe(false)
    const body = ChunkedBody.of(foreign)
    expect(body.length).toBe(2)
    expect(body.byteAt(1)).toBe(0x7d)
  })
})
