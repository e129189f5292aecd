/**
 * Per-upstream request figures of one process, as a finished hook: counts and
 * a latency histogram per upstream, written in place (one object per
 * upstream, made on its first request), read and reset by each batch.
 */
import { performance } from 'node:perf_hooks';
import type { FinishedHook, FinishedView } from '../../../pipeline/filter.js';
import { LATENCY_BUCKET_BASE_MS, LATENCY_BUCKET_GROWTH, LATENCY_BUCKETS, type UpstreamRequestFigures } from '../../../protocol/index.js';

const LOG_GROWTH = Math.log(LATENCY_BUCKET_GROWTH);

export function latencyBucketOf(ms: number): number {
  if (ms <= LATENCY_BUCKET_BASE_MS) return 0;
  const bucket = Math.ceil(Math.log(ms / LATENCY_BUCKET_BASE_MS) / LOG_GROWTH);
  return bucket < LATENCY_BUCKETS ? bucket : LATENCY_BUCKETS - 1;
}

/** The upper bound of a bucket, in ms: what a percentile read from the histogram reports. */
export function latencyBucketBoundMs(bucket: number): number {
  return LATENCY_BUCKET_BASE_MS * LATENCY_BUCKET_GROWTH ** bucket;
}

class UpstreamTally {
  finished = 0;
  failed = 0;
  readonly latency = new Uint32Array(LATENCY_BUCKETS);
}

export class RequestFigures implements FinishedHook {
  readonly name = 'visualizer-figures';
  private readonly byUpstream = new Map<string, UpstreamTally>();

  finished(request: FinishedView): void {
    const id = request.upstreamId;
    if (id === null) return;
    let tally = this.byUpstream.get(id);
    if (tally === undefined) {
      tally = new UpstreamTally();
      this.byUpstream.set(id, tally);
    }
    tally.finished++;
    if (request.status >= 500 || request.status === 0) tally.failed++;
    const bucket = latencyBucketOf(performance.now() - request.startedAt);
    tally.latency[bucket] = (tally.latency[bucket] as number) + 1;
  }

  /** Since the last call, with each upstream's in-flight count now; resets the counts. */
  drain(inFlightOf: (upstreamId: string) => number, upstreamIds: Iterable<string>): Record<string, UpstreamRequestFigures> {
    const figures: Record<string, UpstreamRequestFigures> = {};
    for (const id of upstreamIds) {
      const tally = this.byUpstream.get(id);
      figures[id] = {
        finished: tally?.finished ?? 0,
        failed: tally?.failed ?? 0,
        inFlight: inFlightOf(id),
        latency: tally === undefined ? [] : Array.from(tally.latency),
      };
      if (tally !== undefined) {
        tally.finished = 0;
        tally.failed = 0;
        tally.latency.fill(0);
      }
    }
    return figures;
  }

  forget(upstreamId: string): void {
    this.byUpstream.delete(upstreamId);
  }
}
