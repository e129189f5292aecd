/**
 * Cache-Control (RFC 9111 §5.2) and its targeted variants (CDN-Cache-Control,
 * RFC 9213) read into one record of directives, by the field's grammar:
 *
 *   Cache-Control   = #cache-directive
 *   cache-directive = token [ "=" ( token / quoted-string ) ]
 *
 * One pass over the characters, no regular expression, no split: names are
 * case-insensitive, a value may be quoted (with `\` escapes, and commas
 * inside), several field lines are one list. Unknown directives are ignored
 * (§5.2.3), not taken for no-cache. Where the RFC leaves a choice the
 * conservative one is taken: a duplicated max-age or s-maxage keeps the
 * smallest value (§4.2.1: "the first ... or consider it stale"), and an
 * invalid delta-seconds makes max-age/s-maxage 0 (stale) but a
 * stale-while-revalidate/stale-if-error absent (no stale serving).
 *
 * Why not undici's parseCacheControlHeader or http-cache-semantics' parser:
 * undici's is internal (lib/util/cache.js, not exported); http-cache-semantics
 * ignores upper-case names (`MAX-AGE=60`), lets the last duplicate win and
 * reads `max-age=10a` as 10 (test/unit/cache-control.test.ts shows each).
 */

/** `-1`: the directive is absent. */
export const ABSENT = -1;
/** RFC 9111 §1.2.2: delta-seconds beyond what can be represented count as 2^31. */
const MAX_DELTA_SECONDS = 2_147_483_648;

export interface CacheDirectives {
  maxAge: number;
  sMaxAge: number;
  staleWhileRevalidate: number;
  staleIfError: number;
  /** Request only. */
  minFresh: number;
  /** Request only: seconds of staleness accepted; Infinity for `max-stale` without a value. */
  maxStale: number;
  noStore: boolean;
  noCache: boolean;
  /** Unqualified `private`: a shared cache must not store the response. */
  private: boolean;
  /** `private="a, b"`: the response may be stored without these fields (lower case). */
  privateFields: string[] | null;
  public: boolean;
  mustRevalidate: boolean;
  proxyRevalidate: boolean;
  mustUnderstand: boolean;
  immutable: boolean;
  onlyIfCached: boolean;
  /** Some part did not follow the grammar (a targeted field is then ignored whole, RFC 9213 §2.1). */
  malformed: boolean;
}

export function emptyDirectives(): CacheDirectives {
  return {
    maxAge: ABSENT,
    sMaxAge: ABSENT,
    staleWhileRevalidate: ABSENT,
    staleIfError: ABSENT,
    minFresh: ABSENT,
    maxStale: ABSENT,
    noStore: false,
    noCache: false,
    private: false,
    privateFields: null,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    mustUnderstand: false,
    immutable: false,
    onlyIfCached: false,
    malformed: false,
  };
}

/** What a request without Cache-Control asks for: nothing. Shared, never written. */
export const NO_DIRECTIVES: Readonly<CacheDirectives> = Object.freeze(emptyDirectives());

/** RFC 9110 §5.6.2 tchar. */
function isTokenChar(code: number): boolean {
  if (code >= 0x30 && code <= 0x39) return true; // 0-9
  if (code >= 0x41 && code <= 0x5a) return true; // A-Z
  if (code >= 0x61 && code <= 0x7a) return true; // a-z
  // ! # $ % & ' * + - . ^ _ ` | ~
  return code === 0x21 || (code >= 0x23 && code <= 0x27) || code === 0x2a || code === 0x2b || code === 0x2d || code === 0x2e || code === 0x5e || code === 0x5f || code === 0x60 || code === 0x7c || code === 0x7e;
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** A delta-seconds value: digits only; NaN when it is not one. */
function deltaSeconds(value: string | null): number {
  if (value === null || value.length === 0) return Number.NaN;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return Number.NaN;
  }
  return Math.min(Number(value), MAX_DELTA_SECONDS);
}

/** A duplicated delta keeps the smaller value (the conservative reading of §4.2.1). */
function keepSmaller(previous: number, next: number): number {
  return previous === ABSENT ? next : Math.min(previous, next);
}

function fieldNames(value: string): string[] {
  const names: string[] = [];
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') names.push(name);
  }
  return names;
}

