/** The balancer actor: subscribes to every upstream, keeps its view of their health, and the chooser reads it. */
import test from 'ava';
import { balancerMachine, createChooser, createUpstreamViews } from '../../src/actors/balancer.js';
import { startActor } from '../../src/actors/inspection.js';
import { localNameOf, MailboxRouter } from '../../src/actors/router.js';
import {
  upstreamAddress,
  type Address,
  type RoutedMessage,
  type UpstreamHealthChanged,
  type UpstreamTarget,
} from '../../src/protocol/index.js';

const UPSTREAMS: UpstreamTarget[] = [
  { id: '127.0.0.1:9001', host: '127.0.0.1', port: 9001, weight: 1 },
  { id: '127.0.0.1:9002', host: '127.0.0.1', port: 9002, weight: 1 },
  { id: '[::1]:9003', host: '::1', port: 9003, weight: 1 },
];

function startBalancer(node = 'p') {
  const router = new MailboxRouter(node);
  const sent: { to: Address; message: RoutedMessage }[] = [];
  const record = (to: Address) => ({ send: (message: RoutedMessage) => sent.push({ to, message }) });
  if (node === 'p') {
    for (const upstream of UPSTREAMS) {
      const to = upstreamAddress(upstream.id);
      router.register(localNameOf(to), record(to));
    }
  } else {
    router.connectUplink({ send: (envelope) => sent.push({ to: envelope.to, message: envelope.message }) });
  }
  const views = createUpstreamViews(UPSTREAMS);
  const address: Address = `${node}/balancer`;
  const actor = startActor(balancerMachine, { input: { address, router, views } });
  return { actor, views, sent, address };
}

const changed = (upstream: UpstreamTarget, healthy: boolean): UpstreamHealthChanged => ({
  type: 'upstream.health-changed',
  upstreamId: upstream.id,
  healthy,
  reason: healthy ? 'health check passed: status 200' : 'connect failed: ECONNREFUSED',
});

test('on start, it subscribes to every upstream actor with its own address', (t) => {
  for (const node of ['p', 'w3']) {
    const { sent } = startBalancer(node);
    t.deepEqual(
      sent,
      UPSTREAMS.map((upstream) => ({
        to: upstreamAddress(upstream.id),
        message: { type: 'upstream.subscribe', replyTo: `${node}/balancer` },
      })),
      node,
    );
  }
});

test('every upstream starts out healthy in the view', (t) => {
  const { views } = startBalancer();
  t.deepEqual(
    views.map((view) => [view.target.id, view.healthy]),
    UPSTREAMS.map((upstream) => [upstream.id, true]),
  );
});

test('health changes update the view, and the chooser stops and resumes picking accordingly', (t) => {
  const { actor, views } = startBalancer();
  const choose = createChooser(views, 'round-robin');
  const [a, b, c] = UPSTREAMS as [UpstreamTarget, UpstreamTarget, UpstreamTarget];
  actor.send(changed(b, false));
  t.deepEqual(
    views.map((view) => view.healthy),
    [true, false, true],
  );
  t.deepEqual([choose([]), choose([]), choose([]), choose([])], [a.id, c.id, a.id, c.id]);
  actor.send(changed(b, true));
  t.true(views[1]?.healthy);
  const picks = [choose([]), choose([]), choose([])].sort();
  t.deepEqual(picks, [a.id, b.id, c.id].sort(), 'all three take turns again');
});

test('the chooser honours the ids a request already tried, and answers undefined when none is left', (t) => {
  const { actor, views } = startBalancer();
  const [a, b, c] = UPSTREAMS as [UpstreamTarget, UpstreamTarget, UpstreamTarget];
  for (const algorithm of ['round-robin', 'random'] as const) {
    const choose = createChooser(views, algorithm);
    t.is(choose([a.id, c.id]), b.id, algorithm);
  }
  actor.send(changed(b, false));
  t.is(createChooser(views, 'round-robin')([a.id, c.id]), undefined);
  actor.send(changed(a, false));
  actor.send(changed(c, false));
  t.is(createChooser(views, 'random')([]), undefined);
});

test('a health change for an upstream it does not know is ignored', (t) => {
  const { actor, views } = startBalancer();
  actor.send(changed({ id: '10.9.9.9:1', host: '10.9.9.9', port: 1, weight: 1 }, false));
  t.true(views.every((view) => view.healthy));
  t.is(actor.getSnapshot().status, 'active');
});
