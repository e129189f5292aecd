/** Percentiles read from a latency histogram (src/admin/visualizer/feed/request-figures.ts's buckets). */
import { latencyBucketBoundMs } from './feed/request-figures.js';

/** The bucket the q-th sample falls in, interpolated within it (geometric: the buckets grow by a factor). */
export function percentileOf(buckets: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < buckets.length; i++) total += buckets[i] as number;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i] as number;
    if (count === 0) continue;
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : latencyBucketBoundMs(i - 1);
      const upper = latencyBucketBoundMs(i);
      const within = (rank - seen) / count;
      const value = i === 0 ? upper * within : lower * (upper / lower) ** within;
      return Math.round(value * 100) / 100;
    }
    seen += count;
  }
  return Math.round(latencyBucketBoundMs(buckets.length - 1) * 100) / 100;
}
