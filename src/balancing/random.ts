import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

/**
 * A random usable upstream, in proportion to its weight: one draw over the
 * sum of the usable weights, then a walk to the candidate whose share it
 * falls in. With equal weights this is the original uniform choice, draw for
 * draw. Two walks, no allocation.
 */
export class RandomChoice implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    const { candidates } = this;
    let total = 0;
    let last: Candidate | undefined;
    for (const candidate of candidates) {
      if (!isUsable(candidate, exclude)) continue;
      total += candidate.weight;
      last = candidate;
    }
    if (last === undefined) return undefined;
    let remaining = this.random() * total;
    for (const candidate of candidates) {
      if (!isUsable(candidate, exclude)) continue;
      remaining -= candidate.weight;
      if (remaining < 0) return candidate;
    }
    // Rounding on a draw just below 1 may leave a sliver: it belongs to the last share.
    return last;
  }
}
