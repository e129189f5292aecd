/**
 * One stored response: its head as it will be replayed (hop-by-hop fields,
 * Age and the fields the policy keeps out already removed), its whole body,
 * and what freshness needs (timing, directives, lifetime). Written only by
 * the cache (store, 304 update), read by hits.
 */
import type { CacheDirectives } from './cache-control.js';
import type { ResponseTiming } from './freshness.js';

/**
 * The fixed cost of an entry beyond its bytes (the object, its timing and directives, the body's
 * ArrayBuffer, its slots in the store's Maps), counted in the budget: with it the budget's count matches
 * the heap measured by bench/cache-eviction.ts (about 1.2 kB per object beyond its body).
 */
export const ENTRY_OVERHEAD_BYTES = 800;

export class StoredResponse {
  /** A background revalidation (stale-while-revalidate) is under way: start no other. */
  revalidating = false;
  /** Bytes this entry counts against the budget. */
  size: number;

  constructor(
    /** Primary key (URL) + secondary key (Vary): the store's key. */
    readonly key: string,
    readonly primaryKey: string,
    public status: number,
    public headers: string[],
    readonly body: Buffer,
    public timing: ResponseTiming,
    public directives: CacheDirectives,
    /** Seconds (RFC 9111 §4.2.1). */
    public lifetime: number,
    public etag: string | null,
    public lastModified: string | null,
    /** The request fields its Vary lists (sorted, lower case). */
    readonly varyNames: readonly string[],
    /** Where it came from, for a background revalidation: Host, path and query, and the request's Vary'd fields. */
    readonly host: string,
    readonly path: string,
    readonly varyRequestHeaders: readonly string[],
  ) {
    this.size = this.measure();
  }

  measure(): number {
    let bytes = ENTRY_OVERHEAD_BYTES + this.body.length + this.key.length * 2;
    for (const field of this.headers) bytes += field.length + 16;
    return bytes;
  }
}
