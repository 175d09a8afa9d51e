/**
 * `bytes` cut where `cuts` says (each taken modulo the length + 1, sorted, deduplicated), each
 * piece in a buffer of its own at an odd offset, as a body arrives over HTTP.
 */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let from = 0
  for (const to of [...at, bytes.length]) {
    const offset = pieces.length % 5
    const piece = new Uint8Array(to - from + offset).subarray(offset)
    piece.set(bytes.subarray(from, to))
    pieces.push(piece)
    from = to
  }
  return pieces
}
