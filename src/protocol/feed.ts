/**
 * The visualizer's feed between processes: each process's batch of router
 * traffic, state counts and request figures, sent to the collector in the
 * primary every ~250 ms; and the collector's questions to a process's feed
 * agent (which actors are in a state, watch one actor in detail).
 */
import type { Address, NodeId } from './address.js';

/** The collector, in the primary. */
export const FEED_COLLECTOR: Address = 'p/feed';
/** Each process's agent, which answers the collector's questions. */
export const feedAgentAddress = (node: NodeId): Address => `${node}/feed-agent`;

/** One message the router carried: epoch ms, sender (inferred from the message), recipient, type. */
export type FeedMessage = readonly [time: number, from: string, to: string, type: string];

/** Latency buckets: bucket i holds samples up to `LATENCY_BUCKET_BASE_MS × LATENCY_BUCKET_GROWTH^i` ms. */
export const LATENCY_BUCKETS = 44;
export const LATENCY_BUCKET_BASE_MS = 0.05;
export const LATENCY_BUCKET_GROWTH = 1.4;

/** One upstream's requests finished in one process since its last batch. */
export interface UpstreamRequestFigures {
  readonly finished: number;
  /** Answered 5xx or failed without an answer. */
  readonly failed: number;
  /** Attempts under way at the moment of the batch. */
  readonly inFlight: number;
  /** Counts per latency bucket (head to end of response), LATENCY_BUCKETS long. */
  readonly latency: readonly number[];
}

/** Rate-limit decisions since the last batch (the primary's tap, or a worker's own tally): the busiest clients. */
export interface RateLimitFigures {
  readonly checks: number;
  readonly denials: number;
  /** `[client ip, checks, denials]`, busiest first, at most 10. */
  readonly top: readonly (readonly [client: string, checks: number, denials: number])[];
}

/**
 * One process's response cache since its last batch: lookups and fills as counts over the interval,
 * what it holds as of now (the cache is per process, so the instance's holdings are the sum).
 */
export interface CacheFigures {
  readonly hits: number;
  readonly misses: number;
  /** A stale response served (in place of a failure, or while revalidating). */
  readonly stale: number;
  readonly stored: number;
  readonly revalidated: number;
  readonly coalesced: number;
  readonly objects: number;
  readonly bytes: number;
}

/** One request the WAF flagged: what the page lists. Rule ids and matched parts, redacted as in the log line. */
export interface WafFlaggedRequest {
  readonly time: number;
  readonly node: NodeId;
  /** The id the 403 names (and the log line). */
  readonly requestId: string;
  readonly action: 'blocked' | 'detected';
  readonly score: number;
  readonly rules: readonly number[];
  readonly categories: readonly string[];
  /** `args:q: 1' UNION SELECT…` per match: the part's label and the redacted snippet (no secret is shown). */
  readonly parts: readonly string[];
}

/** One process's WAF since its last batch. */
export interface WafFigures {
  readonly inspected: number;
  readonly blocked: number;
  readonly detected: number;
  /** category → flagged requests with a match of it (non-zero ones only). */
  readonly byCategory: { readonly [category: string]: number };
  /** The flagged requests of the interval, oldest first, at most WAF_RECENT_KEPT. */
  readonly recent: readonly WafFlaggedRequest[];
}

/** Flagged requests a process keeps between batches (and the page lists) at most. */
export const WAF_RECENT_KEPT = 20;

export interface FeedBatch {
  readonly type: 'feed.batch';
  readonly node: NodeId;
  readonly time: number;
  readonly messages: readonly FeedMessage[];
  /** Router messages not recorded since the last batch: over the per-second cap. */
  readonly dropped: number;
  /** kind → state → live actors in this process (countActorStates). */
  readonly counts: { readonly [kind: string]: { readonly [state: string]: number } };
  readonly upstreams: { readonly [upstreamId: string]: UpstreamRequestFigures };
  /** The primary's (the memory store's checks cross its router), or a worker's that decides itself (Redis). */
  readonly rateLimit: RateLimitFigures | null;
  /** null: no cache in this process. */
  readonly cache: CacheFigures | null;
  /** null: no WAF counters in this process. */
  readonly waf: WafFigures | null;
  /** Health changes the primary's upstream actors published since the last batch. */
  readonly health: readonly UpstreamHealthPoint[];
}

export interface UpstreamHealthPoint {
  readonly time: number;
  readonly upstreamId: string;
  readonly healthy: boolean;
  readonly reason: string;
}

/** Which actors are in `state` (all states when null) of `kind`, in the process that gets it. */
export interface FeedListActors {
  readonly type: 'feed.list-actors';
  readonly requestId: number;
  readonly kind: string;
  readonly state: string | null;
  readonly limit: number;
  readonly replyTo: Address;
}

export interface FeedActorList {
  readonly type: 'feed.actor-list';
  readonly requestId: number;
  readonly node: NodeId;
  readonly actors: readonly { readonly actor: string; readonly kind: string; readonly state: string }[];
  /** How many matched in all, beyond `limit`. */
  readonly total: number;
}

/**
 * Start (or renew) detailed inspection of one actor for `leaseMs`, its records going to `replyTo`;
 * `leaseMs` 0 stops it. The lease ends it if the collector forgets to.
 */
export interface FeedWatch {
  readonly type: 'feed.watch';
  readonly actor: string;
  readonly leaseMs: number;
  readonly replyTo: Address;
}
