/** Deep equality of plain JSON data (objects, arrays, primitives). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    // Not a[i] and b[i]: an indexed load that has seen arrays of objects makes V8 turn an array of
    // numbers it then reads (an event's workstreamEventsVector) into an array of boxed numbers, three
    // times the memory, for good. The array builtins and iterators read elements without that.
    const right = b.values()
    return a.every((item: unknown) => jsonEqual(item, right.next().value))
  }
  if (Array.isArray(b)) return false
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = Object.keys(left)
  if (keys.length !== Object.keys(right).length) return false
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(right, key) || !jsonEqual(left[key], right[key])) return false
  }
  return true
}
