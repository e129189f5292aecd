/**
 * The power of two choices, shared by `p2c` and `peak-ewma`: draw two
 * distinct usable candidates uniformly at random and keep the less loaded;
 * what "loaded" means is the strategy's.
 *
 * Distinct: Envoy draws with repetition, so with two upstreams it compares
 * one with itself a quarter of the time and sends a request to the busier
 * one; here the second draw is over the others only. No allocation: one walk
 * counts the usable candidates, a second finds the two drawn ordinals.
 */
import { isUsable, type Candidate } from './strategy.js';

/** How a strategy compares two candidates. A method on the strategy itself, so no closure per pick. */
export interface LoadOrder {
  /** True when `a` is strictly less loaded than `b`. */
  lighter(a: Candidate, b: Candidate): boolean;
}

/**
 * The lighter of two distinct usable candidates drawn at random; on a tie
 * the first drawn (itself a uniform choice of the two, so ties split evenly
 * without a third draw). One usable candidate: that one, with no draw.
 */
export function pickOfTwo(
  candidates: readonly Candidate[],
  exclude: readonly string[],
  random: () => number,
  order: LoadOrder,
): Candidate | undefined {
  let usable = 0;
  for (const candidate of candidates) if (isUsable(candidate, exclude)) usable++;
  if (usable === 0) return undefined;

  let firstOrdinal = 0;
  let secondOrdinal = -1;
  if (usable > 1) {
    firstOrdinal = Math.floor(random() * usable);
    // A uniform ordinal among the usable - 1 others: skip over the first.
    secondOrdinal = Math.floor(random() * (usable - 1));
    if (secondOrdinal >= firstOrdinal) secondOrdinal++;
  }

  let first: Candidate | undefined;
  let second: Candidate | undefined;
  let ordinal = 0;
  for (const candidate of candidates) {
    if (!isUsable(candidate, exclude)) continue;
    if (ordinal === firstOrdinal) first = candidate;
    else if (ordinal === secondOrdinal) second = candidate;
    ordinal++;
  }
  if (first === undefined) return undefined;
  if (second === undefined) return first;
  return order.lighter(second, first) ? second : first;
}
