/**
 * The memory store: the rate limiter actor in the primary
 * (src/actors/rate-limiter.ts), reached through the router (over IPC from a
 * worker, in process with `--workers 1`). It answers the connection itself.
 */
import type { MailboxRouter } from '../actors/router.js';
import { RATE_LIMITER, type Address, type BruteForcePolicy, type LimitCheck } from '../protocol/index.js';
import type { RateLimitStore } from './store.js';

export class PrimaryStore implements RateLimitStore {
  constructor(private readonly router: MailboxRouter) {}

  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): void {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId, checks, headersWhenAllowed, replyTo });
  }

  loginFailed(key: string, policy: BruteForcePolicy): void {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.login-failed', key, policy });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
