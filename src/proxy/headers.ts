/**
 * The header passes, in the order a request crosses them:
 *
 *   client → [strip hop-by-hop, drop names with `_`] → [append x-forwarded-for, set x-forwarded-proto/-host] → upstream
 *   upstream → [bytes to strings, strip hop-by-hop] → response filters → client
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the
 * message, so they never cross the proxy; neither do headers that the
 * `Connection` header names — except the ones the message cannot do without
 * (Host, Content-Length), which `Connection: host` must not strip. `Expect`
 * is answered by balancebeam itself (the listener and request-body.ts; undici
 * refuses to send it) and so is not forwarded either.
 *
 * Every pass works on flat `[name, value, ...]` lists, the form node:http
 * parses into (`req.rawHeaders`), undici sends and hands back, and
 * `res.writeHead` writes: order, case and duplicates (Set-Cookie) survive, and
 * no header object is built for a request nothing looks up. Names are matched
 * without lowercasing them (`isFieldName`: a length check first, then the
 * bytes), so a pass allocates only the list it returns.
 */

/** Whether the field name `name`, as sent, is `lower` (lower-case ASCII) in any case; no string is made. */
export function isFieldName(name: string, lower: string): boolean {
  const length = lower.length;
  if (name.length !== length) return false;
  if (name === lower) return true;
  for (let i = 0; i < length; i++) {
    const want = lower.charCodeAt(i);
    const got = name.charCodeAt(i);
    // A letter may come upper-case (0x20 below its lower case); anything else must be the same.
    if (got !== want && (want < 0x61 || want > 0x7a || got !== want - 0x20)) return false;
  }
  return true;
}

/** Hop-by-hop by name (RFC 9110 §7.6.1, and Expect, see above): only names of these lengths are compared at all. */
function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return isFieldName(name, 'te');
    case 6:
      return isFieldName(name, 'expect');
    case 7:
      return isFieldName(name, 'trailer') || isFieldName(name, 'upgrade');
    case 10:
      return isFieldName(name, 'connection') || isFieldName(name, 'keep-alive');
    case 16:
      return isFieldName(name, 'proxy-connection');
    case 17:
      return isFieldName(name, 'transfer-encoding');
    default:
      return false;
  }
}

/**
 * Adds the header names a `Connection` value lists to `into` (lowercased; made when the first is found) and
 * returns it. Its options `close` and `keep-alive` name nothing, nor may it name Host or Content-Length away.
 * The usual values (`keep-alive`, `close`) are recognised without splitting them.
 */
function addNamedInConnection(value: string, into: Set<string> | null): Set<string> | null {
  if (isFieldName(value, 'keep-alive') || isFieldName(value, 'close')) return into;
  let names = into;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive' || name === 'host' || name === 'content-length') continue;
    (names ??= new Set()).add(name);
  }
  return names;
}

/** The names every `Connection` field of a string list names (lowercased); null when there is none (the common case). */
function namedInConnection(headers: readonly string[]): Set<string> | null {
  let names: Set<string> | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    if (isFieldName(headers[i] as string, 'connection')) names = addNamedInConnection(headers[i + 1] as string, names);
  }
  return names;
}

/**
 * The value of field `lower` in a raw list as node:http's `req.headers` would give it: several fields of
 * the name joined with `, ` (right for the list-valued fields read off the raw list: Transfer-Encoding,
 * Expect, Connection, X-Forwarded-For, Forwarded; not for Cookie, Set-Cookie or the single-valued fields,
 * see `firstHeaderValue`). Undefined when absent.
 */
export function headerValue(rawHeaders: readonly string[], lower: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!isFieldName(rawHeaders[i] as string, lower)) continue;
    const one = rawHeaders[i + 1] as string;
    value = value === undefined ? one : `${value}, ${one}`;
  }
  return value;
}

/** The first value of field `lower` (node:http keeps the first of a single-valued field: Content-Length, Host). */
export function firstHeaderValue(rawHeaders: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (isFieldName(rawHeaders[i] as string, lower)) return rawHeaders[i + 1];
  }
  return undefined;
}

/** How many fields named `lower` a raw list has. */
export function headerCount(rawHeaders: readonly string[], lower: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (isFieldName(rawHeaders[i] as string, lower)) count++;
  return count;
}

