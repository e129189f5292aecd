/**
 * The balancer actor: subscribes to every upstream, owns its process's
 * candidates, rebuilds the strategy on every health or membership change, and
 * the chooser reads it.
 */
import test from 'ava';
import { balancerMachine, createChooser } from '../../src/actors/balancer.js';
import { startActor } from '../../src/actors/inspection.js';
import { localNameOf, MailboxRouter } from '../../src/actors/router.js';
import { clientIpKey, UpstreamLoads, type Candidate, type SelectionStrategy } from '../../src/balancing/index.js';
import { RandomChoice } from '../../src/balancing/random.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import {
  upstreamAddress,
  type Address,
  type RoutedMessage,
  type UpstreamHealthChanged,
  type UpstreamTarget,
} from '../../src/protocol/index.js';

const target = (port: number, weight = 1, host = '127.0.0.1'): UpstreamTarget => ({
  id: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
  host,
  port,
  weight,
});

const UPSTREAMS: UpstreamTarget[] = [target(9001), target(9002), target(9003, 1, '::1')];

/** Wraps a strategy and records what every rebuild was given: [id, weight, healthy] per candidate. */
class RecordingStrategy implements SelectionStrategy {
  readonly rebuilds: [string, number, boolean][][] = [];
  readonly given: (readonly Candidate[])[] = [];

  constructor(private readonly inner: SelectionStrategy = new RoundRobin()) {}

  get usesKey(): boolean {
    return this.inner.usesKey;
  }

  rebuild(candidates: readonly Candidate[]): void {
    this.given.push(candidates);
    this.rebuilds.push(candidates.map((candidate) => [candidate.id, candidate.weight, candidate.healthy]));
    this.inner.rebuild(candidates);
  }

  pick(key: string, exclude: readonly string[]): Candidate | undefined {
    return this.inner.pick(key, exclude);
  }
}

function startBalancer(node = 'p', inner?: SelectionStrategy) {
  const router = new MailboxRouter(node);
  const sent: { to: Address; message: RoutedMessage }[] = [];
  if (node === 'p') {
    // Every upstream actor, known or to come, is a recording mailbox.
    for (const port of [9001, 9002, 9004, 9005]) {
      const to = upstreamAddress(target(port).id);
      router.register(localNameOf(to), { send: (message: RoutedMessage) => sent.push({ to, message }) });
    }
    const to = upstreamAddress(target(9003, 1, '::1').id);
    router.register(localNameOf(to), { send: (message: RoutedMessage) => sent.push({ to, message }) });
  } else {
    router.connectUplink({ send: (envelope) => sent.push({ to: envelope.to, message: envelope.message }) });
  }
  const strategy = new RecordingStrategy(inner);
  const loads = new UpstreamLoads();
  const address: Address = `${node}/balancer`;
  const actor = startActor(balancerMachine, {
    input: {
      address,
      router,
      upstreams: UPSTREAMS,
      strategy,
      loads,
    },
  });
  const choose = createChooser(strategy, clientIpKey);
  const chooseExcluding = (...tried: string[]) => choose({ clientIp: '10.0.0.1', req: { headers: {} }, tried });
  return { actor, strategy, loads, sent, address, choose: chooseExcluding };
}

const changed = (upstream: UpstreamTarget, healthy: boolean): UpstreamHealthChanged => ({
  type: 'upstream.health-changed',
  upstreamId: upstream.id,
  healthy,
  reason: healthy ? 'health check passed: status 200' : 'connect failed: ECONNREFUSED',
});

const [A, B, C] = UPSTREAMS as [UpstreamTarget, UpstreamTarget, UpstreamTarget];

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

test('on start, the strategy is built once over every upstream, healthy, with its weight and its load figures', (t) => {
  const { strategy, loads } = startBalancer();
  t.deepEqual(strategy.rebuilds, [UPSTREAMS.map((upstream) => [upstream.id, 1, true])]);
  t.true(strategy.given[0]?.every((candidate) => candidate.load === loads.of(candidate.id)));
});

