/**
 * Per-client rate limiting as a request filter. The count lives in the
 * rate limiter actor (in the primary, so it is exact across workers): the
 * filter asks and says PENDING; the actor's `request.verdict` — pass, or 429
 * with Retry-After — reaches the connection's mailbox.
 */
import type { MailboxRouter } from '../actors/router.js';
import { RATE_LIMITER, type Address } from '../protocol/index.js';
import { PENDING, type Pending, type RequestFilter, type RequestView } from './filter.js';

export class RateLimitFilter implements RequestFilter {
  readonly name = 'rate-limit';

  constructor(private readonly router: MailboxRouter) {}

  check(request: RequestView, replyTo: Address): Pending {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId: request.id, clientIp: request.clientIp, replyTo });
    return PENDING;
  }
}
