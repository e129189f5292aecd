/** The store `--rate-limit-store` names: memory (the primary's actor) or Redis. One per process. */
import type { MailboxRouter } from '../actors/router.js';
import type { LimitingSettings } from '../protocol/index.js';
import { PrimaryStore } from './primary-store.js';
import { RedisStore } from './redis-store.js';
import type { RateLimitStore } from './store.js';

export function createRateLimitStore(limiting: LimitingSettings, router: MailboxRouter): RateLimitStore {
  if (limiting.store.kind === 'memory') return new PrimaryStore(router);
  return new RedisStore({ url: limiting.store.url, timeoutMs: limiting.storeTimeoutMs, failure: limiting.storeFailure }, router);
}
