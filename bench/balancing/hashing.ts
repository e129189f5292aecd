/**
 * The hashing scenario, computed in this process with balancebeam's own
 * strategy (src/balancing/consistent-hash.ts): exact, and fast, since a pick
 * is what the proxy runs per request and nothing else decides placement.
 *
 * 10,000 keys over four equal upstreams; u4 is marked dead (the proxy does
 * that on a failed health check: `rebuild` with `healthy: false`), then
 * restored. Counted: keys moved in total, keys of the other upstreams moved
 * (the target: none), keys back on restore, balance max/min. And bounded
 * load: a skewed (Zipf) key stream with every request still in flight, so
 * each pick sees the load of the ones before; no upstream may go above the
 * bound `ceil(F × (in-flight + 1) / upstreams)`.
 */
import { createStrategy, LoadFigures, type Candidate } from '../../src/balancing/index.js';

export const KEY_COUNT = 10_000;
const UPSTREAMS = ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003', '127.0.0.1:9004'];
const REMOVED = '127.0.0.1:9004';
export const BALANCE_FACTOR = 1.25;

export interface HashingResult {
  keys: number;
  upstreams: number;
  /** Keys per upstream with all four healthy. */
  counts: number[];
  maxOverMin: number;
  /** On removal: keys that changed upstream, and of those, keys that were not on the removed one. */
  movedOnRemoval: number;
  otherMovedOnRemoval: number;
  removedOwned: number;
  /** On restore: keys back where they were before the removal. */
  backOnRestore: number;
  /** Bounded load: the largest in-flight count of one upstream and the bound it had to keep, with skewed keys. */
  bounded: { requests: number; distinctKeys: number; hottestKeyShare: number; maxInFlight: number; bound: number; unboundedMax: number };
}

interface MutableCandidate extends Candidate {
  healthy: boolean;
  readonly load: LoadFigures;
}

const candidatesOf = (): MutableCandidate[] => UPSTREAMS.map((id) => ({ id, weight: 1, healthy: true, load: new LoadFigures() }));

function assign(strategy: ReturnType<typeof createStrategy>, keys: readonly string[]): string[] {
  return keys.map((key) => strategy.pick(key, [])?.id ?? '');
}

/** Zipf(s = 1) over `distinct` keys from a fixed seed, so every run sees the same stream. */
function zipfKeys(count: number, distinct: number): string[] {
  const weights = Array.from({ length: distinct }, (_, rank) => 1 / (rank + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let sum = 0;
  for (const weight of weights) cumulative.push((sum += weight / total));
  let seed = 12345;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: count }, () => {
    const draw = random();
    const rank = cumulative.findIndex((edge) => draw <= edge);
    return `user-${rank === -1 ? distinct - 1 : rank}`;
  });
}

function boundedRun(keys: readonly string[], factor: number): number {
  const candidates = candidatesOf();
  const strategy = createStrategy('consistent-hash', { hashing: { balanceFactor: factor, fallback: 'round-robin' } });
  strategy.rebuild(candidates);
  for (const key of keys) {
    const chosen = strategy.pick(key, []) as MutableCandidate | undefined;
    chosen?.load.attemptStarted(); // still in flight: the next pick sees it
  }
  return Math.max(...candidates.map((candidate) => candidate.load.inFlight));
}

export function measureHashing(): HashingResult {
  const keys = Array.from({ length: KEY_COUNT }, (_, index) => `key-${index}`);
  const candidates = candidatesOf();
  const strategy = createStrategy('consistent-hash', { hashing: { balanceFactor: 0, fallback: 'round-robin' } });
  strategy.rebuild(candidates);
  const before = assign(strategy, keys);

  const removed = candidates.find((candidate) => candidate.id === REMOVED) as MutableCandidate;
  removed.healthy = false;
  strategy.rebuild([...candidates]);
  const during = assign(strategy, keys);

  removed.healthy = true;
  strategy.rebuild([...candidates]);
  const after = assign(strategy, keys);

  const counts = UPSTREAMS.map((id) => before.filter((owner) => owner === id).length);
  let movedOnRemoval = 0;
  let otherMovedOnRemoval = 0;
  let backOnRestore = 0;
  for (let index = 0; index < keys.length; index++) {
    if (during[index] !== before[index]) {
      movedOnRemoval++;
      if (before[index] !== REMOVED) otherMovedOnRemoval++;
    }
    if (after[index] === before[index]) backOnRestore++;
  }

  const skewed = zipfKeys(KEY_COUNT, 1000);
  const hottest = skewed.filter((key) => key === 'user-0').length;
  return {
    keys: keys.length,
    upstreams: UPSTREAMS.length,
    counts,
    maxOverMin: Math.max(...counts) / Math.min(...counts),
    movedOnRemoval,
    otherMovedOnRemoval,
    removedOwned: counts[UPSTREAMS.indexOf(REMOVED)] ?? 0,
    backOnRestore,
    bounded: {
      requests: skewed.length,
      distinctKeys: 1000,
      hottestKeyShare: hottest / skewed.length,
      maxInFlight: boundedRun(skewed, BALANCE_FACTOR),
      bound: Math.ceil((BALANCE_FACTOR * skewed.length) / UPSTREAMS.length),
      unboundedMax: boundedRun(skewed, 0),
    },
  };
}
