import type { Address, NodeId } from './address.js';

/** How requests are counted (src/rate-limit/limit-math.ts in memory, src/rate-limit/redis-script.ts in Redis). */
export type RateLimitAlgorithm = 'fixed-window' | 'sliding-window' | 'gcra';

/** One limit: plain data, since a check carries it to the store (the primary's actor, or Redis). */
export interface RateLimitSettings {
  readonly algorithm: RateLimitAlgorithm;
  /** Requests admitted per window (gcra: the rate is limit / window). */
  readonly limit: number;
  readonly windowMs: number;
  /** gcra only: requests admitted at once from idle; 0 means `limit`. */
  readonly burst?: number;
}

/**
 * One thing to check for a request: a limit on a key (`rule` names the rule,
 * and with `key` names the counter), or, for `lockout`, whether the key is
 * locked out by brute-force protection. A request is admitted only if every
 * check of it admits; only then is it counted, against each.
 */
export interface LimitCheck {
  readonly rule: string;
  readonly key: string;
  /** null: a brute-force lock-out check (nothing counted). */
  readonly limit: RateLimitSettings | null;
}

/**
 * May this request go on? Counts it if so. The store answers with a
 * `request.verdict` (src/protocol/request.ts): pass, or a 429 answer with
 * `retry-after` and the RateLimit fields.
 */
export interface RateLimitCheck {
  readonly type: 'rate-limit.check';
  readonly requestId: number;
  readonly checks: readonly LimitCheck[];
  /** Put the RateLimit fields on an admitted request's response too (`--rate-limit-headers`). */
  readonly headersWhenAllowed: boolean;
  readonly replyTo: Address;
  /**
   * The asking process's lease holder: if the request is admitted, lease it
   * permits for each of these limits too (`rate-limit.lease-granted`), so its
   * next requests are decided there without asking. Absent: no lease wanted.
   */
  readonly leaseFor?: Address;
}

/**
 * Leases of quota (the memory store with several processes, see
 * src/rate-limit/lease-book.ts): the rate limiter in the primary counts a
 * lease's permits as admitted when it grants them, so a client never gets
 * more than its limit across processes; the lease holder spends them
 * locally, one per request, and reports how many it did not spend.
 */
export interface LeaseWanted {
  readonly type: 'rate-limit.lease-wanted';
  /** One per limit wanted (none is decided or counted by this message itself). */
  readonly checks: readonly LimitCheck[];
  readonly leaseFor: Address;
}

/** One limit's lease: `permits` admissions of `key` under `rule`'s `limit`, or 0 when the limiter grants none now. */
export interface LeaseGrant {
  readonly id: number;
  readonly rule: string;
  readonly key: string;
  readonly limit: RateLimitSettings;
  readonly permits: number;
  /** From the moment it was granted: the holder stops spending it after this (the end of a window at most). */
  readonly validMs: number;
  /** Requests left to the client once every permit of this lease is spent (RateLimit's r). */
  readonly remaining: number;
  /** Until the quota is whole again, as of the grant (RateLimit's t). */
  readonly resetMs: number;
}

/** The answer to `leaseFor` / `rate-limit.lease-wanted`, to the holder (never to a connection). */
export interface LeaseGranted {
  readonly type: 'rate-limit.lease-granted';
  readonly leases: readonly LeaseGrant[];
}

/** A lease is over (spent, expired, or its holder closing): the permits not spent go back to the limit. */
export interface LeaseEnded {
  readonly type: 'rate-limit.lease-ended';
  readonly id: number;
  readonly unused: number;
}

/**
 * The limiter is about to refuse a request while these leases of its
 * limits are out: the holder ends each it still has (`rate-limit.lease-ended`
 * with what is unspent), and the request is decided again once all are in,
 * so a client is not refused while its quota sits unspent elsewhere.
 */
export interface LeaseRecall {
  readonly type: 'rate-limit.lease-recall';
  readonly ids: readonly number[];
}

/**
 * A worker process exited (from the cluster primary): its leases are
 * forgotten, their permits counted as spent, since it may have spent any
 * of them before it died.
 */
export interface LeaseHolderGone {
  readonly type: 'rate-limit.holder-gone';
  readonly node: NodeId;
}

/** Brute-force protection's counting: failures per key in a window, a lock-out that doubles on repeat. */
export interface BruteForcePolicy {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
  /** The doubling stops here. */
  readonly maxLockoutMs: number;
}

/** A login attempt failed (the upstream answered a failure status or header); no reply. */
export interface LoginFailed {
  readonly type: 'rate-limit.login-failed';
  readonly key: string;
  readonly policy: BruteForcePolicy;
}

/** Where the counts live: the primary's actor (one instance), or a Redis shared by many instances. */
export type RateLimitStoreSettings = { readonly kind: 'memory' } | { readonly kind: 'redis'; readonly url: string };

/** What a worker does when Redis cannot decide in time: admit, limit on its own, or answer 503. */
export type StoreFailureMode = 'open' | 'local' | 'closed';

/** What a rule counts by: the client IP (IPv6 grouped by prefix), or a request header's value. */
export type RuleKey = { readonly from: 'client-ip' } | { readonly from: 'header'; readonly name: string };

/** A rule of the config file's `rate-limit-rules`: its own limit, for the requests it matches. */
export interface RateLimitRule {
  readonly name: string;
  readonly limit: RateLimitSettings;
  /** Only requests whose path starts with this; null: all. */
  readonly pathPrefix: string | null;
  /** Only requests that carry this header (lower-cased); null: all. */
  readonly header: string | null;
  readonly key: RuleKey;
}

/** Credential brute-force protection (issue 13): failed logins per client on the login paths. */
export interface BruteForceSettings {
  /** Path prefixes of the login endpoints. */
  readonly paths: readonly string[];
  /** An upstream answer with one of these statuses is a failed login. */
  readonly failureStatuses: readonly number[];
  /** Or: an upstream answer carrying this header (lower-cased); null: none. */
  readonly failureHeader: string | null;
  readonly policy: BruteForcePolicy;
}

/** Everything about limiting beyond the default limit (`Config.rateLimit`). */
export interface LimitingSettings {
  readonly rules: readonly RateLimitRule[];
  readonly store: RateLimitStoreSettings;
  readonly storeTimeoutMs: number;
  readonly storeFailure: StoreFailureMode;
  /** IPv6 clients are counted by this prefix (a host owns a whole /64). */
  readonly ipv6Prefix: number;
  readonly headersWhenAllowed: boolean;
  readonly bruteForce: BruteForceSettings | null;
}
