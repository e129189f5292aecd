/**
 * Conditional requests (RFC 9110 §13): a client's If-None-Match /
 * If-Modified-Since answered from a stored response, the validators sent
 * upstream to revalidate one, and the fields a 304 may update (RFC 9111 §3.2).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseHttpDate } from './http-date.js';
import { requestHeader } from './header-list.js';

function opaque(tag: string): string {
  const trimmed = tag.trim();
  return trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed;
}

/** If-None-Match with weak comparison (RFC 9110 §13.1.2): true when some listed tag matches. */
export function noneMatchHits(ifNoneMatch: string, etag: string | null): boolean {
  if (ifNoneMatch.trim() === '*') return etag !== null;
  if (etag === null) return false;
  const stored = opaque(etag);
  for (const tag of ifNoneMatch.split(',')) if (opaque(tag) === stored) return true;
  return false;
}

/**
 * Whether a client's conditional GET/HEAD is answered 304 by this stored response (RFC 9110 §13.2.2).
 * Without Last-Modified, If-Modified-Since is judged against the response's Date (RFC 9111 §4.3.2).
 */
export function notModified(headers: IncomingHttpHeaders, etag: string | null, lastModified: string | null, date: number): boolean {
  const ifNoneMatch = requestHeader(headers['if-none-match']);
  if (ifNoneMatch !== undefined) return noneMatchHits(ifNoneMatch, etag);
  const ifModifiedSince = requestHeader(headers['if-modified-since']);
  if (ifModifiedSince === undefined) return false;
  const since = parseHttpDate(ifModifiedSince);
  const modified = lastModified === null ? date : parseHttpDate(lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** The conditional fields that revalidate a stored response; null when it has no validator. */
export function validatorsFor(etag: string | null, lastModified: string | null): string[] | null {
  if (etag === null && lastModified === null) return null;
  const fields: string[] = [];
  if (etag !== null) fields.push('if-none-match', etag);
  if (lastModified !== null) fields.push('if-modified-since', lastModified);
  return fields;
}

/** Fields a 304 never replaces in the stored response (RFC 9111 §3.2: Content-Length; ours recomputed). */
const NOT_UPDATED = new Set(['content-length', 'age', 'cache-status', 'transfer-encoding', 'content-encoding', 'content-range']);

/**
 * The stored fields updated from a 304's (RFC 9111 §3.2, §4.3.4): each field
 * the 304 carries replaces the stored ones of that name, except those above
 * and those the policy keeps out of storage (`excluded`).
 */
export function updatedHeaders(stored: readonly string[], fresh: readonly string[], excluded: ReadonlySet<string>): string[] {
  const replaced = new Set<string>();
  for (let i = 0; i < fresh.length; i += 2) {
    const name = (fresh[i] as string).toLowerCase();
    if (!NOT_UPDATED.has(name) && !excluded.has(name)) replaced.add(name);
  }
  const out: string[] = [];
  for (let i = 0; i < stored.length; i += 2) {
    if (!replaced.has((stored[i] as string).toLowerCase())) out.push(stored[i] as string, stored[i + 1] as string);
  }
  for (let i = 0; i < fresh.length; i += 2) {
    if (replaced.has((fresh[i] as string).toLowerCase())) out.push(fresh[i] as string, fresh[i + 1] as string);
  }
  return out;
}
