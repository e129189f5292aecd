/**
 * The response cache's metrics (with --cache-size and --admin): its counters
 * and what it holds, read from the process's current cache at scrape time.
 * Summed over workers, since every worker has a cache of its own. A reload
 * that changes the cache settings starts a new, empty cache, and its
 * counters start again from zero (Prometheus reads that as a reset).
 */
import type { CacheRegistry } from '../cache/registry.js';
import type { MetricFamily } from '../protocol/index.js';
import { counterFamily, gaugeFamily, type MetricSource } from './families.js';

export class CacheMetrics implements MetricSource {
  constructor(private readonly caches: CacheRegistry) {}

  families(): MetricFamily[] {
    const cache = this.caches.cache;
    if (cache === null) return [];
    const { counters, store } = cache;
    return [
      counterFamily('balancebeam_cache_lookups_total', 'Cacheable requests looked up, by result (a stale response served counts as stale)', [
        { labels: { result: 'hit' }, value: counters.hits },
        { labels: { result: 'miss' }, value: counters.misses },
        { labels: { result: 'stale' }, value: counters.staleServed },
      ]),
      counterFamily('balancebeam_cache_stored_total', 'Responses stored', [{ labels: {}, value: counters.stored }]),
      counterFamily('balancebeam_cache_revalidated_total', 'Stored responses revalidated with the upstream (304 or replaced)', [
        { labels: {}, value: counters.revalidated },
      ]),
      counterFamily('balancebeam_cache_coalesced_total', 'Requests that waited for another request filling the same URL', [
        { labels: {}, value: counters.coalesced },
      ]),
      gaugeFamily('balancebeam_cache_objects', 'Responses held now (summed over workers)', [{ labels: {}, value: store.count }]),
      gaugeFamily('balancebeam_cache_bytes', 'Bytes held now, as the budget counts them (summed over workers)', [{ labels: {}, value: store.bytes }]),
    ];
  }
}
