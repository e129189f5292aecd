/**
 * Where rate-limit counts live, behind one interface with two
 * implementations: the primary's actor (`memory`, exact across one
 * instance's workers: primary-store.ts) and Redis (shared by many instances,
 * each worker talking to it directly: redis-store.ts). The pipeline's filter
 * does not know which it has.
 */
import type { Address, BruteForcePolicy, LimitCheck } from '../protocol/index.js';

export interface RateLimitStore {
  /**
   * Decide on one request's checks and count it if admitted. The verdict
   * reaches `replyTo` as a `request.verdict` for `requestId`, always (a store
   * that cannot decide in time answers as `--rate-limit-store-failure` says).
   */
  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): void;
  /** A failed login from `key`: counted, and over the threshold the key is locked out. */
  loginFailed(key: string, policy: BruteForcePolicy): void;
  close(): Promise<void>;
}
