import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

/**
 * The usable candidate with the fewest requests in flight for its weight.
 * The figure compared is the load it would carry once chosen,
 * `(inFlight + 1) / weight`, as HAProxy's `leastconn` computes it: with
 * plain `inFlight / weight` every idle upstream ties at 0 whatever its
 * weight, and a weight would count only once the traffic queues. Compared
 * by cross-multiplication, so no division and no rounding.
 *
 * Ties go round-robin: the scan starts just after the last winner, and the
 * first of the least loaded in that order wins, so idle upstreams of equal
 * weight take turns instead of the first one taking everything.
 *
 * The in-flight figures are this process's own (`load.ts`), read live; there
 * is nothing to precompute, so `rebuild` only keeps the array.
 */
export class LeastConnections implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];
  /** Where the next scan starts: just after the last winner. */
  private next = 0;

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    const { candidates } = this;
    const count = candidates.length;
    let best: Candidate | undefined;
    let bestIndex = 0;
    for (let step = 0; step < count; step++) {
      const index = (this.next + step) % count;
      const candidate = candidates[index] as Candidate;
      if (!isUsable(candidate, exclude)) continue;
      // (c.inFlight + 1) / c.weight < (best.inFlight + 1) / best.weight, weights being positive.
      if (best === undefined || (candidate.load.inFlight + 1) * best.weight < (best.load.inFlight + 1) * candidate.weight) {
        best = candidate;
        bestIndex = index;
      }
    }
    if (best !== undefined) this.next = (bestIndex + 1) % count;
    return best;
  }
}
