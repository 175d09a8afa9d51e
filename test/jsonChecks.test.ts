import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkNumberArray, isoTimeMs } from '../src/jsonChecks'

describe('isoTimeMs', () => {
  it('gives what Date.parse gives, for any date written to the millisecond, a coarser fraction or none', () => {
    const date = fc.date({ min: new Date(Date.UTC(-500, 0, 1)), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)), noInvalidDate: true })
    fc.assert(
      fc.property(date, fc.integer({ min: 0, max: 3 }), (d, digits) => {
        const full = d.toISOString()
        const text = digits === 3 ? full : digits === 0 ? `${full.slice(0, 19)}Z` : `${full.slice(0, 20 + digits)}Z`
        expect(isoTimeMs(text)).toBe(Date.parse(text))
      }),
      { numRuns: 2000 },
    )
  })

  it('gives what Date.parse gives for the forms it leaves to it, and NaN for no date', () => {
    for (const text of [
      '0025-06-02T10:00:00.000Z',
      '0099-12-31T23:59:59Z',
      '2025-06-02T10:00:00.1239Z',
      '2025-06-02T10:00:00.999999999Z',
      '2025-06-02T10:00:00+02:00',
      '2025-06-02T10:00Z',
      '2025-06-02',
      '2024-02-29T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2025-06-02T24:00:00Z',
      '2025-13-02T10:00:00Z',
      'not a date',
      '',
    ]) {
      expect(isoTimeMs(text), text).toBe(Date.parse(text))
    }
    expect(isoTimeMs('not a date')).toBeNaN()
  })
})

describe('checkNumberArray', () => {
  it('accepts numbers only, and names the first element that is not one, a hole of a sparse array included', () => {
    expect(checkNumberArray([0.5, -1, 2e-3, 7])).toBeUndefined()
    expect(checkNumberArray([])).toBeUndefined()
    expect(checkNumberArray([0.5, '1', 2])?.path).toBe('[1]')
    expect(checkNumberArray([0.5, , 2])?.path).toBe('[1]')
    expect(checkNumberArray([0.5, 1, null])?.path).toBe('[2]')
    expect(checkNumberArray({ 0: 1, length: 1 })).toBeDefined()
  })
})
