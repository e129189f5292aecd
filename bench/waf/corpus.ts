/**
 * The WAF evaluation's corpora (test/data/waf-corpus/, a fixed snapshot; see
 * its NOTICE.md for sources and licences), expanded into HTTP requests the
 * way GoTestWAF does it: every attack payload in every placement it fits
 * (query argument, path segment, form field, multipart field, JSON value,
 * an arbitrary header, a cookie; a payload's source may narrow that), plus
 * encoded variants in a query argument (Base64, HTML entities, `\u00XX`
 * escapes, double URL encoding). Legitimate traffic: real-world browsing
 * query strings sent with a browser's headers and cookies, and GoTestWAF's
 * false-positive texts in every placement.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** This file is dist/bench/waf/corpus.js. */
export const CORPUS_DIR = fileURLToPath(new URL('../../../test/data/waf-corpus/', import.meta.url));

export interface CorpusRequest {
  readonly category: string;
  /** Where the payload sits and how it is encoded: `query`, `json`, `query+base64`... */
  readonly placement: string;
  readonly method: string;
  readonly url: string;
  /** `[name, value, ...]` */
  readonly headers: readonly string[];
  readonly body: string | null;
}

interface AttackEntry {
  readonly category: string;
  readonly payload: string;
  readonly source: string;
  readonly placements?: readonly string[];
}

const BROWSER_HEADERS = [
  'Host', 'shop.example.com',
  'User-Agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'Accept-Language', 'en-GB,en;q=0.9',
  'Accept-Encoding', 'gzip, deflate, br',
];
const COOKIE = 'session=3f7a9c2e8b1d4f60a5e7; theme=dark; _ga=GA1.2.1923012861.1662447591';

const DEFAULT_PLACEMENTS = ['query', 'path', 'form', 'multipart', 'json', 'header', 'cookie'];
const QUERY_ENCODINGS = ['base64', 'html', 'unicode', 'double-url'];

/** Percent-encode everything but unreserved characters (what a client must do to send it at all). */
function percent(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

function htmlEntities(text: string): string {
  return text.replace(/[^A-Za-z0-9 ]/g, (ch) => `&#x${(ch.codePointAt(0) ?? 0).toString(16)};`);
}

function unicodeEscapes(text: string): string {
  return text.replace(/[^A-Za-z0-9 ]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A header value must be visible Latin-1 without CR/LF/NUL: otherwise a client URL-encodes it. */
function headerSafe(text: string): string {
   
  return /^[\x20-\x7e\t]*$/.test(text) ? text : percent(text);
}

function withCookie(extra: readonly string[] = [], cookie = COOKIE): string[] {
  return [...BROWSER_HEADERS, ...extra, 'Cookie', cookie];
}

function place(category: string, payload: string, placement: string): CorpusRequest {
  const base = { category, placement };
  switch (placement) {
    case 'query':
      return { ...base, method: 'GET', url: `/search?q=${percent(payload)}&page=1`, headers: withCookie(), body: null };
    case 'query+base64':
      return { ...base, method: 'GET', url: `/search?q=${percent(Buffer.from(payload).toString('base64'))}`, headers: withCookie(), body: null };
    case 'query+html':
      return { ...base, method: 'GET', url: `/search?q=${percent(htmlEntities(payload))}`, headers: withCookie(), body: null };
    case 'query+unicode':
      return { ...base, method: 'GET', url: `/search?q=${percent(unicodeEscapes(payload))}`, headers: withCookie(), body: null };
    case 'query+double-url':
      return { ...base, method: 'GET', url: `/search?q=${percent(percent(payload))}`, headers: withCookie(), body: null };
    case 'path':
      return { ...base, method: 'GET', url: `/files/${percent(payload)}`, headers: withCookie(), body: null };
    case 'redirect-arg':
      return { ...base, method: 'GET', url: `/login?next=${percent(payload)}`, headers: withCookie(), body: null };
    case 'url-arg':
      return { ...base, method: 'GET', url: `/preview?url=${percent(payload)}`, headers: withCookie(), body: null };
    case 'form':
      return { ...base, method: 'POST', url: '/comment', headers: withCookie(['Content-Type', 'application/x-www-form-urlencoded']), body: `name=alice&text=${percent(payload)}` };
    case 'multipart': {
      const boundary = '----balancebeamBoundary7MA4YWxkTrZu0gW';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nalice\r\n--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${payload}\r\n--${boundary}--\r\n`;
      return { ...base, method: 'POST', url: '/comment', headers: withCookie(['Content-Type', `multipart/form-data; boundary=${boundary}`]), body };
    }
    case 'json':
      return { ...base, method: 'POST', url: '/api/comments', headers: withCookie(['Content-Type', 'application/json']), body: JSON.stringify({ user: { name: 'alice' }, text: payload }) };
    case 'xml':
      return { ...base, method: 'POST', url: '/api/import', headers: withCookie(['Content-Type', 'application/xml']), body: payload };
    case 'raw-body':
      return { ...base, method: 'POST', url: '/api/import', headers: withCookie(['Content-Type', 'text/plain']), body: payload };
    case 'header':
      return { ...base, method: 'GET', url: '/', headers: withCookie(['X-Custom-Data', headerSafe(payload)]), body: null };
    case 'user-agent':
      return { ...base, method: 'GET', url: '/', headers: ['Host', 'shop.example.com', 'User-Agent', headerSafe(payload), 'Accept', '*/*'], body: null };
    case 'cookie':
      return { ...base, method: 'GET', url: '/account', headers: withCookie([], `session=3f7a9c2e8b1d4f60a5e7; prefs=${percent(payload)}`), body: null };
    default:
      throw new Error(`unknown placement ${placement}`);
  }
}

/**
 * `attacks.json` is the corpus the shipped rules were written against; `attacks-holdout.json` holds
 * payload lists of the same sources that were never looked at while writing them (how well the rules
 * generalise).
 */
export function attackRequests(file: 'attacks.json' | 'attacks-holdout.json' = 'attacks.json', dir = CORPUS_DIR): CorpusRequest[] {
  const entries = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as AttackEntry[];
  const requests: CorpusRequest[] = [];
  for (const entry of entries) {
    const placements = entry.placements ?? DEFAULT_PLACEMENTS;
    for (const placement of placements) requests.push(place(entry.category, entry.payload, placement));
    // Encoded variants where the payload travels as an argument.
    if (placements.includes('query')) for (const encoding of QUERY_ENCODINGS) requests.push(place(entry.category, entry.payload, `query+${encoding}`));
  }
  return requests;
}

export function legitimateRequests(dir = CORPUS_DIR): CorpusRequest[] {
  const queries = JSON.parse(readFileSync(`${dir}legitimate-openappsec.json`, 'utf8')) as string[];
  const texts = JSON.parse(readFileSync(`${dir}legitimate-texts.json`, 'utf8')) as string[];
  const requests: CorpusRequest[] = queries.map((query) => ({
    category: 'real-world browsing (openappsec)',
    placement: 'query string',
    method: 'GET',
    url: `/collect?${query}`,
    headers: withCookie(),
    body: null,
  }));
  for (const text of texts) for (const placement of DEFAULT_PLACEMENTS) requests.push({ ...place('texts (GoTestWAF false-pos)', text, placement) });
  return requests;
}

/** The typical benign request of the cost target: a GET with a few query arguments and a cookie. */
export const TYPICAL_GET: CorpusRequest = {
  category: 'typical',
  placement: 'query',
  method: 'GET',
  url: '/products?category=shoes&size=42&sort=price&page=2',
  headers: withCookie(),
  body: null,
};
