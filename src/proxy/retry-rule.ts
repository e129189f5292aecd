/**
 * The retry rule: what a failed upstream attempt leads to. Nothing is resent
 * once a byte of the request body has been read from the client (it cannot be
 * replayed), and a failure only reaches this rule before any response byte
 * was relayed (later ones cut the client's connection in upstream-call.ts),
 * so no client ever sees two responses.
 */
import type { ProxyFailure, ProxyFailureKind } from '../protocol/index.js';
import type { Exchange } from './exchange.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Failures after the connect that leave no trace at the client (no response
 * byte has been relayed) and say nothing about the request itself: worth
 * another upstream for an idempotent request. A response timeout is not among
 * them: the client has already waited the whole timeout, and the upstream may
 * still be working on the request.
 */
const RESENDABLE: ReadonlySet<ProxyFailureKind> = new Set(['upstream-reset', 'upstream-protocol-error']);

export type AfterFailure =
  /** The connection was never made: try another live upstream (any method, as often as there are upstreams). */
  | 'fail-over'
  /** The request reached an upstream that broke off before answering: resend it elsewhere, using up one retry. */
  | 'resend'
  /** Answer the client with the failure's status. */
  | 'answer';

export function afterFailure(exchange: Exchange, failure: ProxyFailure, retries: number): AfterFailure {
  // The client's body failed (malformed, too large, stalled, aborted): the fault is the client's, not the upstream's.
  if (exchange.body?.failure != null) return 'answer';
  const bodyUntouched = exchange.body === null || !exchange.body.started;
  if (!bodyUntouched) return 'answer';
  if (failure.connectFailed) return 'fail-over';
  if (!RESENDABLE.has(failure.kind) || !IDEMPOTENT.has(exchange.req.method ?? '')) return 'answer';
  return exchange.retries < retries ? 'resend' : 'answer';
}
