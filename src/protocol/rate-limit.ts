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

/** Plain-data settings of the rate limiter (src/rate-limit/window-counter.ts does the arithmetic). */
export interface RateLimitSettings {
  readonly algorithm: 'fixed-window' | 'sliding-window';
  /** Requests admitted per window. */
  readonly limit: number;
  readonly windowMs: number;
}

/** A config reload changed the limit: null turns limiting off (every check then passes). */
export interface RateLimitReconfigure {
  readonly type: 'rate-limit.reconfigure';
  readonly policy: RateLimitSettings | null;
}
