/**
 * The stored responses of one process, within a byte budget that counts
 * bodies, headers and a fixed overhead per entry.
 *
 * Eviction is a segmented LRU (SLRU, Karedla et al. 1994; the main space of
 * Caffeine's W-TinyLFU): a new entry enters the probation segment; a hit
 * there promotes it to the protected segment (at most 80 % of the budget),
 * whose overflow is demoted back to probation; victims come from
 * probation's least recently used end. A one-off scan of URLs never asked
 * for again therefore only churns probation, and the objects hit twice
 * survive it (bench/cache-eviction.ts measures it against plain LRU, the
 * `lru` policy, on a Zipf workload). Each segment is a Map, whose insertion
 * order is the recency order: a touch is a delete and a set, no linked list
 * of our own.
 *
 * Variants (Vary) of one URL are separate entries under one primary key; an
 * index per URL lets invalidation and purge remove them all.
 */
import type { StoredResponse } from './stored-response.js';

export type EvictionPolicy = 'slru' | 'lru';

const PROTECTED_SHARE = 0.8;

export class MemoryStore {
  private readonly probation = new Map<string, StoredResponse>();
  private readonly protectedSegment = new Map<string, StoredResponse>();
  private probationBytes = 0;
  private protectedBytes = 0;
  /** URL → the keys of its stored variants. */
  private readonly variants = new Map<string, Set<string>>();
  /** URL → the Vary field names of its latest stored response. */
  private readonly varyByUrl = new Map<string, readonly string[]>();
  evictions = 0;

  constructor(
    readonly budget: number,
    readonly policy: EvictionPolicy = 'slru',
  ) {}

  get bytes(): number {
    return this.probationBytes + this.protectedBytes;
  }

  get count(): number {
    return this.probation.size + this.protectedSegment.size;
  }

  /** The Vary names of a URL's latest stored response; undefined when nothing is stored for it. */
  varyNamesOf(primaryKey: string): readonly string[] | undefined {
    return this.varyByUrl.get(primaryKey);
  }

  /** The entry, counted as a use (it moves up in recency, or into the protected segment). */
  get(key: string): StoredResponse | undefined {
    const inProbation = this.probation.get(key);
    if (inProbation !== undefined) {
      this.probation.delete(key);
      if (this.policy === 'lru') {
        this.probation.set(key, inProbation);
        return inProbation;
      }
      this.probationBytes -= inProbation.size;
      this.protectedSegment.set(key, inProbation);
      this.protectedBytes += inProbation.size;
      this.demoteOverflow();
      return inProbation;
    }
    const inProtected = this.protectedSegment.get(key);
    if (inProtected !== undefined) {
      this.protectedSegment.delete(key);
      this.protectedSegment.set(key, inProtected);
    }
    return inProtected;
  }

  /** The entry without counting a use. */
  peek(key: string): StoredResponse | undefined {
    return this.probation.get(key) ?? this.protectedSegment.get(key);
  }

  /** Stores (or replaces) an entry; false when it alone is over the budget. */
  insert(entry: StoredResponse): boolean {
    if (entry.size > this.budget) return false;
    this.delete(entry.key);
    this.probation.set(entry.key, entry);
    this.probationBytes += entry.size;
    let keys = this.variants.get(entry.primaryKey);
    if (keys === undefined) this.variants.set(entry.primaryKey, (keys = new Set()));
    keys.add(entry.key);
    this.varyByUrl.set(entry.primaryKey, entry.varyNames);
    this.evictOverBudget();
    return this.peek(entry.key) === entry;
  }

  /** An entry's size changed (a 304 updated its headers). */
  resized(entry: StoredResponse): void {
    const before = entry.size;
    entry.size = entry.measure();
    if (this.probation.get(entry.key) === entry) this.probationBytes += entry.size - before;
    else if (this.protectedSegment.get(entry.key) === entry) this.protectedBytes += entry.size - before;
    this.evictOverBudget();
  }

  delete(key: string): boolean {
    let entry = this.probation.get(key);
    if (entry !== undefined) {
      this.probation.delete(key);
      this.probationBytes -= entry.size;
    } else {
      entry = this.protectedSegment.get(key);
      if (entry === undefined) return false;
      this.protectedSegment.delete(key);
      this.protectedBytes -= entry.size;
    }
    const keys = this.variants.get(entry.primaryKey);
    if (keys !== undefined) {
      keys.delete(key);
      if (keys.size === 0) {
        this.variants.delete(entry.primaryKey);
        this.varyByUrl.delete(entry.primaryKey);
      }
    }
    return true;
  }

  /** Removes every variant stored for a URL; how many there were. */
  deleteUrl(primaryKey: string): number {
    const keys = this.variants.get(primaryKey);
    if (keys === undefined) return 0;
    let removed = 0;
    for (const key of [...keys]) if (this.delete(key)) removed++;
    return removed;
  }

  clear(): void {
    this.probation.clear();
    this.protectedSegment.clear();
    this.variants.clear();
    this.varyByUrl.clear();
    this.probationBytes = 0;
    this.protectedBytes = 0;
  }

  private demoteOverflow(): void {
    const limit = this.budget * PROTECTED_SHARE;
    while (this.protectedBytes > limit) {
      const oldest = this.protectedSegment.values().next().value;
      if (oldest === undefined) return;
      this.protectedSegment.delete(oldest.key);
      this.protectedBytes -= oldest.size;
      this.probation.set(oldest.key, oldest);
      this.probationBytes += oldest.size;
    }
  }

  private evictOverBudget(): void {
    while (this.bytes > this.budget) {
      const victim = this.probation.values().next().value ?? this.protectedSegment.values().next().value;
      if (victim === undefined) return;
      this.delete(victim.key);
      this.evictions++;
    }
  }
}
