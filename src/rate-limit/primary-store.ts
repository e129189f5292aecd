/**
 * The memory store without leases: every check sent to the rate limiter
 * actor in the primary (src/actors/rate-limiter.ts), which answers the
 * connection itself. What a pipeline built without a store uses (tests);
 * a running process has a LeasedStore (leased-store.ts).
 */
import type { MailboxRouter } from '../actors/router.js';
import { RATE_LIMITER, type Address, type BruteForcePolicy, type LimitCheck } from '../protocol/index.js';
import type { RateLimitStore } from './store.js';

export class PrimaryStore implements RateLimitStore {
  constructor(private readonly router: MailboxRouter) {}

  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): boolean {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId, checks, headersWhenAllowed, replyTo });
    return false;
  }

  loginFailed(key: string, policy: BruteForcePolicy): void {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.login-failed', key, policy });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
