/**
 * From how a request ended to what the client is told: the one place a
 * status of balancebeam's own is chosen.
 */
import type { AnswerOutcome, ProxyFailure, RequestBodyFailure } from '../protocol/index.js';

const STATUS: Readonly<Record<AnswerOutcome, number>> = {
  'version-not-supported': 505,
  'uri-too-long': 414,
  'too-many-headers': 431,
  'bad-request': 400,
  'coding-not-implemented': 501,
  'body-too-large': 413,
  'expectation-failed': 417,
  'method-not-allowed': 405,
  'rate-limited': 429,
  'rate-limit-unavailable': 503,
  'waf-blocked': 403,
  'no-live-upstream': 502,
  'upstream-refused': 502,
  'upstream-unreachable': 502,
  'upstream-reset': 502,
  'upstream-protocol-error': 502,
  'upstream-connect-timeout': 504,
  'upstream-response-timeout': 504,
  'local-resources-exhausted': 503,
  'request-body-too-large': 413,
  'request-body-stalled': 408,
  'request-body-malformed': 400,
  'request-body-client-aborted': 400,
};

/**
 * Answers after which the connection is closed: the head broke a framing or
 * size rule, or the body failed, so where the next request would start is not
 * to be trusted (or the body is still unread and may be endless).
 */
const CLOSING: ReadonlySet<AnswerOutcome> = new Set<AnswerOutcome>([
  'version-not-supported',
  'uri-too-long',
  'too-many-headers',
  'bad-request',
  'coding-not-implemented',
  'body-too-large',
  // The body the client holds back, waiting for a 100 that will not come, is unread.
  'expectation-failed',
  // What follows a blocked request's head (its body, unread or read in part) is the attacker's.
  'waf-blocked',
  'request-body-too-large',
  'request-body-stalled',
  'request-body-malformed',
  'request-body-client-aborted',
]);

export function statusFor(outcome: AnswerOutcome): number {
  return STATUS[outcome];
}

export function closesConnection(outcome: AnswerOutcome): boolean {
  return CLOSING.has(outcome);
}

export function outcomeOfBodyFailure(failure: RequestBodyFailure): AnswerOutcome {
  return `request-body-${failure}`;
}

/**
 * A failed attempt that is answered. undici's own "the request body failed"
 * without a failure our body recorded is the client going away mid-body.
 */
export function outcomeOfFailure(failure: ProxyFailure, bodyFailure: RequestBodyFailure | null): AnswerOutcome {
  if (bodyFailure !== null) return outcomeOfBodyFailure(bodyFailure);
  return failure.kind === 'request-body-failed' ? 'request-body-client-aborted' : failure.kind;
}
