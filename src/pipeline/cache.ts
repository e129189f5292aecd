/**
 * The response cache in the pipeline (src/cache/http-cache.ts decides):
 *
 *   request filter   cache-wait     a GET for a URL being filled waits for it (PENDING; coalescing)
 *   request filter   cache-lookup   a usable stored response is served (a LocalResponse); a stale one
 *                                   is revalidated (validators sent upstream in the client's place)
 *   response filter  cache-store    stores (a tap copies the body as it streams), 304 → stored 200,
 *                                   5xx → stale where allowed, unsafe methods invalidate
 *   finished hook    cache-release  a request that led a fill and ended without a response frees it
 *
 * Above upstream selection: one stored copy per URL, whichever upstream served it. With the cache
 * off none of these is in the list.
 */
import { CacheNote, type HttpCache } from '../cache/http-cache.js';
import type { Address } from '../protocol/index.js';
import { PENDING, type FinishedHook, type LocalResponse, type Pending, type RequestFilter, type RequestView, type ResponseFilter, type ResponseHead, type ResponseTap } from './filter.js';

export class CacheWaitFilter implements RequestFilter {
  readonly name = 'cache-wait';

  constructor(private readonly cache: HttpCache) {}

  check(request: RequestView, replyTo: Address): Pending | null {
    return this.cache.waitForFill(request, replyTo) ? PENDING : null;
  }
}

export class CacheLookupFilter implements RequestFilter {
  readonly name = 'cache-lookup';

  constructor(private readonly cache: HttpCache) {}

  check(request: RequestView): LocalResponse | null {
    return this.cache.lookup(request);
  }
}

export class CacheStoreFilter implements ResponseFilter {
  readonly name = 'cache-store';

  constructor(private readonly cache: HttpCache) {}

  onHead(request: RequestView, head: ResponseHead): ResponseTap | null {
    const note = request.filterNote;
    return note instanceof CacheNote ? this.cache.onResponseHead(note, head) : null;
  }
}

export class CacheReleaseHook implements FinishedHook {
  readonly name = 'cache-release';

  constructor(private readonly cache: HttpCache) {}

  finished(request: RequestView): void {
    const note = request.filterNote;
    if (note instanceof CacheNote) this.cache.requestFinished(note);
  }
}
