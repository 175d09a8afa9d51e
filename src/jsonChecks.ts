/*
 * The building blocks of the hand-written model guards (validate.ts): checks of JSON values that
 * allocate nothing unless they fail, and failures that get their path on the way out.
 */

export interface Failure {
  path: string
  problem: string
}

type Check = (value: unknown) => Failure | undefined
export type JsonObject = Record<string, unknown>

export const AN_OBJECT = 'an object'
export const AN_ARRAY = 'an array'
const A_STRING = 'a string'
const A_NUMBER = 'a number'
const A_BOOLEAN = 'a boolean'
const AN_ISO_DATE = 'an ISO date string'
const ISO_DATE_TIME_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/* Primitives. */

function isNotNumber(v: unknown): boolean {
  return typeof v !== 'number'
}

export function checkNumberArray(v: unknown): Failure | undefined {
  if (!Array.isArray(v)) return fail('an array of numbers', v)
  // findIndex(), not v[i]: see jsonEqual on why arrays that may hold numbers are read by builtins
  // (findIndex, unlike every(), also visits the holes of a caller's sparse array).
  const i = v.findIndex(isNotNumber)
  return i < 0 ? undefined : atIndex(i, fail(A_NUMBER, v.at(i)))
}

// for-in also walks inherited enumerable keys (a polluted Object.prototype); only an own key
// can fail, and Object.hasOwn runs only then, because it costs more than the typeof.
export function checkNumberMap(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  for (const key in v) if (typeof v[key] !== 'number' && Object.hasOwn(v, key)) return atKey(key, fail(A_NUMBER, v[key]))
  return undefined
}

export function checkIsoDate(v: unknown): Failure | undefined {
  if (typeof v === 'string' && (isCanonicalUtc(v) || (ISO_DATE_TIME_PREFIX.test(v) && !Number.isNaN(Date.parse(v))))) return undefined
  return fail(AN_ISO_DATE, v)
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with real calendar values: what toISOString and Pieces OS
 * write, and what every engine's Date.parse accepts. Date.parse costs about 0.8 µs, several
 * times the rest of an event's check, so the usual form skips it; any other form still goes
 * through it.
 */
function isCanonicalUtc(s: string): boolean {
  const n = s.length
  if (n < 20 || n > 30 || s.charCodeAt(n - 1) !== 90 /* Z */) return false
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false
  const year = digits(s, 0, 4)
  const month = digits(s, 5, 2)
  const day = digits(s, 8, 2)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false
  const hour = digits(s, 11, 2)
  const minute = digits(s, 14, 2)
  const second = digits(s, 17, 2)
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false
  if (n === 20) return true
  return s.charCodeAt(19) === 46 /* . */ && n > 21 && digits(s, 20, n - 21) >= 0
}

/**
 * What Date.parse gives for `s`, without its cost for the canonical form with at most millisecond
 * digits (Date.parse is most of a sort's pass over a snapshot's dates); NaN when it is no date.
 */
export function isoTimeMs(s: string): number {
  const n = s.length
  if (n > 24 || !isCanonicalUtc(s)) return Date.parse(s)
  const year = digits(s, 0, 4)
  // Date.UTC reads the years 0 to 99 as 1900 to 1999.
  if (year < 100) return Date.parse(s)
  const millis = n === 20 ? 0 : digits(s, 20, n - 21) * (n === 22 ? 100 : n === 23 ? 10 : 1)
  return Date.UTC(year, digits(s, 5, 2) - 1, digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2), millis)
}

/** The decimal value of `count` digits from `start`, or -1 if one is not a digit. */
function digits(s: string, start: number, count: number): number {
  let value = 0
  for (let i = start; i < start + count; i++) {
    const digit = s.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
}

export function checkString(v: unknown): Failure | undefined {
  return typeof v === 'string' ? undefined : fail(A_STRING, v)
}

export function checkNumber(v: unknown): Failure | undefined {
  return typeof v === 'number' ? undefined : fail(A_NUMBER, v)
}

export function checkBoolean(v: unknown): Failure | undefined {
  return typeof v === 'boolean' ? undefined : fail(A_BOOLEAN, v)
}

/** Absent and null both mean "not set" for an optional key. */
export function opt(check: Check, v: unknown): Failure | undefined {
  return v == null ? undefined : check(v)
}

export function optString(v: unknown): Failure | undefined { return v == null ? undefined : checkString(v) }
export function optNumber(v: unknown): Failure | undefined { return v == null ? undefined : checkNumber(v) }
export function optBoolean(v: unknown): Failure | undefined { return v == null ? undefined : checkBoolean(v) }
export function optObject(v: unknown): Failure | undefined { return v == null || isObject(v) ? undefined : fail(AN_OBJECT, v) }

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/* Failures: built only when a check fails, and given their path on the way out. */

export function fail(expected: string, got: unknown): Failure {
  return { path: '', problem: got === undefined ? `expected ${expected} (missing)` : `expected ${expected}, got ${describe(got)}` }
}

export function field(key: string, failure: Failure | undefined): Failure | undefined {
  return failure && at(key, failure)
}

export function at(key: string, failure: Failure): Failure {
  failure.path = join(key, failure.path)
  return failure
}

export function atIndex(index: number, failure: Failure): Failure {
  const rest = failure.path
  failure.path = rest === '' || rest.startsWith('[') ? `[${index}]${rest}` : `[${index}].${rest}`
  return failure
}

function atKey(key: string, failure: Failure): Failure {
  failure.path = IDENTIFIER.test(key) ? key : `[${JSON.stringify(key)}]`
  return failure
}

export function join(prefix: string, rest: string): string {
  if (prefix === '') return rest
  if (rest === '') return prefix
  return rest.startsWith('[') ? prefix + rest : `${prefix}.${rest}`
}

export function message(prefix: string, failure: Failure): string {
  const path = join(prefix, failure.path)
  return path === '' ? failure.problem : `${path}: ${failure.problem}`
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (v instanceof Date) return 'a Date object (send its toISOString())'
  if (typeof v === 'string') return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}... (${v.length} characters)` : JSON.stringify(v)
  if (typeof v === 'object') return 'an object'
  return `a ${typeof v}`
}
