import { DEFAULT_LATENCY_ESTIMATE, type LatencyEstimate, type UpstreamLoad } from './load.js';
import type { Candidate, SelectionStrategy } from './strategy.js';
import { pickOfTwo, type LoadOrder } from './two-choices.js';

/**
 * Finagle's and Linkerd's peak-EWMA: cost = latency estimate × (inFlight + 1),
 * per unit of weight, and the cheaper of two distinct random upstreams wins.
 *
 * The estimate is the byte path's `load.latencyEwmaMs` (load.ts: it jumps up
 * to a slower sample, decays toward faster ones, a failure is a slow sample,
 * a new upstream starts at `initialMs`). That figure only moves when a sample
 * arrives, and an upstream that once looked slow gets no samples, so at pick
 * time an estimate above the assumed latency decays toward it with the time
 * since its last sample (`e^(−Δt/decayMs)`), as Finagle decays at read time.
 * Toward `initialMs`, not toward zero as Finagle does: an upstream not heard
 * from for long is as good as a new one, probed but not flooded, whereas a
 * near-zero estimate would draw every request of a burst before its first
 * answer came back. An estimate below the assumed latency was measured and
 * stays until a sample moves it.
 */
export class PeakEwma implements SelectionStrategy, LoadOrder {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];

  constructor(
    private readonly random: () => number = Math.random,
    private readonly estimate: LatencyEstimate = DEFAULT_LATENCY_ESTIMATE,
    /** The byte path's clock: `sampledAt` is a `performance.now()`. */
    private readonly now: () => number = monotonicNow,
  ) {}

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    return pickOfTwo(this.candidates, exclude, this.random, this);
  }

  lighter(a: Candidate, b: Candidate): boolean {
    const now = this.now();
    const costA = latencyEstimateAt(a.load, this.estimate, now) * (a.load.inFlight + 1);
    const costB = latencyEstimateAt(b.load, this.estimate, now) * (b.load.inFlight + 1);
    return costA * b.weight < costB * a.weight;
  }
}

const monotonicNow = (): number => performance.now();

/** The latency estimate of `load` as of `now`, with the idle decay toward the assumed latency applied. */
export function latencyEstimateAt(load: UpstreamLoad, estimate: LatencyEstimate, now: number): number {
  const { latencyEwmaMs, sampledAt } = load;
  if (sampledAt === 0 || latencyEwmaMs <= estimate.initialMs) return latencyEwmaMs;
  const idleMs = Math.max(0, now - sampledAt);
  return estimate.initialMs + (latencyEwmaMs - estimate.initialMs) * Math.exp(-idleMs / estimate.decayMs);
}
