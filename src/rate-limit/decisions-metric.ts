/**
 * `balancebeam_rate_limit_decisions_total`, from every process that decides:
 * the rate limiter in the primary (requests without a lease) and each
 * process's lease holder (requests admitted on a lease); the admin server
 * sums the processes' families, so the total is every memory-store decision once.
 * A Redis store's decisions are counted in each worker (src/metrics/rate-limit-tally.ts).
 */
import { counterFamily } from '../metrics/families.js';
import type { MetricFamily } from '../protocol/index.js';

export function decisionsFamily(admitted: number, denied: number): MetricFamily {
  return counterFamily(
    'balancebeam_rate_limit_decisions_total',
    'Rate-limit checks answered, by decision: by the memory store in the primary or on a lease in the process that received the request, by a Redis store in each worker',
    [
      { labels: { decision: 'admitted' }, value: admitted },
      { labels: { decision: 'denied' }, value: denied },
    ],
  );
}
