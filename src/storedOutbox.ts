import type { MutationRecord } from './mutation'
import type { CacheArea } from './cacheArea'
import { HANDED_PREFIX, RECORD_PREFIX } from './cacheFormat'

/**
 * The outbox as storage keeps it: one key per mutation, the leader's records written as the delta
 * since the last save (by identity), and a follower's own copies written at once (see HANDED_PREFIX).
 */
export class StoredOutbox {
  readonly #area: CacheArea
  #savedRecords = new Map<string, MutationRecord>()
  /** The keys putRecord() wrote: a read that fails takes them back out of the storage it gives up. */
  readonly #handedKeys = new Set<string>()

  constructor(area: CacheArea) {
    this.#area = area
  }

  /** The keys of the copies putRecord() wrote that no read has taken up yet. */
  get handedKeys(): ReadonlySet<string> {
    return this.#handedKeys
  }

  /** Storage was read: what putRecord() wrote before the read is in what it read. */
  read(): void {
    this.#handedKeys.clear()
  }

  /** The records storage holds, which the next save compares with (none: it holds nothing of this cache). */
  adopt(records: readonly MutationRecord[]): void {
    this.#savedRecords = new Map(records.map((r) => [r.id, r]))
  }

  /** Queues writes for the records that changed since the last save, and deletes for those gone. */
  save(records: readonly MutationRecord[]): void {
    const current = new Set<string>()
    for (const record of records) {
      current.add(record.id)
      const before = this.#savedRecords.get(record.id)
      if (before !== record) {
        this.#area.queueSet(RECORD_PREFIX + record.id, record)
        // Its first version of a follower's mutation (or of this leader's own) supersedes the copy.
        if (before === undefined) this.#dropCopy(record.id)
        this.#savedRecords.set(record.id, record)
      }
    }
    for (const id of this.#savedRecords.keys()) {
      if (!current.has(id)) {
        this.#area.queueDelete(RECORD_PREFIX + id)
        this.#dropCopy(id)
        this.#savedRecords.delete(id)
      }
    }
  }

  /** Queues the delete of the copy putRecord() wrote of mutation `id`, which is then no longer to take back. */
  #dropCopy(id: string): void {
    this.#area.queueDelete(HANDED_PREFIX + id)
    this.#handedKeys.delete(HANDED_PREFIX + id)
  }

  /**
   * Writes one mutation at once, outside the delta: a follower tab makes its mutation durable
   * before the leader has it. A later load() takes it up.
   */
  putRecord(record: MutationRecord): void {
    // Issued at once, not behind this cache's earlier writes: it must land before whatever the
    // leader writes about this mutation once it hears of it (its delete, if it settles it unsent).
    const entries: Array<[string, unknown]> = [[HANDED_PREFIX + record.id, record]]
    if (!this.#area.fellBack) this.#handedKeys.add(HANDED_PREFIX + record.id)
    this.#area.atOnce((area) => area.setMany(entries))
  }

  /**
   * Deletes, at once as putRecord() wrote them, the copies of mutations that ended before the cache
   * loaded (a delete cancelled a create): there is no saved version yet to supersede them.
   */
  takeBack(mutationIds: readonly string[]): void {
    const keys = mutationIds.map((id) => HANDED_PREFIX + id)
    this.#area.atOnce((area) => area.delMany(keys))
  }

  /**
   * Deletes the records of settled mutations that this cache never saved: a follower tab wrote
   * them (putRecord) and the leader settled them without queueing them, as a create and its
   * delete that cancel each other. Call after save(); the records it saved go by its delta.
   */
  forget(mutationIds: readonly string[]): void {
    let forgotten = false
    for (const id of mutationIds) {
      if (this.#savedRecords.has(id)) continue
      this.#area.queueDelete(RECORD_PREFIX + id)
      this.#area.queueDelete(HANDED_PREFIX + id)
      forgotten = true
    }
    if (forgotten) this.#area.schedule()
  }

  /**
   * Follower: deletes its own copies of mutations the leader settled. Only those: the leader's
   * record of a mutation it confirmed stays until its next snapshot, which it needs after a reload.
   */
  forgetHanded(mutationIds: readonly string[]): void {
    for (const id of mutationIds) {
      this.#area.queueDelete(HANDED_PREFIX + id)
      this.#handedKeys.delete(HANDED_PREFIX + id)
    }
    if (mutationIds.length) this.#area.schedule()
  }
}
