import type { Address } from './address.js';

/** May this client send one more request now? Counts the request if so. */
export interface RateLimitCheck {
  readonly type: 'rate-limit.check';
  readonly requestId: number;
  readonly clientIp: string;
  readonly replyTo: Address;
}

export interface RateLimitVerdict {
  readonly type: 'rate-limit.verdict';
  readonly requestId: number;
  readonly allowed: boolean;
  /** Whole seconds until a request would be allowed again; 0 when allowed. */
  readonly retryAfterSeconds: number;
}
