/**
 * How many settled mutation ids the leader remembers, to ignore a follower's late re-post. The
 * other lists of ids the tabs keep (clears, refreshes, ended mutations) hold as many.
 */
const SETTLED_MEMORY = 1000

/** Adds `id` to the latest `ids`, forgetting the oldest past a thousand. */
export function rememberId(ids: string[], id: string): void {
  ids.push(id)
  if (ids.length > SETTLED_MEMORY) ids.shift()
}
