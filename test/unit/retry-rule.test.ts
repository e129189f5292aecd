/** The retry rule alone: what a failed attempt leads to, for each kind of failure, method and body state. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import test from 'ava';
import type { ProxyFailure, ProxyFailureKind } from '../../src/protocol/index.js';
import { Exchange } from '../../src/proxy/exchange.js';
import type { DeferredRequestBody } from '../../src/proxy/request-body.js';
import { afterFailure } from '../../src/proxy/retry-rule.js';

function exchange(method: string, body: { started: boolean; failure: string | null } | null = null): Exchange {
  const req = { method, url: '/' } as unknown as IncomingMessage;
  return new Exchange(1, req, {} as ServerResponse, '10.0.0.1', 0, body as unknown as DeferredRequestBody | null);
}

const failure = (kind: ProxyFailureKind, connectFailed = false): ProxyFailure => ({ kind, upstreamId: 'u1', message: kind, connectFailed });

test('a failed connect fails over whatever the method, even with no retries left', (t) => {
  for (const method of ['GET', 'POST', 'PATCH']) t.is(afterFailure(exchange(method), failure('upstream-refused', true), 0), 'fail-over', method);
});

test('a reset or garbage before any response byte is resent for idempotent methods, within --retries', (t) => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) {
    t.is(afterFailure(exchange(method), failure('upstream-reset'), 1), 'resend', method);
    t.is(afterFailure(exchange(method), failure('upstream-protocol-error'), 1), 'resend', method);
  }
  const spent = exchange('GET');
  spent.retries = 1;
  t.is(afterFailure(spent, failure('upstream-reset'), 1), 'answer', 'no retry left');
  t.is(afterFailure(exchange('GET'), failure('upstream-reset'), 0), 'answer', '--retries 0');
});

test('never resent: a non-idempotent method, a response timeout, a local resource error', (t) => {
  t.is(afterFailure(exchange('POST'), failure('upstream-reset'), 3), 'answer');
  t.is(afterFailure(exchange('PATCH'), failure('upstream-protocol-error'), 3), 'answer');
  t.is(afterFailure(exchange('GET'), failure('upstream-response-timeout'), 3), 'answer');
  t.is(afterFailure(exchange('GET'), failure('local-resources-exhausted'), 3), 'answer');
});

test('nothing is resent or failed over once a body byte was read, or when the client’s body failed', (t) => {
  t.is(afterFailure(exchange('PUT', { started: true, failure: null }), failure('upstream-reset'), 3), 'answer');
  t.is(afterFailure(exchange('PUT', { started: true, failure: null }), failure('upstream-refused', true), 3), 'answer');
  t.is(afterFailure(exchange('PUT', { started: false, failure: 'stalled' }), failure('upstream-refused', true), 3), 'answer');
  t.is(afterFailure(exchange('PUT', { started: false, failure: null }), failure('upstream-reset'), 3), 'resend', 'an unread body can be replayed');
});
