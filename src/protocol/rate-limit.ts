import type { Address } from './address.js';

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
