/**
 * Upstream latency over roughly the last minute, from cumulative histogram
 * buckets (which only ever grow): the figures now minus a snapshot taken
 * about a minute ago. Snapshots are taken when the API is read (at most one
 * per 10 s), so nothing runs while nobody asks; the first read covers the
 * time since start.
 */
import { quantileOfBuckets } from '../metrics/histogram.js';

const SNAPSHOT_EVERY_MS = 10_000;
export const WINDOW_MS = 60_000;

interface Snapshot {
  readonly at: number;
  readonly buckets: ReadonlyMap<string, readonly number[]>;
}

export interface WindowedLatency {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Responses in the window. */
  readonly samples: number;
}

export class LatencyWindow {
  private snapshots: Snapshot[] = [];

  /** `buckets`: upstream → cumulative counts per bound, +Inf last. Returns the window's quantiles per upstream and its length. */
  read(bounds: readonly number[], buckets: ReadonlyMap<string, readonly number[]>, now: number): { perUpstream: Map<string, WindowedLatency>; windowMs: number | null } {
    // The newest snapshot at least a minute old, else the oldest one (or none: since start).
    let base: Snapshot | undefined;
    for (const snapshot of this.snapshots) if (now - snapshot.at >= WINDOW_MS) base = snapshot;
    base ??= this.snapshots[0];
    const perUpstream = new Map<string, WindowedLatency>();
    for (const [upstream, cumulative] of buckets) {
      const before = base?.buckets.get(upstream);
      // A count below its snapshot (a worker replaced, an upstream re-added with fresh figures): take it from zero.
      const inWindow = cumulative.map((count, index) => Math.max(0, count - (before?.[index] ?? 0)));
      const toMs = (seconds: number): number | null => (Number.isNaN(seconds) ? null : Math.round(seconds * 1e6) / 1e3);
      perUpstream.set(upstream, {
        p50Ms: toMs(quantileOfBuckets(bounds, inWindow, 0.5)),
        p99Ms: toMs(quantileOfBuckets(bounds, inWindow, 0.99)),
        samples: inWindow[inWindow.length - 1] ?? 0,
      });
    }
    const newest = this.snapshots[this.snapshots.length - 1];
    if (newest === undefined || now - newest.at >= SNAPSHOT_EVERY_MS) this.snapshots.push({ at: now, buckets });
    // Keep what a later read may still use as its base.
    while (this.snapshots.length > 1 && now - (this.snapshots[1] as Snapshot).at >= WINDOW_MS) this.snapshots.shift();
    return { perUpstream, windowMs: base === undefined ? null : now - base.at };
  }
}
