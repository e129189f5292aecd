/**
 * Freshness (RFC 9111 §4.2): how long a stored response may be reused
 * without asking the origin, and how old it is now. Times in the arguments
 * are milliseconds since the epoch; lifetimes and ages are seconds, as the
 * headers count them. Every function takes "now" as an argument, so the unit
 * tests run on a clock of their own.
 */
import { ABSENT, type CacheDirectives } from './cache-control.js';

/** When a response was asked for and received, and what it said about its own age. */
export interface ResponseTiming {
  /** When the request that produced it was sent (ms). */
  readonly requestTime: number;
  /** When its head arrived (ms). */
  readonly responseTime: number;
  /** Its Date (ms); the response time when it had none or an invalid one (RFC 9110 §6.6.1). */
  readonly dateValue: number;
  /** Its Age header in seconds (0 without a valid one). */
  readonly ageValue: number;
}

/** Status codes a cache may give a heuristic lifetime to (RFC 9110 §15.1). */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** The share of (Date − Last-Modified) a heuristic lifetime gets (RFC 9111 §4.2.2's typical 10 %), and its cap. */
const HEURISTIC_FRACTION = 0.1;
const HEURISTIC_CAP_SECONDS = 86_400;

/** An Age value (RFC 9111 §5.1): delta-seconds; anything else is ignored (0). */
export function parseAge(value: string | undefined): number {
  if (value === undefined) return 0;
  const first = value.split(',')[0]?.trim() ?? '';
  return /^\d+$/.test(first) ? Math.min(Number(first), 2_147_483_648) : 0;
}

/** RFC 9111 §4.2.3: the age the response had when it arrived, corrected for the transit and for clocks. */
export function correctedInitialAge(timing: ResponseTiming): number {
  const apparentAge = Math.max(0, (timing.responseTime - timing.dateValue) / 1000);
  const responseDelay = (timing.responseTime - timing.requestTime) / 1000;
  const correctedAgeValue = timing.ageValue + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

/** RFC 9111 §4.2.3: its age now, in seconds (fractional). */
export function currentAge(timing: ResponseTiming, now: number): number {
  return correctedInitialAge(timing) + Math.max(0, (now - timing.responseTime) / 1000);
}

export interface LifetimeSources {
  readonly directives: CacheDirectives;
  /** The Expires field; undefined when absent, NaN when present but not a date (or ignored). */
  readonly expires: number | undefined;
  readonly dateValue: number;
  /** Last-Modified (ms), NaN when absent or invalid. */
  readonly lastModified: number;
  readonly status: number;
  /** Heuristic freshness is allowed (a setting, off by default). */
  readonly heuristic: boolean;
}

/** RFC 9111 §4.2.1: s-maxage, else max-age, else Expires − Date, else a heuristic (when allowed), else 0. */
export function freshnessLifetime(sources: LifetimeSources): number {
  const { directives } = sources;
  if (directives.sMaxAge !== ABSENT) return directives.sMaxAge;
  if (directives.maxAge !== ABSENT) return directives.maxAge;
  if (sources.expires !== undefined) {
    // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3). Judged against the response's
    // own Date, so the origin's clock and ours need not agree.
    if (Number.isNaN(sources.expires)) return 0;
    return Math.max(0, Math.floor((sources.expires - sources.dateValue) / 1000));
  }
  if (sources.heuristic && !Number.isNaN(sources.lastModified) && (HEURISTICALLY_CACHEABLE.has(sources.status) || directives.public)) {
    const since = (sources.dateValue - sources.lastModified) / 1000;
    if (since > 0) return Math.min(HEURISTIC_CAP_SECONDS, Math.floor(since * HEURISTIC_FRACTION));
  }
  return 0;
}

/** Whether the response carries freshness information of its own (RFC 9111 §3, "explicit expiration time"). */
export function hasExplicitExpiry(directives: CacheDirectives, expiresPresent: boolean): boolean {
  return directives.sMaxAge !== ABSENT || directives.maxAge !== ABSENT || expiresPresent;
}
