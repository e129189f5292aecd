/**
 * A decision → the pipeline's `request.verdict`: pass, or 429 with
 * Retry-After; with the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers)
 * on the 429, and on the pass when asked. Shared by every store, so a client
 * cannot tell which one decided.
 */
import type { LimitCheck, RequestVerdict } from '../protocol/index.js';
import { burstOf, type Decision } from './limit-math.js';

const toSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** `RateLimit-Policy` and `RateLimit`: one list member per limit checked (lock-outs have no quota to show). */
export function rateLimitFields(checks: readonly LimitCheck[], decision: Decision): Record<string, string> | null {
  let policy = '';
  let state = '';
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i] as LimitCheck;
    const limit = check.limit;
    const result = decision.results[i];
    if (limit === null || result === undefined) continue;
    const quota = limit.algorithm === 'gcra' ? burstOf(limit) : limit.limit;
    const separator = policy === '' ? '' : ', ';
    policy += `${separator}"${check.rule}";q=${quota};w=${Math.max(1, Math.round(limit.windowMs / 1000))}`;
    state += `${separator}"${check.rule}";r=${Math.max(0, result.remaining)};t=${Math.max(0, Math.ceil(result.resetMs / 1000))}`;
  }
  return policy === '' ? null : { 'ratelimit-policy': policy, ratelimit: state };
}

export function verdictFor(requestId: number, checks: readonly LimitCheck[], decision: Decision, headersWhenAllowed: boolean): RequestVerdict {
  if (decision.allowed) {
    const fields = headersWhenAllowed ? rateLimitFields(checks, decision) : null;
    return fields === null ? { type: 'request.verdict', requestId, answer: null } : { type: 'request.verdict', requestId, answer: null, headers: fields };
  }
  const lockedOut = checks.some((check, i) => check.limit === null && decision.results[i]?.allowed === false);
  return {
    type: 'request.verdict',
    requestId,
    answer: {
      outcome: 'rate-limited',
      headers: { 'retry-after': toSeconds(decision.retryAfterMs), ...rateLimitFields(checks, decision) },
      ...(lockedOut ? { reason: 'locked out after failed logins' } : {}),
    },
  };
}

/** The store could not decide and `--rate-limit-store-failure` says what to do instead. */
export function passVerdict(requestId: number): RequestVerdict {
  return { type: 'request.verdict', requestId, answer: null };
}

export function unavailableVerdict(requestId: number): RequestVerdict {
  return { type: 'request.verdict', requestId, answer: { outcome: 'rate-limit-unavailable', reason: 'rate-limit store unavailable' } };
}
