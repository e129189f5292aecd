/**
 * Purging the response cache from the admin API: the cache is per process,
 * so the primary asks every proxy node's `<node>/cache` mailbox and sums the
 * answers.
 */
import type { Address, NodeId } from './address.js';

/** Each proxy node's cache mailbox (it exists whether or not the cache is on). */
export const cacheAddress = (node: NodeId): Address => `${node}/cache`;

/** Remove the stored responses of one URL (every Vary variant), or of every URL when `url` is null. */
export interface CachePurge {
  readonly type: 'cache.purge';
  readonly requestId: number;
  /** The Host (lower-cased by the cache) and origin-form target (`/path?query`) of the URL; null: all. */
  readonly url: { readonly host: string; readonly target: string } | null;
  readonly replyTo: Address;
}

export interface CachePurged {
  readonly type: 'cache.purged';
  readonly requestId: number;
  readonly node: NodeId;
  /** Responses removed; 0 as well when the cache is off there (`cacheOn` false). */
  readonly removed: number;
  readonly cacheOn: boolean;
}
