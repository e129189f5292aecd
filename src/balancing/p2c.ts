import type { Candidate, SelectionStrategy } from './strategy.js';
import { pickOfTwo, type LoadOrder } from './two-choices.js';

/**
 * Power of two choices on in-flight requests: of two distinct random usable
 * upstreams, the one with fewer attempts under way per unit of weight.
 *
 * The load is (inFlight + 1) / weight rather than inFlight / weight so that
 * weights count when both are idle (0/5 and 0/1 would tie); with equal
 * weights the order is the same. Cross-multiplied: no division per pick.
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
    return (a.load.inFlight + 1) * b.weight < (b.load.inFlight + 1) * a.weight;
  }
}
