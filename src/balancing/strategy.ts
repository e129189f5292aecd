/**
 * Choosing an upstream. The balancer actor owns the candidates of its process
 * and calls `rebuild` whenever membership, a weight or a health changes; a
 * connection actor calls `pick` per attempt, synchronously.
 *
 * A strategy keeps its own state (a cursor, a hash table, a random source) and
 * may precompute whatever it likes in `rebuild`; `pick` must not allocate.
 */
import type { BalanceAlgorithm } from '../protocol/index.js';
import type { UpstreamLoad } from './load.js';

/** One upstream as a strategy sees it. The same object for the same id across rebuilds. */
export interface Candidate {
  readonly id: string;
  /**
   * Relative share (`--upstream HOST:PORT,weight=3`), a positive integer; only
   * ratios count. Under `--slow-start` it reads ×10, a ramping upstream less.
   */
  readonly weight: number;
  /** Written by the balancer actor before it calls `rebuild`; true for every candidate in panic mode. */
  readonly healthy: boolean;
  /** Written by the byte path as attempts start and end; read live at each pick. */
  readonly load: UpstreamLoad;
}

export interface SelectionStrategy {
  /** True when `pick` reads its key: otherwise the key is never computed and `''` is passed. */
  readonly usesKey: boolean;
  /**
   * Membership, a weight or a health changed. `candidates` is a fresh array
   * in configuration order, every member listed, healthy or not; the strategy
   * may keep it.
   */
  rebuild(candidates: readonly Candidate[]): void;
  /**
   * A healthy candidate whose id is not in `exclude` (the upstreams this
   * request already tried, usually none), or undefined when there is none.
   * `exclude` rather than an accept callback: a closure per request would be
   * an allocation on the hottest path.
   */
  pick(key: string, exclude: readonly string[]): Candidate | undefined;
}

export type { BalanceAlgorithm };
export const BALANCE_ALGORITHMS: readonly BalanceAlgorithm[] = [
  'round-robin',
  'random',
  'weighted-round-robin',
  'least-connections',
  'p2c',
  'peak-ewma',
  'consistent-hash',
];

/** What `consistent-hash` may fall back to for a request without the key: any other algorithm. */
export const HASH_FALLBACK_ALGORITHMS = BALANCE_ALGORITHMS.filter(
  (algorithm): algorithm is Exclude<BalanceAlgorithm, 'consistent-hash'> => algorithm !== 'consistent-hash',
);

export function isUsable(candidate: Candidate, exclude: readonly string[]): boolean {
  return candidate.healthy && (exclude.length === 0 || !exclude.includes(candidate.id));
}
