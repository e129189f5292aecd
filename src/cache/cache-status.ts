/**
 * The Cache-Status field (RFC 9211) balancebeam adds to every response the
 * cache looked at: `balancebeam; hit; ttl=12` on a hit, `balancebeam;
 * fwd=uri-miss; fwd-status=200; stored` on a miss it stored, and so on. The
 * field is a list; ours is appended after any the upstream's caches wrote.
 */

export const CACHE_NAME = 'balancebeam';

/** Why the request went upstream (RFC 9211 §2.2). */
export type ForwardReason = 'uri-miss' | 'vary-miss' | 'stale' | 'request' | 'method' | 'bypass';

export function hitStatus(ttl: number, detail?: string): string {
  return `${CACHE_NAME}; hit; ttl=${Math.floor(ttl)}${detail === undefined ? '' : `; detail=${detail}`}`;
}

export function forwardStatus(fwd: ForwardReason, upstreamStatus: number | null, stored: boolean, ttl?: number, detail?: string): string {
  let value = `${CACHE_NAME}; fwd=${fwd}`;
  if (upstreamStatus !== null) value += `; fwd-status=${upstreamStatus}`;
  if (ttl !== undefined) value += `; ttl=${Math.floor(ttl)}`;
  if (stored) value += '; stored';
  if (detail !== undefined) value += `; detail=${detail}`;
  return value;
}
