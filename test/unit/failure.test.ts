/** Classifying upstream errors, and the status a client gets for each kind of failure. */
import test from 'ava';
import { errors } from 'undici';
import type { ProxyFailureKind } from '../../src/protocol/index.js';
import { classifyUpstreamError } from '../../src/proxy/failure.js';
import { outcomeOfFailure, statusFor } from '../../src/proxy/outcome.js';

const UPSTREAM = '127.0.0.1:9001';

/** A system error as Node's net module raises it. */
function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('ECONNREFUSED is a connect failure: refused', (t) => {
  const error = systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9001');
  t.deepEqual(classifyUpstreamError(error, UPSTREAM, false), {
    kind: 'upstream-refused',
    upstreamId: UPSTREAM,
    message: 'ECONNREFUSED',
    connectFailed: true,
  });
});

test('undici’s connect timeout is a connect failure: connect timeout', (t) => {
  const failure = classifyUpstreamError(new errors.ConnectTimeoutError(), UPSTREAM, false);
  t.is(failure.kind, 'upstream-connect-timeout');
  t.true(failure.connectFailed);
  t.is(failure.message, 'UND_ERR_CONNECT_TIMEOUT');
});

test('unreachable hosts are connect failures', (t) => {
  for (const code of ['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']) {
    const failure = classifyUpstreamError(systemError(code, code), UPSTREAM, false);
    t.is(failure.kind, 'upstream-unreachable', code);
    t.true(failure.connectFailed, code);
  }
});

test('a local resource error is its own kind, no connect failure (no health mark, no fail-over), answered 503', (t) => {
  for (const code of ['EADDRNOTAVAIL', 'EMFILE', 'ENFILE', 'ENOBUFS']) {
    const failure = classifyUpstreamError(systemError(code, `connect ${code} 127.0.0.1:9001`), UPSTREAM, false);
    t.deepEqual(failure, { kind: 'local-resources-exhausted', upstreamId: UPSTREAM, message: code, connectFailed: false }, code);
  }
  t.is(statusFor(outcomeOfFailure({ kind: 'local-resources-exhausted', upstreamId: UPSTREAM, message: '', connectFailed: false }, null)), 503);
});

test('undici’s headers timeout is a response timeout on an established connection', (t) => {
  const failure = classifyUpstreamError(new errors.HeadersTimeoutError(), UPSTREAM, false);
  t.is(failure.kind, 'upstream-response-timeout');
  t.false(failure.connectFailed);
  t.true(failure.message.startsWith('UND_ERR_HEADERS_TIMEOUT: '));
  t.is(classifyUpstreamError(new errors.BodyTimeoutError(), UPSTREAM, false).kind, 'upstream-response-timeout');
});

test('ECONNRESET and a closed socket are resets, not connect failures', (t) => {
  const reset = classifyUpstreamError(systemError('ECONNRESET', 'read ECONNRESET'), UPSTREAM, false);
  t.deepEqual(reset, {
    kind: 'upstream-reset',
    upstreamId: UPSTREAM,
    message: 'ECONNRESET: read ECONNRESET',
    connectFailed: false,
  });
  const closed = classifyUpstreamError(new errors.SocketError('other side closed'), UPSTREAM, false);
  t.is(closed.kind, 'upstream-reset');
  t.false(closed.connectFailed);
});

test('malformed upstream responses are protocol errors', (t) => {
  for (const code of ['HPE_INVALID_CONSTANT', 'HPE_INVALID_HEADER_TOKEN', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']) {
    const failure = classifyUpstreamError(systemError(code, 'bad response'), UPSTREAM, false);
    t.is(failure.kind, 'upstream-protocol-error', code);
    t.false(failure.connectFailed, code);
  }
});

test('a failure of the client’s request body wins over whatever undici reported', (t) => {
  const failure = classifyUpstreamError(systemError('ECONNREFUSED', 'refused'), UPSTREAM, true);
  t.is(failure.kind, 'request-body-failed');
  t.false(failure.connectFailed, 'not held against the upstream');
});

test('an error without a code is a reset carrying its message; a thrown non-error is described', (t) => {
  t.deepEqual(classifyUpstreamError(new Error('something odd'), UPSTREAM, false), {
    kind: 'upstream-reset',
    upstreamId: UPSTREAM,
    message: 'something odd',
    connectFailed: false,
  });
  t.is(classifyUpstreamError('boom', UPSTREAM, false).message, 'boom');
  t.is(classifyUpstreamError({ code: 42 }, UPSTREAM, false).kind, 'upstream-reset');
});

test('a failed attempt answered: timeouts are 504, a failed request body 400, local exhaustion 503, the rest 502', (t) => {
  const expected: Record<ProxyFailureKind, number> = {
    'upstream-refused': 502,
    'upstream-connect-timeout': 504,
    'upstream-unreachable': 502,
    'upstream-reset': 502,
    'upstream-response-timeout': 504,
    'upstream-protocol-error': 502,
    'request-body-failed': 400,
    'local-resources-exhausted': 503,
  };
  for (const [kind, status] of Object.entries(expected) as [ProxyFailureKind, number][]) {
    t.is(statusFor(outcomeOfFailure({ kind, upstreamId: UPSTREAM, message: kind, connectFailed: false }, null)), status, kind);
  }
  const bodyFailed = { kind: 'request-body-failed', upstreamId: UPSTREAM, message: '', connectFailed: false } as const;
  t.is(statusFor(outcomeOfFailure(bodyFailed, 'too-large')), 413, 'the body failure, when the body recorded one, decides');
  t.is(statusFor(outcomeOfFailure(bodyFailed, 'stalled')), 408);
});

test('bytes that are not HTTP at all (undici’s HTTPParserError without a code) are a protocol error', (t) => {
  const error = new errors.HTTPParserError('Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or ICE/)');
  t.is((error as { code?: string }).code, undefined);
  const failure = classifyUpstreamError(error, UPSTREAM, false);
  t.is(failure.kind, 'upstream-protocol-error');
  t.false(failure.connectFailed);
});
