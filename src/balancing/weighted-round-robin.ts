import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

/**
 * Smooth weighted round-robin, as nginx interleaves it: at each pick every
 * usable candidate's current weight grows by its weight, the largest wins
 * (the first in configuration order on a tie) and gives back the total. So
 * weights 5,1,1 give a,a,b,a,c,a,a rather than a burst of five a's, and equal
 * weights give plain round-robin order.
 *
 * A dead or excluded candidate sits that pick out: its current weight stays
 * where it was and the total leaves it out, so the others interleave among
 * themselves as if it were not there and it rejoins where it stood.
 *
 * `rebuild` keeps the schedule when only health changed (same ids, same
 * weights, same order), so an upstream flapping does not restart everyone's
 * turns; any change of membership or weight starts every current weight at
 * 0, since a removed member's credit or debt would otherwise skew the new
 * schedule.
 */
export class WeightedRoundRobin implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];
  /** Current weight of `candidates[i]`, kept beside them so `pick` allocates nothing. */
  private current = new Float64Array(0);
  /** What the schedule was built from: a health-only rebuild leaves it (and `current`) alone. */
  private ids: readonly string[] = [];
  private weights: readonly number[] = [];

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
    const sameSchedule =
      candidates.length === this.ids.length &&
      candidates.every((candidate, i) => candidate.id === this.ids[i] && candidate.weight === this.weights[i]);
    if (sameSchedule) return;
    this.ids = candidates.map((candidate) => candidate.id);
    this.weights = candidates.map((candidate) => candidate.weight);
    this.current = new Float64Array(candidates.length);
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    const { candidates, current, weights } = this;
    let total = 0;
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      if (!isUsable(candidates[i] as Candidate, exclude)) continue;
      const weight = weights[i] as number;
      const grown = (current[i] as number) + weight;
      current[i] = grown;
      total += weight;
      if (best === -1 || grown > (current[best] as number)) best = i;
    }
    if (best === -1) return undefined;
    current[best] = (current[best] as number) - total;
    return candidates[best];
  }
}
