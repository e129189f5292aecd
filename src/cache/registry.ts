/**
 * The process's one cache across reloads: a reload rebuilds the pipeline, and
 * gets the same HttpCache back (what is stored survives) unless the cache
 * settings changed, when a new, empty one replaces it.
 */
import type { CacheSettings } from '../protocol/index.js';
import { HttpCache, type UpstreamFetcher, type WakeWaiter } from './http-cache.js';

export class CacheRegistry {
  private current: HttpCache | null = null;

  constructor(
    private readonly wake: WakeWaiter,
    private readonly fetcher: UpstreamFetcher | null,
  ) {}

  /** The cache for these settings; null (and the old one dropped) when the cache is off. */
  forSettings(settings: CacheSettings | null): HttpCache | null {
    if (settings === null) {
      this.current = null;
      return null;
    }
    if (this.current === null || !this.current.sameSettings(settings)) this.current = new HttpCache(settings, this.wake, this.fetcher);
    return this.current;
  }

  /** The cache in use, if any (the admin API's purge goes through it). */
  get cache(): HttpCache | null {
    return this.current;
  }

  /** Removes a URL's stored responses (every Vary variant): an admin action, never a method on the proxy port. */
  purge(host: string, target: string): number {
    return this.current?.purge(host, target) ?? 0;
  }
}
