import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

/**
 * The usable candidate with the fewest requests in flight for its weight.
 * The figure compared is the load it would carry once chosen,
 * `(inFlight + 1) / weight`, as HAProxy's `leastconn` computes it: with
 * plain `inFlight / weight` every idle upstream ties at 0 whatever its
 * weight, and a weight would count only once the traffic queues. Compared
 * by cross-multiplication, so no division and no rounding.
 *
 * Ties go round-robin the way nginx's `least_conn` breaks them: a smooth
 * weighted round-robin among the tied alone. Each tied candidate's credit
 * grows by its weight, the largest credit wins (the first in configuration
 * order on equal credit) and gives back the total; a candidate that is not
 * tied earns nothing. That memory is what matters with a slow upstream: it is
 * busy (so not tied) most of the time, and when it is idle again it has not
 * banked the turns it sat out, so it does not get the next tie at once. A
 * cursor that only remembers the last winner does hand it the next tie, and
 * in the deterministic simulation (bench/balancing/simulation.ts, open loop,
 * one upstream 10× slower) it then took 6.3 % of requests against nginx's
 * 5.6 %; with this rule the two are the same.
 *
 * The in-flight figures are this process's own (`load.ts`), read live.
 * Credits start at 0 on every rebuild, as nginx's do on a reload.
 */
export class LeastConnections implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];
  /** Tie-break credit of `candidates[i]`, kept beside them so `pick` allocates nothing. */
  private credit = new Float64Array(0);

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
    this.credit = new Float64Array(candidates.length);
  }

  pick(_key: string, exclude: readonly string[]): Candidate | undefined {
    const { candidates, credit } = this;
    let best = -1;
    let tied = false;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i] as Candidate;
      if (!isUsable(candidate, exclude)) continue;
      if (best === -1) {
        best = i;
        continue;
      }
      const order = compareLoad(candidate, candidates[best] as Candidate);
      if (order < 0) {
        best = i;
        tied = false;
      } else if (order === 0) tied = true;
    }
    if (best === -1) return undefined;
    if (tied) {
      // The smooth weighted round-robin among those tied with `best` (the first of them in order).
      const least = candidates[best] as Candidate;
      let total = 0;
      let winner = best;
      for (let i = best; i < candidates.length; i++) {
        const candidate = candidates[i] as Candidate;
        if (!isUsable(candidate, exclude) || compareLoad(candidate, least) !== 0) continue;
        credit[i] = (credit[i] as number) + candidate.weight;
        total += candidate.weight;
        if ((credit[i] as number) > (credit[winner] as number)) winner = i;
      }
      credit[winner] = (credit[winner] as number) - total;
      best = winner;
    }
    return candidates[best];
  }
}

/** Negative when `a` would carry less than `b` once chosen: `(a.inFlight + 1) / a.weight` against b's, cross-multiplied. */
function compareLoad(a: Candidate, b: Candidate): number {
  return (a.load.inFlight + 1) * b.weight - (b.load.inFlight + 1) * a.weight;
}
