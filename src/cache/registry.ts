/**
 * The process's one cache across reloads: a reload rebuilds the pipeline, and
 * gets the same HttpCache back (what is stored survives) unless the cache
 * settings changed, when a new, empty one replaces it. It also answers the
 * admin API's purges (`cache.purge` at `<node>/cache`), which reach every
 * proxy node from the primary.
 */
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { cacheAddress, type CachePurge, type CacheSettings } from '../protocol/index.js';
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

  /** Removes every stored response; how many there were. */
  purgeAll(): number {
    const cache = this.current;
    if (cache === null) return 0;
    const removed = cache.store.count;
    cache.store.clear();
    return removed;
  }

  /** Registers `<node>/cache`: each `cache.purge` is done at once and answered with `cache.purged`. */
  answerPurges(router: MailboxRouter): void {
    router.register(localNameOf(cacheAddress(router.node)), {
      send: (message: CachePurge) => {
        if (message.type !== 'cache.purge') return;
        const removed = message.url === null ? this.purgeAll() : this.purge(message.url.host, message.url.target);
        router.send(message.replyTo, { type: 'cache.purged', requestId: message.requestId, node: router.node, removed, cacheOn: this.current !== null });
      },
    });
  }

  stopAnsweringPurges(router: MailboxRouter): void {
    router.unregister(cacheAddress(router.node));
  }
}
