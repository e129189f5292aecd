/**
 * Who the client is: the one answer the access log, consistent-hash's
 * `client-ip` key, the rate limiter and the WAF all use.
 *
 * Without trusted proxies it is the TCP peer. With `--trusted-proxy CIDR`,
 * a request whose peer is trusted is taken to come from the address that
 * proxy reports: `X-Forwarded-For` (or, without it, RFC 7239 `Forwarded`)
 * is read from the right, skipping trusted hops, and the first address that
 * is not trusted is the client. Only the right end of the list can be
 * believed: everything left of the first untrusted hop was written by
 * whoever that hop is, maybe the client itself. A header from an untrusted
 * peer is ignored, so no client can spoof its way out of its limit.
 */
import { BlockList, isIP, type Socket } from 'node:net';
import { headerValue } from '../proxy/headers.js';

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is reported as `10.0.0.1`. */
export function peerIpOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128); null when it is none. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return null;
  return { address, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An address from a forwarding header, without port, brackets or quotes; null when it is not an IP. */
function addressOf(text: string): string | null {
  let value = text.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    value = close === -1 ? '' : value.slice(1, close);
  } else if (value.indexOf(':') !== -1 && value.indexOf(':') === value.lastIndexOf(':')) {
    value = value.slice(0, value.indexOf(':')); // IPv4 with a port
  }
  if (value.startsWith('::ffff:') && isIP(value.slice(7)) === 4) value = value.slice(7);
  return isIP(value) === 0 ? null : value;
}

/** The `for=` addresses of a Forwarded header, in order (RFC 7239 §4). */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const equals = pair.indexOf('=');
      if (equals !== -1 && pair.slice(0, equals).trim().toLowerCase() === 'for') out.push(pair.slice(equals + 1));
    }
  }
  return out;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly isEmpty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (cidr !== null) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.isEmpty = cidrs.length === 0;
  }

  trusts(address: string): boolean {
    return this.list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  }

  /**
   * The client of a request that arrived from `peer`. A trusted peer's
   * forwarding header is walked from the right; a hop that is not an address
   * stops the walk at the last trusted one (what it says cannot be believed).
   * `rawHeaders` is the request's flat list (`req.rawHeaders`): several fields
   * of a name read as one, joined with `, `, as node:http joins them.
   */
  clientIpOf(peer: string, rawHeaders: readonly string[]): string {
    if (this.isEmpty || !this.trusts(peer)) return peer;
    const xff = headerValue(rawHeaders, 'x-forwarded-for');
    const forwarded = xff === undefined ? headerValue(rawHeaders, 'forwarded') : undefined;
    const hops = xff !== undefined ? xff.split(',') : forwarded !== undefined ? forwardedFor(forwarded) : null;
    if (hops === null) return peer;
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = addressOf(hops[i] as string);
      if (hop === null) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** Hex groups of an IPv6 address (8 of them), or null. */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const lastPart = text.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    const octets = lastPart.split('.').map(Number);
    if (octets.length !== 4) return null;
    tail = [((octets[0] as number) << 8) | (octets[1] as number), ((octets[2] as number) << 8) | (octets[3] as number)];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const head = parse(halves[0] as string);
  let groups: number[];
  if (halves.length === 2) {
    const rest = parse(halves[1] as string);
    groups = [...head, ...Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else groups = head;
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null;
}

/**
 * The key a client is counted by: an IPv4 address as it is, an IPv6 one by
 * its first `ipv6Prefix` bits (`2001:db8:1:2::/64`), since one host owns a
 * whole /64 and could otherwise take a fresh address per request.
 */
export function clientKeyOf(ip: string, ipv6Prefix: number): string {
  if (!ip.includes(':') || ipv6Prefix >= 128) return ip;
  const groups = ipv6Groups(ip);
  if (groups === null) return ip;
  const masked: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, ipv6Prefix - i * 16));
    masked.push((((groups[i] as number) & ((0xffff << (16 - bits)) & 0xffff)) >>> 0).toString(16));
  }
  return `${masked.join(':')}/${ipv6Prefix}`;
}
