/**
 * The balancer actor: subscribes to every upstream, owns its process's
 * candidates, rebuilds the strategy on every health or membership change, and
 * the chooser reads it.
 */
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { balancerMachine, createChooser } from '../../src/actors/balancer.js';
import { startActor } from '../../src/actors/inspection.js';
import { localNameOf, MailboxRouter } from '../../src/actors/router.js';
import { clientIpKey, UpstreamLoads, type Candidate, type SelectionStrategy } from '../../src/balancing/index.js';
import { RandomChoice } from '../../src/balancing/random.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import { WeightedRoundRobin } from '../../src/balancing/weighted-round-robin.js';
import {
  upstreamAddress,
  type Address,
  type RoutedMessage,
  type UpstreamHealthChanged,
  type BalancerPolicy,
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

// Panic threshold and slow start ---------------------------------------------------------------------------------

/** A simulated clock that knows how many timers are pending, so a test can see that nothing is scheduled. */
class CountingClock extends SimulatedClock {
  readonly pending = new Set<number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = super.setTimeout((...args: unknown[]) => {
      this.pending.delete(id);
      fn(...args);
    }, timeout);
    this.pending.add(id);
    return id;
  }

  override clearTimeout(id: number): void {
    this.pending.delete(id);
    super.clearTimeout(id);
  }
}

const FOUR: UpstreamTarget[] = [target(9001), target(9002), target(9004), target(9005, 2)];

function startWithPolicy(policy: BalancerPolicy, inner: SelectionStrategy = new RoundRobin()) {
  const router = new MailboxRouter('p');
  for (const upstream of FOUR) router.register(localNameOf(upstreamAddress(upstream.id)), { send: () => undefined });
  const strategy = new RecordingStrategy(inner);
  const logged: { level: 'warn' | 'info'; msg: string }[] = [];
  const log = {
    warn: (msg: string) => void logged.push({ level: 'warn', msg }),
    info: (msg: string) => void logged.push({ level: 'info', msg }),
  };
  const clock = new CountingClock();
  const actor = startActor(balancerMachine, {
    input: { address: 'p/balancer', router, upstreams: FOUR, strategy, loads: new UpstreamLoads(), policy, log },
    clock,
  });
  const choose = createChooser(strategy, clientIpKey);
  const chooseExcluding = (...tried: string[]) => choose({ clientIp: '10.0.0.1', req: { headers: {} }, tried });
  return { actor, strategy, logged, clock, choose: chooseExcluding };
}

const [U1, U2, U3, U4] = FOUR as [UpstreamTarget, UpstreamTarget, UpstreamTarget, UpstreamTarget];

test('panic threshold 50 of 4: two dead is normal, three dead balances over all (logged once), recovery logged once', (t) => {
  const { actor, strategy, logged, choose } = startWithPolicy({ slowStartMs: 0, panicThreshold: 50 });
  actor.send(changed(U1, false));
  actor.send(changed(U2, false));
  // 2 of 4 healthy is 50%: not below the threshold.
  t.deepEqual(logged, []);
  t.deepEqual(strategy.rebuilds.at(-1)?.map(([, , healthy]) => healthy), [false, false, true, true]);
  t.deepEqual(new Set([choose(), choose(), choose(), choose()]), new Set([U3.id, U4.id]));

  actor.send(changed(U3, false));
  t.deepEqual(logged, [{ level: 'warn', msg: 'panic mode: 1 of 4 upstreams healthy, balancing over all' }]);
  t.deepEqual(strategy.rebuilds.at(-1)?.map(([, , healthy]) => healthy), [true, true, true, true], 'every candidate reads usable');
  t.deepEqual([choose(), choose(), choose(), choose()].sort(), FOUR.map((upstream) => upstream.id).sort(), 'dead ones are picked too');
  t.is(choose(U1.id, U2.id, U3.id), U4.id, 'an upstream the request already tried is still never picked');
  t.is(choose(U1.id, U2.id, U3.id, U4.id), undefined);

  actor.send(changed(U4, false)); // all dead: still panic, no second line
  actor.send(changed(U1, true)); // 1 of 4: still panic
  t.is(logged.length, 1);

  actor.send(changed(U2, true)); // 2 of 4: over
  t.deepEqual(logged.slice(1), [{ level: 'info', msg: 'panic mode over: 2 of 4 upstreams healthy' }]);
  t.deepEqual(strategy.rebuilds.at(-1)?.map(([, , healthy]) => healthy), [true, true, false, false]);
  actor.send(changed(U3, true));
  t.is(logged.length, 2);
});

test('panic threshold 0 is off: with three of four dead only the survivor is picked', (t) => {
  const { actor, logged, choose } = startWithPolicy({ slowStartMs: 0, panicThreshold: 0 });
  for (const upstream of [U1, U2, U3]) actor.send(changed(upstream, false));
  t.deepEqual([choose(), choose(), choose()], [U4.id, U4.id, U4.id]);
  t.deepEqual(logged, []);
});

