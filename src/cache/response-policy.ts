/**
 * What a response head says about caching it (RFC 9111 §3, §4.2, RFC 9213):
 * which directives rule it, how long it is fresh, and whether a shared cache
 * may store it at all. Pure functions of the head, the request and the
 * settings; `refusalToStore` names the rule that forbids storing, for tests
 * and the debug log.
 */
import { ABSENT, NO_DIRECTIVES, parseCacheControl, type CacheDirectives } from './cache-control.js';
import { freshnessLifetime, hasExplicitExpiry, HEURISTICALLY_CACHEABLE } from './freshness.js';
import { headerValue, hasHeader } from './header-list.js';
import { parseHttpDate } from './http-date.js';
import { varyFieldNames } from './vary.js';

/**
 * Targeted cache-control fields (RFC 9213), most specific first: one for
 * balancebeam alone, then the one every CDN-like cache reads. The first valid
 * one present rules, and Cache-Control and Expires are then ignored.
 */
export const TARGETED_FIELDS = ['balancebeam-cache-control', 'cdn-cache-control'] as const;

export type SetCookiePolicy = 'skip' | 'strip' | 'store';

export interface PolicySettings {
  readonly heuristicFreshness: boolean;
  readonly setCookie: SetCookiePolicy;
  readonly maxObjectBytes: number;
}

/** The directives that rule a response, and whether they came from a targeted field. */
export interface RulingDirectives {
  readonly directives: CacheDirectives;
  readonly targeted: boolean;
}

export function rulingDirectives(headers: readonly string[]): RulingDirectives {
  for (const name of TARGETED_FIELDS) {
    const value = headerValue(headers, name);
    if (value === undefined || value.trim() === '' || !isValidTargetedField(value)) continue;
    const directives = parseCacheControl(value);
    if (!directives.malformed) return { directives, targeted: true };
  }
  const cacheControl = headerValue(headers, 'cache-control');
  return { directives: cacheControl === undefined ? NO_DIRECTIVES : parseCacheControl(cacheControl), targeted: false };
}

/** One member of a Structured Field Dictionary (RFC 8941 §3.2): a key, an optional bare item, parameters. */
const SF_MEMBER =
  /^([a-z*][a-z0-9_\-.*]*)(?:=(-?\d{1,15}(?:\.\d{1,3})?|"(?:[ !#-[\]-~]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*|\?[01]|:[A-Za-z0-9+/=]*:))?((?:;[a-z*][a-z0-9_\-.*]*(?:=[^;]*)?)*)$/;
/** Directives whose value must be an Integer in a targeted field (RFC 9213 §2.1). */
const INTEGER_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);

/**
 * A targeted field is a Structured Field Dictionary (RFC 9213 §2.1): one that does not parse as one,
 * or gives a delta directive a value that is not an Integer, is ignored whole.
 */
export function isValidTargetedField(value: string): boolean {
  for (const raw of splitTopLevel(value)) {
    const member = raw.trim();
    const match = SF_MEMBER.exec(member);
    if (match === null) return false;
    if (INTEGER_DIRECTIVES.has(match[1] as string) && !/^\d+$/.test(match[2] ?? '')) return false;
  }
  return true;
}

/** Splits on commas outside quoted strings. */
function splitTopLevel(value: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (quoted) {
      if (char === '\\') i++;
      else if (char === '"') quoted = false;
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/** A stored response's lifetime in seconds, from its headers and its Date (ms). */
export function lifetimeOf(status: number, headers: readonly string[], ruling: RulingDirectives, dateValue: number, settings: PolicySettings): number {
  const expiresText = ruling.targeted ? undefined : headerValue(headers, 'expires');
  return freshnessLifetime({
    directives: ruling.directives,
    expires: expiresText === undefined ? undefined : parseHttpDate(expiresText),
    dateValue,
    lastModified: parseHttpDate(headerValue(headers, 'last-modified')),
    status,
    heuristic: settings.heuristicFreshness,
  });
}

/** Final statuses this cache understands (for must-understand, RFC 9111 §5.2.2.3). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

export interface StoreQuestion {
  readonly method: string;
  readonly status: number;
  readonly headers: readonly string[];
  readonly ruling: RulingDirectives;
  readonly requestDirectives: CacheDirectives;
  readonly requestHasAuthorization: boolean;
}

/** Why this response must not be stored, or null when it may be. */
export function refusalToStore(question: StoreQuestion, settings: PolicySettings): string | null {
  const { status, headers, ruling } = question;
  const { directives } = ruling;
  if (question.method !== 'GET') return 'method';
  if (status < 200) return 'interim';
  // A 206 is part of a response, a 304 an answer to a condition: never stored as a full response.
  if (status === 206 || status === 304) return 'status';
  const mustUnderstand = directives.mustUnderstand && UNDERSTOOD.has(status);
  if (directives.mustUnderstand && !mustUnderstand) return 'must-understand';
  if (directives.noStore && !mustUnderstand) return 'no-store';
  if (question.requestDirectives.noStore) return 'request no-store';
  if (directives.private) return 'private';
  if (question.requestHasAuthorization && !directives.public && directives.sMaxAge === ABSENT && !directives.mustRevalidate) {
    return 'authorization';
  }
  const vary = varyFieldNames(headerValue(headers, 'vary'));
  if (vary === null) return 'vary *';
  if (settings.setCookie === 'skip' && hasHeader(headers, 'set-cookie')) return 'set-cookie';
  const length = headerValue(headers, 'content-length');
  if (length !== undefined && Number(length) > settings.maxObjectBytes) return 'too large';
  const explicit = hasExplicitExpiry(directives, !ruling.targeted && hasHeader(headers, 'expires'));
  if (!explicit && !directives.public && !HEURISTICALLY_CACHEABLE.has(status)) return 'status';
  // Stored only where it can be reused: fresh for a while, or revalidated with a validator, or
  // served stale by permission.
  const reusable =
    explicit ||
    directives.public ||
    (settings.heuristicFreshness && hasHeader(headers, 'last-modified')) ||
    hasHeader(headers, 'etag') ||
    hasHeader(headers, 'last-modified');
  if (!reusable) return 'no freshness';
  return null;
}
