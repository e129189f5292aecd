import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

/** Each usable upstream in turn; a dead or excluded one is skipped, not given a double turn to its neighbour. */
export class RoundRobin implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];
  private next = 0;

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    const { candidates } = this;
    const count = candidates.length;
    for (let step = 0; step < count; step++) {
      const index = (this.next + step) % count;
      const candidate = candidates[index] as Candidate;
      if (isUsable(candidate, exclude)) {
        this.next = (index + 1) % count;
        return candidate;
      }
    }
    return undefined;
  }
}
