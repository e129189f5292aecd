/**
 * Where rate-limit counts live, behind one interface with two
 * implementations: the primary's actor with leases of quota to each process
 * (`memory`, exact across one instance's workers: leased-store.ts) and Redis
 * (shared by many instances, each worker talking to it directly:
 * redis-store.ts). The pipeline's filter does not know which it has.
 */
import type { MetricSource } from '../metrics/families.js';
import type { Address, BruteForcePolicy, LimitCheck } from '../protocol/index.js';
import type { LocalDecisionTally } from './local-tally.js';

export interface RateLimitStore {
  /**
   * Decide on one request's checks and count it if admitted. True: admitted
   * here and now, nothing more will come. False: the verdict reaches
   * `replyTo` as a `request.verdict` for `requestId`, always (a store that
   * cannot decide in time answers as `--rate-limit-store-failure` says).
   */
  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): boolean;
  /** A failed login from `key`: counted, and over the threshold the key is locked out. */
  loginFailed(key: string, policy: BruteForcePolicy): void;
  close(): Promise<void>;
  /** The decisions this process made itself, for /metrics; absent when it makes none worth counting apart. */
  readonly metrics?: MetricSource;
  /** The visualizer's per-client tally of the decisions made here (drained by the feed); null until asked for. */
  localFigures?(): LocalDecisionTally;
}
