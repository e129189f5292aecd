/**
 * The request key a strategy may hash on (client IP, a header, a cookie...).
 * Computed only when the strategy says it reads one (`usesKey`), so the
 * strategies that do not pay nothing for it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HashKeySource } from '../protocol/index.js';

/** What a key may be drawn from: an Exchange satisfies it. */
export interface KeySource {
  readonly clientIp: string;
  readonly req: { readonly url?: string | undefined; readonly headers: IncomingHttpHeaders };
}

export type RequestKeyOf = (request: KeySource) => string;

export const clientIpKey: RequestKeyOf = (request) => request.clientIp;

// consistent-hash's keys (`--hash-key`) ----------------------------------------------------------

/** RFC 9110's token: a header or cookie name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A query argument's name as sent (not percent-decoded): anything but the separators. */
const QUERY_NAME = /^[^&=#?\s]+$/;

export const HASH_KEY_FORMS = 'client-ip, header:NAME, cookie:NAME, path or query:NAME';

/** `--hash-key`'s text, or null when it is none of the forms. */
export function parseHashKey(text: string): HashKeySource | null {
  if (text === 'client-ip' || text === 'path') return { from: text };
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1);
  if (kind === 'header' && TOKEN.test(name)) return { from: 'header', name: name.toLowerCase() };
  if (kind === 'cookie' && TOKEN.test(name)) return { from: 'cookie', name };
  if (kind === 'query' && QUERY_NAME.test(name)) return { from: 'query', name };
  return null;
}

export function showHashKey(key: HashKeySource): string {
  return 'name' in key ? `${key.from}:${key.name}` : key.from;
}

/** How the key's source is written back: a header's first value when node:http kept several (only set-cookie is a list). */
function headerValue(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : (value[0] ?? '');
}

const SPACE = 0x20;
const TAB = 0x09;

/**
 * The value of cookie `name` in a Cookie header (`a=1; b=2`; node:http joins
 * several Cookie headers with `; `), '' when absent. Scans in place: the only
 * string made is the value itself.
 */
export function cookieValue(header: string, name: string): string {
  const length = header.length;
  let at = 0;
  while (at < length) {
    // Skip the separator's whitespace before a pair.
    let code = header.charCodeAt(at);
    while ((code === SPACE || code === TAB) && at < length) code = header.charCodeAt(++at);
    let end = header.indexOf(';', at);
    if (end < 0) end = length;
    if (header.startsWith(name, at) && header.charCodeAt(at + name.length) === 0x3d /* = */) {
      let valueEnd = end;
      while (valueEnd > at && (header.charCodeAt(valueEnd - 1) === SPACE || header.charCodeAt(valueEnd - 1) === TAB)) valueEnd--;
      return header.slice(at + name.length + 1, valueEnd);
    }
    at = end + 1;
  }
  return '';
}

/** The value of query argument `name` in a request target, as sent (not percent-decoded), '' when absent. */
export function queryValue(url: string, name: string): string {
  const query = url.indexOf('?');
  if (query < 0) return '';
  const length = url.length;
  let at = query + 1;
  while (at < length) {
    let end = url.indexOf('&', at);
    if (end < 0) end = length;
    if (url.startsWith(name, at) && url.charCodeAt(at + name.length) === 0x3d /* = */) return url.slice(at + name.length + 1, end);
    at = end + 1;
  }
  return '';
}

/** The request target without its query. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** The key `--hash-key` names; '' when the request does not carry it (the strategy then uses its fallback). */
export function requestKeyOf(key: HashKeySource): RequestKeyOf {
  switch (key.from) {
    case 'client-ip':
      return clientIpKey;
    case 'path':
      return (request) => pathOf(request.req.url ?? '');
    case 'header': {
      const { name } = key;
      return (request) => headerValue(request.req.headers[name]);
    }
    case 'cookie': {
      const { name } = key;
      return (request) => {
        const header = request.req.headers.cookie;
        return header === undefined ? '' : cookieValue(header, name);
      };
    }
    case 'query': {
      const { name } = key;
      return (request) => queryValue(request.req.url ?? '', name);
    }
  }
}
