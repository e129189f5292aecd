/**
 * A latency histogram kept in place: fixed bucket bounds, one Float64Array of
 * counts, a sum and a count. Observing is a short scan and three additions,
 * no allocation, so the request path can afford it; the Prometheus form is
 * built only when someone scrapes (families.ts).
 */

/** Upper bounds in seconds, from a fast loopback answer to a slow upstream (Prometheus' `le`). */
export const LATENCY_BOUNDS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class LatencyHistogram {
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  /** Sum of the observations, in seconds. */
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = LATENCY_BOUNDS_S) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observeMs(ms: number): void {
    const seconds = ms / 1000;
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && seconds > (bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

/**
 * The q-quantile (0..1) of cumulative bucket counts, interpolated linearly inside the bucket it
 * falls in, as Prometheus' histogram_quantile does; in seconds. NaN with no observation; the
 * highest finite bound when it falls in +Inf.
 */
export function quantileOfBuckets(bounds: readonly number[], cumulative: readonly number[], q: number): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let bucket = 0;
  while (bucket < cumulative.length - 1 && (cumulative[bucket] as number) < rank) bucket++;
  if (bucket >= bounds.length) return bounds[bounds.length - 1] as number;
  const upper = bounds[bucket] as number;
  const lower = bucket === 0 ? 0 : (bounds[bucket - 1] as number);
  const below = bucket === 0 ? 0 : (cumulative[bucket - 1] as number);
  const inBucket = (cumulative[bucket] as number) - below;
  return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
}
