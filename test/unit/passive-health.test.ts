/** Passive health alone: which failed attempts tell the upstream's actor, and what. */
import test from 'ava';
import { MailboxRouter } from '../../src/actors/router.js';
import { reportToUpstream } from '../../src/health/passive.js';
import { upstreamAddress, type ProxyFailureKind, type RoutedMessage } from '../../src/protocol/index.js';

function recorder() {
  const router = new MailboxRouter('p');
  const sent: RoutedMessage[] = [];
  router.register(`upstream/u1`, { send: (message: RoutedMessage) => sent.push(message) });
  return { router, sent };
}

test('a failed connect marks the upstream (connect-failed, with the reason)', (t) => {
  const { router, sent } = recorder();
  reportToUpstream(router, { kind: 'upstream-refused', upstreamId: 'u1', message: 'ECONNREFUSED', connectFailed: true });
  t.deepEqual(sent, [{ type: 'upstream.connect-failed', upstreamId: 'u1', reason: 'ECONNREFUSED' }]);
});

test('a reply that is not HTTP is misbehaviour', (t) => {
  const { router, sent } = recorder();
  reportToUpstream(router, { kind: 'upstream-protocol-error', upstreamId: 'u1', message: 'HPE_INVALID_CONSTANT', connectFailed: false });
  t.deepEqual(sent, [{ type: 'upstream.misbehaved', upstreamId: 'u1', reason: 'HPE_INVALID_CONSTANT' }]);
});

test('resets, timeouts, body failures and local resource errors say nothing about the upstream', (t) => {
  const { router, sent } = recorder();
  const quiet: ProxyFailureKind[] = ['upstream-reset', 'upstream-response-timeout', 'request-body-failed', 'local-resources-exhausted'];
  for (const kind of quiet) reportToUpstream(router, { kind, upstreamId: 'u1', message: kind, connectFailed: false });
  t.deepEqual(sent, []);
  t.is(upstreamAddress('u1'), 'p/upstream/u1');
});