export interface RequestHeaderPolicy {
  /**
   * Forward names with `_` (nginx `underscores_in_headers`). Off by default:
   * CGI, WSGI and PHP map `-` and `_` to the same variable, so
   * `X_Forwarded_For` would let a client spoof the address the proxy appends.
   */
  readonly allowUnderscoresInHeaders: boolean;
}

/**
 * Request headers for the upstream, as a flat `[name, value, ...]` list that keeps
 * the client's order, case and duplicates, built from the client's raw list in one
 * pass (plus a look at the names of length 10 for `Connection`). Host is kept as the client sent it.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], clientIp: string, policy: RequestHeaderPolicy): string[] {
  const dropped = namedInConnection(rawHeaders);
  const underscores = policy.allowUnderscoresInHeaders;
  const out: string[] = [];
  let forwardedFor: string | null = null;
  let host: string | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    if (isHopByHop(name) || (dropped !== null && dropped.has(name.toLowerCase()))) continue;
    if (!underscores && name.includes('_')) continue;
    switch (name.length) {
      case 4:
        if (isFieldName(name, 'host')) host = value;
        break;
      case 15:
        if (isFieldName(name, 'x-forwarded-for')) {
          forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
          continue;
        }
        break;
      case 16:
        if (isFieldName(name, 'x-forwarded-host')) continue;
        break;
      case 17:
        if (isFieldName(name, 'x-forwarded-proto')) continue;
        break;
    }
    out.push(name, value);
  }
  out.push('x-forwarded-for', forwardedFor === null ? clientIp : `${forwardedFor}, ${clientIp}`);
  out.push('x-forwarded-proto', 'http');
  if (host !== null) out.push('x-forwarded-host', host);
  return out;
}

/** Buffer's own latin1 decoder: `toString('latin1')` minus its argument handling (undici calls `utf8Slice` so too). */
interface Latin1Decoding {
  latin1Slice(start: number, end: number): string;
}

/**
 * Upstream header bytes as undici hands them over (`[name, value, ...]`), as
 * strings (latin1: header bytes are not UTF-8). One native call per field is
 * most of a response head's header cost; decoding the span of the socket read
 * once and cutting substrings was tried and is no faster, because reading each
 * view's `buffer` and `byteOffset` to check it costs as much (BENCHMARKS.md,
 * optimisation log).
 */
export function headerStrings(rawHeaders: readonly Buffer[]): string[] {
  const out = new Array<string>(rawHeaders.length);
  for (let i = 0; i < rawHeaders.length; i++) {
    const field = rawHeaders[i] as Buffer;
    out[i] = (field as unknown as Latin1Decoding).latin1Slice(0, field.length);
  }
  return out;
}

/**
 * Removes hop-by-hop fields from a flat `[name, value, ...]` list in place,
 * keeping the order and duplicates (Set-Cookie) of the rest. `dropLength`
 * removes Content-Length too: a 204 must not carry one (RFC 9110 §8.6), and
 * nginx drops it likewise. One pass; the names a `Connection` field lists
 * (rare: it says `keep-alive` or `close`) are removed after it.
 */
export function stripHopByHop(headers: string[], dropLength = false): void {
  let dropped: Set<string> | null = null;
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (isHopByHop(name)) {
      if (isFieldName(name, 'connection')) dropped = addNamedInConnection(value, dropped);
      continue;
    }
    if (dropLength && isFieldName(name, 'content-length')) continue;
    headers[kept++] = name;
    headers[kept++] = value;
  }
  headers.length = kept;
  if (dropped !== null) removeHeaders(headers, dropped);
}

/**
 * A filter's fields (`[name, value, ...]`, lower-case names) in place of the request's of the same names,
 * in place: a cache's revalidation sends its stored validators, not the client's.
 */
export function replaceHeaders(headers: string[], replacements: readonly string[]): void {
  const names = new Set<string>();
  for (let i = 0; i < replacements.length; i += 2) names.add(replacements[i] as string);
  removeHeaders(headers, names);
  for (const field of replacements) headers.push(field);
}

/** Removes every field of a flat [name, value, …] list whose lower-cased name is in `lowerNames`, in place. */
export function removeHeaders(headers: string[], lowerNames: ReadonlySet<string>): void {
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (lowerNames.has((headers[i] as string).toLowerCase())) continue;
    headers[kept++] = headers[i] as string;
    headers[kept++] = headers[i + 1] as string;
  }
  headers.length = kept;
}
