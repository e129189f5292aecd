import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

/** A uniformly random usable upstream (the original balancebeam's choice). */
export class RandomChoice implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    const { candidates } = this;
    let usable = 0;
    for (const candidate of candidates) if (isUsable(candidate, exclude)) usable++;
    if (usable === 0) return undefined;
    let remaining = Math.floor(this.random() * usable);
    for (const candidate of candidates) {
      if (!isUsable(candidate, exclude)) continue;
      if (remaining === 0) return candidate;
      remaining--;
    }
    return undefined;
  }
}