test('a health change rebuilds the strategy; a report that changes nothing does not', (t) => {
  const { actor, strategy, choose } = startBalancer();
  actor.send(changed(B, true)); // the first report after subscribing: as assumed
  t.is(strategy.rebuilds.length, 1);
  actor.send(changed(B, false));
  t.is(strategy.rebuilds.length, 2);
  t.deepEqual(strategy.rebuilds[1]?.map(([, , healthy]) => healthy), [true, false, true]);
  t.deepEqual([choose(), choose(), choose(), choose()], [A.id, C.id, A.id, C.id]);
  actor.send(changed(B, true));
  t.is(strategy.rebuilds.length, 3);
  t.deepEqual([choose(), choose(), choose()].sort(), [A.id, B.id, C.id].sort(), 'all three take turns again');
});

test('the chooser honours the ids a request already tried, and answers undefined when none is left', (t) => {
  for (const inner of [new RoundRobin(), new RandomChoice()]) {
    const { actor, choose } = startBalancer('p', inner);
    t.is(choose(A.id, C.id), B.id);
    actor.send(changed(B, false));
    t.is(choose(A.id, C.id), undefined);
    actor.send(changed(A, false));
    actor.send(changed(C, false));
    t.is(choose(), undefined);
  }
});

test('a health change for an upstream it does not know is ignored', (t) => {
  const { actor, strategy } = startBalancer();
  actor.send(changed(target(9999, 1, '10.9.9.9'), false));
  t.is(strategy.rebuilds.length, 1);
  t.is(actor.getSnapshot().status, 'active');
});

test('upstreams-set adds, removes and re-weights by id, subscribes to every listed one, and rebuilds', (t) => {
  const { actor, strategy, sent, loads, choose } = startBalancer();
  actor.send(changed(B, false));
  const bLoad = loads.of(B.id);
  const aLoad = loads.of(A.id);
  sent.length = 0;
  const D = target(9004);
  // C removed, A re-weighted, D added, and the order changed: B (still dead) first.
  actor.send({ type: 'balancer.upstreams-set', upstreams: [B, { ...A, weight: 3 }, D] });

  // Every listed one: after a reload that restarted the upstream actors, they know no subscribers.
  const subscribe = { type: 'upstream.subscribe', replyTo: 'p/balancer' } as const;
  t.deepEqual(sent, [B, A, D].map((upstream) => ({ to: upstreamAddress(upstream.id), message: subscribe })));
  t.deepEqual(strategy.rebuilds.at(-1), [
    [B.id, 1, false],
    [A.id, 3, true],
    [D.id, 1, true],
  ]);
  const rebuilt = strategy.given.at(-1) ?? [];
  t.is(rebuilt[0]?.load, bLoad, 'a kept upstream keeps its load figures');
  t.is(rebuilt[1]?.load, aLoad);
  t.deepEqual([choose(), choose(), choose(), choose()], [A.id, D.id, A.id, D.id], 'C is no longer chosen');

  actor.send(changed(C, false));
  t.is(strategy.rebuilds.length, 3, 'a removed upstream\'s health no longer matters');
});

test('upstreams-set: a removed upstream added back is subscribed again and starts with fresh load figures', (t) => {
  const { actor, strategy, sent, loads } = startBalancer();
  const old = loads.of(C.id);
  old.attemptStarted();
  actor.send({ type: 'balancer.upstreams-set', upstreams: [A, B] });
  sent.length = 0;
  actor.send({ type: 'balancer.upstreams-set', upstreams: [A, B, C] });
  const subscribe = { type: 'upstream.subscribe', replyTo: 'p/balancer' } as const;
  t.deepEqual(sent, [A, B, C].map((upstream) => ({ to: upstreamAddress(upstream.id), message: subscribe })));
  const back = strategy.given.at(-1)?.[2];
  t.is(back?.id, C.id);
  t.not(back?.load, old);
  t.is(back?.load.inFlight, 0);
});

test('upstreams-set with an id listed twice keeps the first', (t) => {
  const { actor, strategy } = startBalancer();
  actor.send({ type: 'balancer.upstreams-set', upstreams: [A, { ...A, weight: 5 }, B] });
  t.deepEqual(strategy.rebuilds.at(-1), [
    [A.id, 1, true],
    [B.id, 1, true],
  ]);
});

test('upstreams-set to an empty list leaves nothing to choose, without failing', (t) => {
  const { actor, choose } = startBalancer();
  actor.send({ type: 'balancer.upstreams-set', upstreams: [] });
  t.is(choose(), undefined);
  t.is(actor.getSnapshot().status, 'active');
});
