/** The mailbox router: local delivery, drops, and routing between processes over links. */
import test from 'ava';
import { isEnvelope, MailboxRouter, nodeOf, type Envelope, type Link } from '../../src/actors/router.js';
import type { RoutedMessage } from '../../src/protocol/index.js';

const CHECK: RoutedMessage = {
  type: 'rate-limit.check',
  requestId: 1,
  checks: [{ rule: 'default', key: '10.0.0.1', limit: { algorithm: 'fixed-window', limit: 5, windowMs: 1_000 } }],
  headersWhenAllowed: false,
  replyTo: 'w1/conn/abc',
};
const VERDICT: RoutedMessage = { type: 'request.verdict', requestId: 1, answer: null };

function recordingMailbox() {
  const received: RoutedMessage[] = [];
  return { received, mailbox: { send: (message: RoutedMessage) => received.push(message) } };
}

function recordingLink() {
  const envelopes: Envelope[] = [];
  const link: Link = { send: (envelope) => envelopes.push(envelope) };
  return { envelopes, link };
}

test('register names the mailbox under this node, and send delivers to it', (t) => {
  const router = new MailboxRouter('p');
  const limiter = recordingMailbox();
  const other = recordingMailbox();
  t.is(router.register('rate-limiter', limiter.mailbox), 'p/rate-limiter');
  router.register('balancer', other.mailbox);
  router.send('p/rate-limiter', CHECK);
  t.deepEqual(limiter.received, [CHECK]);
  t.deepEqual(other.received, []);
  t.is(router.dropped, 0);
});

test('a message for an unknown local mailbox is dropped and counted, not thrown', (t) => {
  const router = new MailboxRouter('p');
  const { envelopes, link } = recordingLink();
  router.connectUplink(link);
  t.notThrows(() => router.send('p/conn/gone', VERDICT));
  t.is(router.dropped, 1);
  t.deepEqual(envelopes, [], 'a local address never leaves the process');
});

test('a message for an unregistered mailbox is dropped', (t) => {
  const router = new MailboxRouter('w1');
  const connection = recordingMailbox();
  const address = router.register('conn/abc', connection.mailbox);
  router.send(address, VERDICT);
  router.unregister(address);
  router.send(address, VERDICT);
  t.deepEqual(connection.received, [VERDICT]);
  t.is(router.dropped, 1);
});

test('the primary sends a message for a worker down that worker’s link', (t) => {
  const router = new MailboxRouter('p');
  const w1 = recordingLink();
  const w2 = recordingLink();
  router.connectNode('w1', w1.link);
  router.connectNode('w2', w2.link);
  router.send('w2/conn/xyz', VERDICT);
  t.deepEqual(w1.envelopes, []);
  t.deepEqual(w2.envelopes, [{ kind: 'balancebeam.envelope', to: 'w2/conn/xyz', message: VERDICT }]);
  t.is(router.dropped, 0);
});

test('the primary drops messages for a worker it has no link to', (t) => {
  const router = new MailboxRouter('p');
  const w1 = recordingLink();
  router.connectNode('w1', w1.link);
  router.send('w9/balancer', VERDICT);
  router.disconnectNode('w1');
  router.send('w1/balancer', VERDICT);
  t.deepEqual(w1.envelopes, []);
  t.is(router.dropped, 2);
});

test('a worker sends everything not for itself up its uplink', (t) => {
  const router = new MailboxRouter('w1');
  const { envelopes, link } = recordingLink();
  router.connectUplink(link);
  router.send('p/rate-limiter', CHECK);
  router.send('w2/conn/xyz', VERDICT);
  t.deepEqual(envelopes, [
    { kind: 'balancebeam.envelope', to: 'p/rate-limiter', message: CHECK },
    { kind: 'balancebeam.envelope', to: 'w2/conn/xyz', message: VERDICT },
  ]);
});

test('a worker without an uplink drops messages for other processes', (t) => {
  const router = new MailboxRouter('w1');
  router.send('p/rate-limiter', CHECK);
  t.is(router.dropped, 1);
});

