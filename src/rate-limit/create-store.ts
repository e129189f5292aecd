/**
 * The store `--rate-limit-store` names: memory (the primary's actor, with leases held in this process) or Redis. One per process.
 * The Redis store (and ioredis, about 23 MB of RSS once loaded) is imported only when it is configured.
 */
import type { MailboxRouter } from '../actors/router.js';
import type { LimitingSettings } from '../protocol/index.js';
import { LeasedStore } from './leased-store.js';
import type { RateLimitStore } from './store.js';

export async function createRateLimitStore(limiting: LimitingSettings, router: MailboxRouter): Promise<RateLimitStore> {
  if (limiting.store.kind === 'memory') return new LeasedStore(router);
  const { RedisStore } = await import('./redis-store.js');
  return new RedisStore({ url: limiting.store.url, timeoutMs: limiting.storeTimeoutMs, failure: limiting.storeFailure }, router);
}
