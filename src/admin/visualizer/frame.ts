/**
 * What the page draws from: one frame every ~500 ms, the whole instance's
 * feed merged from every process's batches. The live page, a trace file and
 * a replay all carry the same frames, so replaying is folding the same
 * frames over the same page.
 */
import type { CacheFigures, FeedMessage, InspectionRecord, RateLimitFigures, UpstreamHealthPoint, WafFigures } from '../../protocol/index.js';
import type { ChartModel } from './chart-model.js';

export type StateCounts = { readonly [kind: string]: { readonly [state: string]: number } };

export interface UpstreamFrame {
  /** null until its actor has published its health. */
  readonly healthy: boolean | null;
  readonly reason: string;
  readonly finished: number;
  readonly failed: number;
  readonly inFlight: number;
  /** Latency percentiles over the frame's requests, ms; null with none. */
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface FeedFrame {
  readonly type: 'frame';
  readonly time: number;
  /** Since the previous frame: rates are counts over it. */
  readonly intervalMs: number;
  /** kind → state → live actors, across every process heard from. */
  readonly counts: StateCounts;
  /** The processes those counts come from. */
  readonly nodes: readonly string[];
  readonly messages: readonly FeedMessage[];
  /** Router messages the per-second caps left out in this frame, and since the start. */
  readonly dropped: number;
  readonly droppedTotal: number;
  readonly upstreams: { readonly [upstreamId: string]: UpstreamFrame };
  readonly health: readonly UpstreamHealthPoint[];
  readonly rateLimit: RateLimitFigures;
  /**
   * The response caches of every process: lookups and fills over the frame's interval, objects and
   * bytes held now (summed). Absent or null: no process has a cache (and in traces made before it).
   */
  readonly cache?: CacheFigures | null;
  /** The WAF of every process over the interval, and the requests it flagged in it. Absent or null: no WAF counters. */
  readonly waf?: WafFigures | null;
  /** Detailed records of the actors someone watched during the frame (absent: none). */
  readonly records?: readonly InspectionRecord[];
}

/** The first line of a trace file: what makes it self-contained. */
export interface TraceHeader {
  readonly type: 'trace';
  readonly version: 1;
  readonly startedAt: number;
  readonly charts: readonly ChartModel[];
  /** kind → the machine's definition as JSON (xstate's `machine.definition`), for the Stately export. */
  readonly definitions: { readonly [kind: string]: string };
}
