/**
 * The cache's and the WAF's figures of one process for the feed: read from
 * the counters they keep anyway (for /metrics) once per batch, sent as the
 * change since the previous batch. Nothing here runs per request. A reload
 * that replaces the cache starts its counters from zero: the first batch
 * after it counts from there.
 */
import type { CacheRegistry } from '../../../cache/registry.js';
import type { HttpCache } from '../../../cache/http-cache.js';
import type { CacheFigures, WafFigures } from '../../../protocol/index.js';
import type { WafCounters } from '../../../waf/counters.js';

const CACHE_FIELDS = ['hits', 'misses', 'staleServed', 'stored', 'revalidated', 'coalesced'] as const;

export class CacheFiguresReader {
  private cache: HttpCache | null = null;
  private readonly seen = new Float64Array(CACHE_FIELDS.length);

  constructor(private readonly caches: CacheRegistry) {}

  drain(): CacheFigures | null {
    const cache = this.caches.cache;
    if (cache === null) {
      this.cache = null;
      return null;
    }
    if (cache !== this.cache) {
      this.cache = cache;
      this.seen.fill(0);
    }
    const delta = new Array<number>(CACHE_FIELDS.length);
    CACHE_FIELDS.forEach((field, index) => {
      const value = cache.counters[field];
      delta[index] = value - (this.seen[index] as number);
      this.seen[index] = value;
    });
    const [hits, misses, stale, stored, revalidated, coalesced] = delta as [number, number, number, number, number, number];
    return { hits, misses, stale, stored, revalidated, coalesced, objects: cache.store.count, bytes: cache.store.bytes };
  }
}

export class WafFiguresReader {
  private inspected = 0;
  private blocked = 0;
  private detected = 0;
  private readonly byCategory = new Map<string, number>();

  constructor(private readonly counters: WafCounters) {}

  /** null while the WAF is off (its counters stay, for a reload that turns it back on). */
  drain(): WafFigures | null {
    const { counters } = this;
    if (!counters.on) return null;
    const byCategory: Record<string, number> = {};
    for (const [category, value] of counters.byCategory) {
      const change = value - (this.byCategory.get(category) ?? 0);
      if (change !== 0) byCategory[category] = change;
      this.byCategory.set(category, value);
    }
    const figures: WafFigures = {
      inspected: counters.inspected - this.inspected,
      blocked: counters.blocked - this.blocked,
      detected: counters.detected - this.detected,
      byCategory,
      recent: counters.drainRecent(),
    };
    this.inspected = counters.inspected;
    this.blocked = counters.blocked;
    this.detected = counters.detected;
    return figures;
  }
}
