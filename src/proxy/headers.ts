/**
 * The header passes, in the order a request crosses them:
 *
 *   client → [strip hop-by-hop] → [append x-forwarded-for, set x-forwarded-proto/-host] → upstream
 *   upstream → [strip hop-by-hop] → client
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the
 * message, so they never cross the proxy; neither do headers that the
 * `Connection` header names. `Expect` is answered by Node's server itself
 * (100 Continue) and so is not forwarded either.
 */
import type { OutgoingHttpHeaders } from 'node:http';

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

/** Response headers for the client: everything the upstream sent but the hop-by-hop ones. */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const connection = headers.connection;
  const dropped = namedInConnection(connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || dropped?.has(name) === true) continue;
    out[name] = headers[name];
  }
  return out;
}
