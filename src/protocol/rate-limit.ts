import type { Address } from './address.js';

/**
 * May this client send one more request now? Counts the request if so. The
 * rate limiter answers with a `request.verdict` (src/protocol/request.ts):
 * pass, or a 429 answer with `retry-after`.
 */
export interface RateLimitCheck {
  readonly type: 'rate-limit.check';
  readonly requestId: number;
  readonly clientIp: string;
  readonly replyTo: Address;
}