test('receive delivers an envelope addressed here, and passes one for another worker on', (t) => {
  const router = new MailboxRouter('p');
  const limiter = recordingMailbox();
  router.register('rate-limiter', limiter.mailbox);
  const w2 = recordingLink();
  router.connectNode('w2', w2.link);
  router.receive({ kind: 'balancebeam.envelope', to: 'p/rate-limiter', message: CHECK });
  router.receive({ kind: 'balancebeam.envelope', to: 'w2/balancer', message: VERDICT });
  t.deepEqual(limiter.received, [CHECK]);
  t.deepEqual(w2.envelopes, [{ kind: 'balancebeam.envelope', to: 'w2/balancer', message: VERDICT }]);
});

test('a check and its verdict cross between a worker and the primary as plain data', (t) => {
  const primary = new MailboxRouter('p');
  const worker = new MailboxRouter('w1');
  // Links that serialize, as process IPC does: nothing but plain data survives.
  const across = (to: MailboxRouter): Link => ({
    send: (envelope) => {
      const copy: unknown = JSON.parse(JSON.stringify(envelope));
      if (!isEnvelope(copy)) throw new Error('not an envelope');
      to.receive(copy);
    },
  });
  worker.connectUplink(across(primary));
  primary.connectNode('w1', across(worker));
  const checks: RoutedMessage[] = [];
  primary.register('rate-limiter', {
    send: (message: RoutedMessage) => {
      checks.push(message);
      if (message.type === 'rate-limit.check') primary.send(message.replyTo, { ...VERDICT, requestId: message.requestId });
    },
  });
  const connection = recordingMailbox();
  const replyTo = worker.register('conn/abc', connection.mailbox);
  worker.send('p/rate-limiter', { ...CHECK, requestId: 5, replyTo });
  t.deepEqual(checks, [{ ...CHECK, requestId: 5, replyTo: 'w1/conn/abc' }]);
  t.deepEqual(connection.received, [{ ...VERDICT, requestId: 5 }]);
  t.is(primary.dropped + worker.dropped, 0);
});

test('isEnvelope recognises envelopes only', (t) => {
  t.true(isEnvelope({ kind: 'balancebeam.envelope', to: 'p/x', message: VERDICT }));
  const others: unknown[] = [null, undefined, 'balancebeam.envelope', 42, {}, { kind: 'other' }, { message: VERDICT }];
  for (const [index, value] of others.entries()) t.false(isEnvelope(value), `case ${index}`);
});

test('nodeOf reads the node from an address', (t) => {
  t.is(nodeOf('p/rate-limiter'), 'p');
  t.is(nodeOf('w12/conn/a/b'), 'w12');
  t.is(nodeOf('p/upstream/[::1]:8080'), 'p');
});

test('a connection slot: reserved, filled, delivered to, listed, and freed for reuse under a new address', (t) => {
  const router = new MailboxRouter('w1');
  const first = recordingMailbox();
  const address = router.reserveConnection('abc');
  t.is(address, 'w1/conn/0.abc');
  router.send(address, VERDICT);
  t.is(router.dropped, 1, 'reserved but not filled yet: nothing to deliver to');
  router.registerConnection(address, first.mailbox);
  router.send(address, VERDICT);
  t.deepEqual(first.received, [VERDICT]);
  const listed: string[] = [];
  router.forEachMailbox((_mailbox, at) => listed.push(at));
  t.deepEqual(listed, [address]);

  router.unregister(address);
  const second = recordingMailbox();
  const reused = router.reserveConnection('def');
  t.is(reused, 'w1/conn/0.def', 'the slot is reused');
  router.registerConnection(reused, second.mailbox);
  router.send(address, VERDICT);
  t.deepEqual(second.received, [], 'a message for the slot’s earlier connection is not delivered to the next');
  t.is(router.dropped, 2);
  router.send(reused, VERDICT);
  t.deepEqual(second.received, [VERDICT]);
});

test('connection addresses of the Map (a name registered as conn/…) still work beside the slots', (t) => {
  const router = new MailboxRouter('p');
  const named = recordingMailbox();
  router.register('conn/scripted', named.mailbox);
  router.send('p/conn/scripted', VERDICT);
  t.deepEqual(named.received, [VERDICT]);
  router.unregister('p/conn/scripted');
  router.send('p/conn/scripted', VERDICT);
  t.is(router.dropped, 1);
});
