/*
 * Cached event texts are stored as ASCII. A JavaScript string is held one byte a character only
 * while every character is below U+0100; one emoji makes a 256 kB segment two bytes a character.
 * Written as ASCII, a segment takes half the room in IndexedDB, half the time to read back (the
 * structured clone copies it), and JSON.parse walks it faster. Measured side by side on the
 * bench's sample events, every one of which has a character beyond Latin-1 (medians, fake
 * IndexedDB): a cold start of 10k events took 12% less time, one of 50k events 38% less.
 *
 * Non-ASCII characters can only stand inside JSON strings, where `\uXXXX` is the same character,
 * so the escaped text parses to the same value. A text escaped here starts with a space (JSON
 * whitespace, which JSON.parse skips): that marks the escapes as this module's, to be undone when
 * the first poll after a reload compares the cached texts with the server's bytes. A text that
 * has escapes of non-ASCII characters of its own is stored as it came (see asciiJson), as are the
 * texts of a segment that escaping would make larger (mostly CJK, or Latin-1 only: see
 * EventSegments), and match as they are.
 */

const NON_ASCII = /[^\x00-\x7f]/
const NON_ASCII_UNITS = /[^\x00-\x7f]/g
/** A `\u` escape the text has of a unit of 0x80 or more, or looks as if it had (`\\u00e9`): see asciiJson. */
const OWN_ESCAPE = /\\u(?!00[0-7])/
const BACKSLASH = 0x5c
const LETTER_U = 0x75
/** The first character of a text escaped by asciiJson. */
const ESCAPED_MARK = ' '

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function escapeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * `text`, a JSON text, with every non-ASCII character (each UTF-16 unit of it) written as a
 * `\uXXXX` escape, behind ESCAPED_MARK; `text` itself when it is ASCII already, or when it has
 * escapes of non-ASCII characters of its own (a server that escapes some characters, as Go does
 * U+2028, and sends others raw), which undoing the cache's escapes would undo too: that event
 * would then be parsed again on the first poll after every reload.
 */
export function asciiJson(text: string): string {
  if (!NON_ASCII.test(text) || OWN_ESCAPE.test(text)) return text
  // What replace() returns of a two-byte string stays two-byte in V8, whatever it holds: the
  // round trip through UTF-8 makes a string of one byte a character.
  return decoder.decode(encoder.encode(ESCAPED_MARK + text.replace(NON_ASCII_UNITS, escapeUnit)))
}

/** Whether `text` holds a character beyond Latin-1, which makes a string two bytes a character. */
export function isWide(text: string): boolean {
  return WIDE.test(text)
}

const WIDE = /[^\x00-\xff]/

/** Whether `text` was escaped by asciiJson (its escapes of non-ASCII characters are to be undone). */
export function isAsciiEscaped(text: string): boolean {
  return text.startsWith(ESCAPED_MARK)
}

/**
 * Undoes asciiJson on its text encoded as UTF-8 in `bytes[0, length)`, in place: writes every
 * `\uXXXX` escape of a non-ASCII character as the character's UTF-8 bytes (a surrogate pair as
 * one 4-byte sequence; a lone surrogate, which UTF-8 cannot hold, stays escaped), and moves the
 * rest up behind them. An escape is never shorter than what replaces it. The text, without its
 * mark, is then `bytes[ESCAPED_OFFSET, end)`; returns `end`.
 */
export function unescapeAsciiJson(bytes: Uint8Array, length: number): number {
  const text = bytes.subarray(0, length)
  // Up to the first escape undone nothing moves; after it, each stretch moves up once.
  let write = ESCAPED_OFFSET
  let unmoved = ESCAPED_OFFSET
  for (let found = text.indexOf(BACKSLASH, unmoved); found >= 0; found = text.indexOf(BACKSLASH, found)) {
    const unit = text[found + 1] === LETTER_U ? hex4(text, found + 2) : -1
    let point = unit
    let escaped = 6
    if (unit >= 0xd800 && unit <= 0xdbff && text[found + 6] === BACKSLASH && text[found + 7] === LETTER_U) {
      const low = hex4(text, found + 8)
      if (low >= 0xdc00 && low <= 0xdfff) {
        point = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
        escaped = 12
      }
    }
    if (point < 0x80 || (point >= 0xd800 && point <= 0xdfff)) {
      // Any other escape (`\"`, `\\`, `\n`, an ASCII or lone-surrogate `\u`) stays: past both of
      // its first two bytes, so that a `\\` pair is never read as the start of another escape.
      found += 2
      continue
    }
    write = moveUp(text, write, unmoved, found)
    write = putUtf8(text, write, point)
    unmoved = found += escaped
  }
  return moveUp(text, write, unmoved, length)
}

/** Where a text escaped by asciiJson starts once unescapeAsciiJson undid its escapes: after the mark. */
export const ESCAPED_OFFSET = 1

/** Moves bytes [from, to) to `at` (at <= from); returns the position after them. */
function moveUp(bytes: Uint8Array, at: number, from: number, to: number): number {
  if (at === from) return to
  // A short stretch costs less byte by byte than as a call.
  if (to - from < 64) for (let i = from; i < to; i++) bytes[at++] = bytes[i]!
  else {
    bytes.copyWithin(at, from, to)
    at += to - from
  }
  return at
}

/** The value of the four hexadecimal digits at `at`, or -1. */
function hex4(bytes: Uint8Array, at: number): number {
  let value = 0
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i]
    const digit = c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1
    if (digit < 0) return -1
    value = value * 16 + digit
  }
  return value
}

/** Writes code point `point` (0x80 or more, not a surrogate) as UTF-8 at `at`; returns the position after it. */
function putUtf8(bytes: Uint8Array, at: number, point: number): number {
  if (point < 0x800) {
    bytes[at++] = 0xc0 | (point >> 6)
  } else if (point < 0x10000) {
    bytes[at++] = 0xe0 | (point >> 12)
    bytes[at++] = 0x80 | ((point >> 6) & 0x3f)
  } else {
    bytes[at++] = 0xf0 | (point >> 18)
    bytes[at++] = 0x80 | ((point >> 12) & 0x3f)
    bytes[at++] = 0x80 | ((point >> 6) & 0x3f)
  }
  bytes[at++] = 0x80 | (point & 0x3f)
  return at
}
