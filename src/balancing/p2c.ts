import type { Candidate, SelectionStrategy } from './strategy.js';
import { pickOfTwo, type LoadOrder } from './two-choices.js';

/**
 * Power of two choices on in-flight requests: of two distinct random usable
 * upstreams, the one with fewer attempts under way per unit of weight.
 *
 * The load is (inFlight + 1) / weight rather than inFlight / weight so that
 * weights count when both are idle (0/5 and 0/1 would tie); with equal
 * weights the order is the same. Cross-multiplied: no division per pick.
 *
 * At equal load the one with the lower latency estimate wins (the byte
 * path keeps one for every upstream, load.ts), then the first drawn. Equal
 * load is the common case at light traffic (both idle), and a coin toss
 * there hands a slow upstream half the pairs it is drawn in: nginx's
 * `random two least_conn` does that, and in the deterministic simulation
 * (bench/balancing/simulation.ts, one upstream 10× slower, open loop) it
 * and a coin-toss p2c sent it 6.9 % of requests; with this tie-break p2c
 * sent it 5.1 %, below nginx's `least_conn` (5.6 %).
 */
export class PowerOfTwoChoices implements SelectionStrategy, LoadOrder {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    return pickOfTwo(this.candidates, exclude, this.random, this);
  }

  lighter(a: Candidate, b: Candidate): boolean {
    const order = (a.load.inFlight + 1) * b.weight - (b.load.inFlight + 1) * a.weight;
    return order < 0 || (order === 0 && a.load.latencyEwmaMs < b.load.latencyEwmaMs);
  }
}