test('a reload can change the panic threshold; panic follows membership too', (t) => {
  const { actor, logged } = startWithPolicy({ slowStartMs: 0, panicThreshold: 0 });
  actor.send(changed(U1, false));
  actor.send(changed(U2, false));
  actor.send({ type: 'balancer.upstreams-set', upstreams: FOUR, policy: { slowStartMs: 0, panicThreshold: 60 } });
  t.deepEqual(logged.map(({ level }) => level), ['warn'], '2 of 4 is below 60%');
  actor.send({ type: 'balancer.upstreams-set', upstreams: [U1, U3, U4], policy: { slowStartMs: 0, panicThreshold: 60 } });
  t.deepEqual(logged.map(({ msg }) => msg), ['panic mode: 2 of 4 upstreams healthy, balancing over all', 'panic mode over: 2 of 3 upstreams healthy']);
});

test('slow start 10 s: a revived upstream rises from 10% in nine steps to its full weight after 10 s, one rebuild a step', (t) => {
  const { actor, strategy, clock } = startWithPolicy({ slowStartMs: 10_000, panicThreshold: 0 });
  const weights = () => strategy.rebuilds.at(-1)?.map(([, weight]) => weight);
  t.deepEqual(weights(), [10, 10, 10, 20], 'while slow start is on, weights read ×10');
  t.is(clock.pending.size, 0, 'nothing scheduled while nobody ramps');

  actor.send(changed(U4, false));
  t.is(clock.pending.size, 0);
  actor.send(changed(U4, true));
  t.deepEqual(weights(), [10, 10, 10, 2], 'back at a tenth of its weight 2');
  t.is(clock.pending.size, 1);

  const seen: number[] = [];
  const before = strategy.rebuilds.length;
  const step = Math.round(10_000 / 9); // 1,111 ms: full weight at 9,999 ms
  for (let i = 1; i <= 9; i++) {
    clock.increment(step - 1);
    t.is(strategy.rebuilds.length, before + i - 1, `no step before ${i} × window/9`);
    clock.increment(1);
    seen.push(weights()?.[3] ?? -1);
  }
  t.deepEqual(seen, [4, 6, 8, 10, 12, 14, 16, 18, 20]);
  t.is(strategy.rebuilds.length, before + 9, 'one rebuild per step');
  t.is(clock.pending.size, 0, 'nothing scheduled once it is at full weight');
  clock.increment(60_000);
  t.is(strategy.rebuilds.length, before + 9);
});

test('slow start: an upstream added by a reload ramps; one dying mid-ramp stops ramping; turning it off ends every ramp', (t) => {
  const { actor, strategy, clock } = startWithPolicy({ slowStartMs: 900, panicThreshold: 0 });
  const weights = () => strategy.rebuilds.at(-1)?.map(([, weight]) => weight);
  const policy = { slowStartMs: 900, panicThreshold: 0 };
  actor.send({ type: 'balancer.upstreams-set', upstreams: [U1, U2], policy });
  actor.send({ type: 'balancer.upstreams-set', upstreams: [U1, U2, U3], policy });
  t.deepEqual(weights(), [10, 10, 1], 'a newly added upstream starts at a tenth');
  clock.increment(100);
  t.deepEqual(weights(), [10, 10, 2]);
  actor.send(changed(U3, false));
  t.is(clock.pending.size, 0, 'dead: no longer ramping, so no timer');
  actor.send(changed(U3, true));
  t.deepEqual(weights(), [10, 10, 1], 'revived: from a tenth again');
  actor.send({ type: 'balancer.upstreams-set', upstreams: [U1, U2, U3], policy: { slowStartMs: 0, panicThreshold: 0 } });
  t.deepEqual(weights(), [1, 1, 1], 'off: configured weights, nobody ramps');
  t.is(clock.pending.size, 0);
});

test('slow start shifts picks gradually: weighted round-robin gives a revived upstream 1 of 41 picks at first', (t) => {
  const { actor, choose } = startWithPolicy({ slowStartMs: 9_000, panicThreshold: 0 }, new WeightedRoundRobin());
  actor.send(changed(U1, false));
  actor.send(changed(U1, true));
  // Weights 1, 10, 10, 20 (×10 scale; U1 at a tenth): U1 gets one pick in 41.
  const picks = Array.from({ length: 41 }, () => choose());
  t.is(picks.filter((id) => id === U1.id).length, 1);
});

// Drain (the admin API) ------------------------------------------------------------------------------------------

test('a drained upstream is never picked, in panic neither, and does not count toward panic; restoring it brings it back', (t) => {
  const { actor, logged, choose } = startWithPolicy({ slowStartMs: 0, panicThreshold: 50 });
  const drained = (upstream: UpstreamTarget): UpstreamTarget => ({ ...upstream, draining: true });
  actor.send({ type: 'balancer.upstreams-set', upstreams: [drained(U1), U2, U3, U4] });
  t.false(Array.from({ length: 12 }, () => choose()).includes(U1.id));
  // Two of the three undrained dead: one of three healthy is panic, but the drained one is still left out.
  actor.send(changed(U2, false));
  actor.send(changed(U3, false));
  t.deepEqual(logged.map(({ msg }) => msg), ['panic mode: 1 of 3 upstreams healthy, balancing over all']);
  const picked = new Set(Array.from({ length: 12 }, () => choose()));
  t.deepEqual([...picked].sort(), [U2.id, U3.id, U4.id].sort());
  t.is(choose(U2.id, U3.id, U4.id), undefined, 'the drained one is no fail-over target either');
  actor.send({ type: 'balancer.upstreams-set', upstreams: FOUR });
  t.true(Array.from({ length: 12 }, () => choose()).includes(U1.id), 'restored');
});