function apply(directives: CacheDirectives, name: string, value: string | null): void {
  switch (name) {
    case 'max-age': {
      const seconds = deltaSeconds(value);
      directives.maxAge = keepSmaller(directives.maxAge, Number.isNaN(seconds) ? 0 : seconds);
      return;
    }
    case 's-maxage': {
      const seconds = deltaSeconds(value);
      directives.sMaxAge = keepSmaller(directives.sMaxAge, Number.isNaN(seconds) ? 0 : seconds);
      return;
    }
    case 'stale-while-revalidate': {
      const seconds = deltaSeconds(value);
      if (!Number.isNaN(seconds)) directives.staleWhileRevalidate = keepSmaller(directives.staleWhileRevalidate, seconds);
      return;
    }
    case 'stale-if-error': {
      const seconds = deltaSeconds(value);
      if (!Number.isNaN(seconds)) directives.staleIfError = keepSmaller(directives.staleIfError, seconds);
      return;
    }
    case 'min-fresh': {
      const seconds = deltaSeconds(value);
      if (!Number.isNaN(seconds)) directives.minFresh = Math.max(directives.minFresh, seconds);
      return;
    }
    case 'max-stale': {
      if (value === null) {
        directives.maxStale = Number.POSITIVE_INFINITY;
        return;
      }
      const seconds = deltaSeconds(value);
      if (!Number.isNaN(seconds)) directives.maxStale = keepSmaller(directives.maxStale, seconds);
      return;
    }
    // The qualified no-cache="field" is handled as the unqualified one, as RFC 9111 §5.2.2.4 notes
    // most caches do: every reuse is revalidated.
    case 'no-cache':
      directives.noCache = true;
      return;
    case 'private':
      if (value === null || value.trim() === '') directives.private = true;
      else directives.privateFields = [...(directives.privateFields ?? []), ...fieldNames(value)];
      return;
    // Directives without arguments: an argument given anyway is ignored, the directive kept (the
    // restrictive reading for no-store; harmless for the rest).
    case 'no-store':
      directives.noStore = true;
      return;
    case 'public':
      directives.public = true;
      return;
    case 'must-revalidate':
      directives.mustRevalidate = true;
      return;
    case 'proxy-revalidate':
      directives.proxyRevalidate = true;
      return;
    case 'must-understand':
      directives.mustUnderstand = true;
      return;
    case 'immutable':
      directives.immutable = true;
      return;
    case 'only-if-cached':
      directives.onlyIfCached = true;
      return;
    default:
      // RFC 9111 §5.2.3: unknown directives are ignored.
      return;
  }
}

/**
 * Parses a Cache-Control value (several field lines joined with `,` or given
 * as an array). A malformed member (no name, junk after a value, an open
 * quote) is skipped up to the next top-level comma and flags `malformed`.
 */
export function parseCacheControl(field: string | readonly string[] | undefined): CacheDirectives {
  if (field === undefined) return emptyDirectives();
  const text = typeof field === 'string' ? field : field.join(',');
  const directives = emptyDirectives();
  const length = text.length;
  let i = 0;
  while (i < length) {
    // Skip separators and whitespace before a member.
    let code = text.charCodeAt(i);
    if (code === 0x2c || isWhitespace(code)) {
      i++;
      continue;
    }
    const nameStart = i;
    while (i < length && isTokenChar(text.charCodeAt(i))) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    let value: string | null = null;
    let bad = name.length === 0;
    if (!bad && i < length && text.charCodeAt(i) === 0x3d /* = */) {
      i++;
      if (i < length && text.charCodeAt(i) === 0x22 /* " */) {
        i++;
        let unquoted = '';
        let closed = false;
        while (i < length) {
          code = text.charCodeAt(i);
          if (code === 0x5c /* \ */ && i + 1 < length) {
            unquoted += text[i + 1];
            i += 2;
            continue;
          }
          i++;
          if (code === 0x22) {
            closed = true;
            break;
          }
          unquoted += text[i - 1];
        }
        if (closed) value = unquoted;
        else bad = true;
      } else {
        const valueStart = i;
        while (i < length && isTokenChar(text.charCodeAt(i))) i++;
        value = text.slice(valueStart, i);
        if (value.length === 0) bad = true;
      }
    }
    // Only whitespace may separate a member from the next comma.
    while (i < length && isWhitespace(text.charCodeAt(i))) i++;
    if (i < length && text.charCodeAt(i) !== 0x2c) {
      bad = true;
      i = skipToNextMember(text, i);
    }
    if (bad) {
      directives.malformed = true;
      // The restrictive reading of a broken member that names a restriction: `max-age=` is stale,
      // `no-store="x` still forbids storing.
      if (name === 'max-age' || name === 's-maxage') apply(directives, name, '');
      else if (name === 'no-store' || name === 'no-cache' || name === 'private') apply(directives, name, null);
      continue;
    }
    apply(directives, name, value);
  }
  return directives;
}

/** The index after the next comma that is not inside a quoted string. */
function skipToNextMember(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (quoted) {
      if (code === 0x5c) i++;
      else if (code === 0x22) quoted = false;
    } else if (code === 0x22) {
      quoted = true;
    } else if (code === 0x2c) {
      return i + 1;
    }
  }
  return text.length;
}
