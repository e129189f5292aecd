/**
 * Per-upstream load figures, one object per upstream per process, written in
 * place by the byte path and read by selection strategies. Nothing here
 * allocates per request: an attempt adds one, takes one away, and folds its
 * latency into a number.
 *
 * Writers (the byte path only): `src/proxy/forward.ts` counts an attempt in
 * when it is dispatched; `src/proxy/upstream-call.ts` counts it out exactly
 * once (completed, failed or discarded) and samples the latency from the
 * request's write to the response head, with this process's own loop delay
 * taken out (own-delay.ts); a failure the upstream is to blame for is a slow
 * sample.
 * Readers: strategies, through the read-only `UpstreamLoad`.
 */
import { LatencyHistogram } from '../metrics/histogram.js';

/** What a strategy may read. Read-only: only the byte path writes these figures. */
export interface UpstreamLoad {
  /** Attempts dispatched to this upstream by this process and not yet ended. */
  readonly inFlight: number;
  /**
   * Latency from the request's write to the response head, less this
   * process's own loop delay (own-delay.ts), in ms: a peak-sensitive moving average that
   * jumps up to a slower sample at once and decays toward faster ones
   * (Finagle's and Linkerd's peak EWMA). Starts at the assumed latency.
   */
  readonly latencyEwmaMs: number;
  /** `performance.now()` of the last sample (0: none yet), for a strategy that decays the estimate while idle. */
  readonly sampledAt: number;
}

/** How the latency estimate moves. */
export interface LatencyEstimate {
  /** Time constant of the decay toward faster samples (Finagle/Linkerd: 10 s). */
  readonly decayMs: number;
  /** Where a new upstream starts, so it is tried but not flooded (Linkerd's default RTT: 30 ms). */
  readonly initialMs: number;
  /** The sample a failure before the response head counts as. */
  readonly failurePenaltyMs: number;
}

export const DEFAULT_LATENCY_ESTIMATE: LatencyEstimate = { decayMs: 10_000, initialMs: 30, failurePenaltyMs: 1_000 };

/** The writable side, for the byte path. */
export class LoadFigures implements UpstreamLoad {
  inFlight = 0;
  latencyEwmaMs: number;
  sampledAt = 0;
  /** Times to the response head, for /metrics; null (one test per response) while the admin server is off. */
  headLatency: LatencyHistogram | null = null;

  constructor(private readonly estimate: LatencyEstimate = DEFAULT_LATENCY_ESTIMATE) {
    this.latencyEwmaMs = estimate.initialMs;
  }

  attemptStarted(): void {
    this.inFlight++;
  }

  attemptEnded(): void {
    this.inFlight--;
  }

  /** One response head arrived `ms` after its attempt was dispatched. */
  latencySampled(ms: number, now: number): void {
    if (ms >= this.latencyEwmaMs) {
      this.latencyEwmaMs = ms;
    } else {
      // The first sample replaces the assumed latency outright: that was a guess, not a figure to average with
      // (and "since the last sample" would otherwise be since the process started, so a fresh worker and an old
      // one would weigh the guess differently).
      const weight = this.sampledAt === 0 ? 0 : Math.exp(-(now - this.sampledAt) / this.estimate.decayMs);
      this.latencyEwmaMs = this.latencyEwmaMs * weight + ms * (1 - weight);
    }
    this.sampledAt = now;
  }

  /** The upstream failed an attempt before its response head (refused, reset, timed out, garbage). */
  failureSampled(now: number): void {
    this.latencySampled(this.estimate.failurePenaltyMs, now);
  }
}

/**
 * This process's load figures, by upstream id. An upstream removed and added
 * again gets fresh figures; attempts still under way keep (and end on) the
 * object they started on, so no count is ever taken from the wrong one.
 */
export class UpstreamLoads {
  private readonly byId = new Map<string, LoadFigures>();

  constructor(
    private readonly estimate: LatencyEstimate = DEFAULT_LATENCY_ESTIMATE,
    /** Keep a response-head latency histogram per upstream (the admin server's metrics). */
    private readonly histograms = false,
  ) {}

  of(upstreamId: string): LoadFigures {
    let figures = this.byId.get(upstreamId);
    if (figures === undefined) {
      figures = new LoadFigures(this.estimate);
      if (this.histograms) figures.headLatency = new LatencyHistogram();
      this.byId.set(upstreamId, figures);
    }
    return figures;
  }

  /** Every upstream's figures, for metrics (read-only use). */
  forEach(visit: (figures: LoadFigures, upstreamId: string) => void): void {
    this.byId.forEach(visit);
  }

  forget(upstreamId: string): void {
    this.byId.delete(upstreamId);
  }
}
