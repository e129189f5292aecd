/**
 * The header passes, in the order a request crosses them:
 *
 *   client → [strip hop-by-hop, drop names with `_`] → [append x-forwarded-for, set x-forwarded-proto/-host] → upstream
 *   upstream → [strip hop-by-hop] → client      (a response filter: src/pipeline/response-headers.ts)
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the
 * message, so they never cross the proxy; neither do headers that the
 * `Connection` header names — except the ones the message cannot do without
 * (Host, Content-Length), which `Connection: host` must not strip. `Expect`
 * is answered by balancebeam itself (the listener and request-body.ts; undici
 * refuses to send it) and so is not forwarded either.
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** End-to-end fields a `Connection` header may not name away: routing (Host) and framing (Content-Length). */
const KEPT_WHATEVER_CONNECTION_SAYS = new Set(['host', 'content-length']);

/** Header names listed in `Connection`, lowercased. Null when there is none (the common case). */
function namedInConnection(connection: string | string[] | undefined): Set<string> | null {
  if (connection === undefined) return null;
  const value = Array.isArray(connection) ? connection.join(',') : connection;
  const names = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && !KEPT_WHATEVER_CONNECTION_SAYS.has(name)) names.add(name);
  }
  return names.size === 0 ? null : names;
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
 * the client's order, case and duplicates. Host is kept as the client sent it.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | undefined,
  clientIp: string,
  policy: RequestHeaderPolicy,
): string[] {
  const dropped = namedInConnection(connection);
  const out: string[] = [];
  let forwardedFor: string | null = null;
  let host: string | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped?.has(lower) === true) continue;
    if (!policy.allowUnderscoresInHeaders && lower.includes('_')) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue;
    if (lower === 'host') host = value;
    out.push(name, value);
  }
  out.push('x-forwarded-for', forwardedFor === null ? clientIp : `${forwardedFor}, ${clientIp}`);
  out.push('x-forwarded-proto', 'http');
  if (host !== null) out.push('x-forwarded-host', host);
  return out;
}

/** Upstream header bytes as undici hands them over, as strings (latin1: header bytes are not UTF-8). */
export function headerStrings(rawHeaders: readonly Buffer[]): string[] {
  const out = new Array<string>(rawHeaders.length);
  for (let i = 0; i < rawHeaders.length; i++) out[i] = (rawHeaders[i] as Buffer).toString('latin1');
  return out;
}

/**
 * Removes hop-by-hop fields from a flat `[name, value, ...]` list in place,
 * keeping the order and duplicates (Set-Cookie) of the rest. `dropLength`
 * removes Content-Length too: a 204 must not carry one (RFC 9110 §8.6), and
 * nginx drops it likewise.
 */
export function stripHopByHop(headers: string[], dropLength = false): void {
  let connection: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const value = headers[i + 1] as string;
      connection = connection === undefined ? value : `${connection},${value}`;
    }
  }
  const dropped = namedInConnection(connection);
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const lower = (headers[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped?.has(lower) === true) continue;
    if (dropLength && lower === 'content-length') continue;
    headers[kept++] = headers[i] as string;
    headers[kept++] = headers[i + 1] as string;
  }
  headers.length = kept;
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
