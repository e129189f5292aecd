/**
 * The header passes, in the order a request crosses them:
 *
 *   client → [strip hop-by-hop] → [append x-forwarded-for, set x-forwarded-proto/-host] → upstream
 *   upstream → [strip hop-by-hop] → client
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the
 * message, so they never cross the proxy; neither do headers that the
 * `Connection` header names. `Expect` is answered by balancebeam itself
 * (the listener and request-body.ts; undici refuses to send it) and so is not
 * forwarded either.
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

/** Header names listed in `Connection`, lowercased. Empty when there is none (the common case). */
function namedInConnection(connection: string | string[] | undefined): Set<string> | null {
  if (connection === undefined) return null;
  const value = Array.isArray(connection) ? connection.join(',') : connection;
  const names = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') names.add(name);
  }
  return names.size === 0 ? null : names;
}

/**
 * Request headers for the upstream, as a flat `[name, value, ...]` list that keeps
 * the client's order, case and duplicates. Host is kept as the client sent it.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | undefined,
  clientIp: string,
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

/**
 * Response headers for the client, from the upstream's raw `[name, value, ...]`
 * list as undici hands it over: everything but the hop-by-hop ones, in order,
 * with duplicates (Set-Cookie) kept. The result goes to `res.writeHead` as it is.
 * `dropLength` leaves Content-Length out too: a 204 must not carry one (RFC 9110
 * §8.6), and nginx drops it likewise.
 */
export function clientResponseHeaders(rawHeaders: readonly Buffer[], dropLength = false): string[] {
  let connection: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as Buffer;
    if (name.length === 10 && name.toString('latin1').toLowerCase() === 'connection') {
      const value = (rawHeaders[i + 1] as Buffer).toString('latin1');
      connection = connection === undefined ? value : `${connection},${value}`;
    }
  }
  const dropped = namedInConnection(connection);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as Buffer).toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped?.has(lower) === true) continue;
    if (dropLength && lower === 'content-length') continue;
    out.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
  }
  return out;
}
