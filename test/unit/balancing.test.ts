/** Upstream selection strategies, and the guarantees of the interface every strategy keeps. */
import test from 'ava';
import {
  createStrategy,
  isUsable,
  LoadFigures,
  type Candidate,
  type SelectionStrategy,
} from '../../src/balancing/index.js';
import { RandomChoice } from '../../src/balancing/random.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import { mulberry32 } from '../helpers/seeded-random.js';

interface TestCandidate extends Candidate {
  healthy: boolean;
}

function candidates(...spec: (readonly [id: string, healthy: boolean])[]): TestCandidate[] {
  return spec.map(([id, healthy]) => ({ id, weight: 1, healthy, load: new LoadFigures() }));
}

const allHealthy = (...ids: string[]): TestCandidate[] => candidates(...ids.map((id) => [id, true] as const));

function built<S extends SelectionStrategy>(strategy: S, members: readonly Candidate[]): S {
  strategy.rebuild(members);
  return strategy;
}

function picks(strategy: SelectionStrategy, count: number, exclude: string[] = []): (string | undefined)[] {
  const ids: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) ids.push(strategy.pick('', exclude)?.id);
  return ids;
}

const strategies = (): [string, SelectionStrategy][] => [
  ['round-robin', new RoundRobin()],
  ['random', new RandomChoice(mulberry32(3))],
];

test('isUsable: healthy and not excluded', (t) => {
  const [a, dead] = candidates(['a', true], ['dead', false]) as [Candidate, Candidate];
  t.true(isUsable(a, []));
  t.false(isUsable(a, ['a']));
  t.true(isUsable(a, ['b']));
  t.false(isUsable(dead, []));
});

// The interface's guarantees, for every strategy -------------------------------

test('every strategy: a dead candidate is never picked', (t) => {
  for (const [name, strategy] of strategies()) {
    built(strategy, candidates(['a', true], ['dead', false], ['c', true]));
    t.false(picks(strategy, 200).includes('dead'), name);
  }
});

test('every strategy: excluded ids are skipped, and nothing is picked when all are excluded', (t) => {
  for (const [name, strategy] of strategies()) {
    built(strategy, allHealthy('a', 'b', 'c'));
    t.deepEqual([...new Set(picks(strategy, 200, ['a', 'c']))], ['b'], name);
    t.is(strategy.pick('', ['a', 'b', 'c']), undefined, name);
  }
});

test('every strategy: before its first rebuild, and over no candidates, it picks nothing', (t) => {
  for (const [name, strategy] of strategies()) {
    t.is(strategy.pick('', []), undefined, name);
    t.is(built(strategy, []).pick('', []), undefined, name);
  }
});

test('no strategy reads the request key yet, so it is never computed for them', (t) => {
  for (const [name, strategy] of strategies()) t.false(strategy.usesKey, name);
});

// Round-robin ------------------------------------------------------------------

test('round-robin takes each upstream in turn', (t) => {
  t.deepEqual(picks(built(new RoundRobin(), allHealthy('a', 'b', 'c')), 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('round-robin skips a dead upstream without giving its neighbour a double turn', (t) => {
  const strategy = built(new RoundRobin(), candidates(['a', true], ['b', false], ['c', true], ['d', true]));
  t.deepEqual(picks(strategy, 9), ['a', 'c', 'd', 'a', 'c', 'd', 'a', 'c', 'd']);
});

test('round-robin picks up a revived upstream in its place', (t) => {
  const members = candidates(['a', true], ['b', false], ['c', true]);
  const strategy = built(new RoundRobin(), members);
  t.deepEqual(picks(strategy, 2), ['a', 'c']);
  (members[1] as TestCandidate).healthy = true;
  strategy.rebuild(members.slice());
  t.deepEqual(picks(strategy, 3), ['a', 'b', 'c']);
});

test('round-robin skips excluded upstreams and keeps its turn order', (t) => {
  const strategy = built(new RoundRobin(), allHealthy('a', 'b', 'c'));
  t.is(strategy.pick('', [])?.id, 'a');
  t.is(strategy.pick('', ['b'])?.id, 'c', 'a retry that already tried b');
  t.is(strategy.pick('', [])?.id, 'a');
});

test('round-robin answers undefined when nothing is usable', (t) => {
  t.is(built(new RoundRobin(), candidates(['a', false], ['b', true])).pick('', ['b']), undefined);
  t.is(built(new RoundRobin(), allHealthy('a', 'b')).pick('', ['a', 'b']), undefined);
});

test('round-robin survives the membership shrinking under its cursor', (t) => {
  const strategy = built(new RoundRobin(), allHealthy('a', 'b', 'c', 'd'));
  picks(strategy, 3);
  strategy.rebuild(allHealthy('a', 'b'));
  t.is(strategy.pick('', [])?.id, 'b');
});

// Random -----------------------------------------------------------------------

test('random picks only usable upstreams', (t) => {
  const strategy = built(new RandomChoice(mulberry32(1)), candidates(['a', true], ['b', false], ['c', true], ['d', true]));
  t.deepEqual([...new Set(picks(strategy, 500, ['d']))].sort(), ['a', 'c']);
});

test('random is roughly uniform over the usable upstreams', (t) => {
  const strategy = built(new RandomChoice(mulberry32(42)), candidates(['a', true], ['b', true], ['dead', false], ['c', true]));
  const draws = 30_000;
  const counts = new Map<string | undefined, number>();
  for (const id of picks(strategy, draws)) counts.set(id, (counts.get(id) ?? 0) + 1);
  t.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
  for (const [id, count] of counts) {
    t.true(Math.abs(count - draws / 3) < draws * 0.02, `${String(id)} picked ${count} times of ${draws}`);
  }
});

test('random maps the whole range of the random function onto usable upstreams', (t) => {
  const members = candidates(['a', true], ['b', false], ['c', true]);
  t.is(built(new RandomChoice(() => 0), members).pick('', [])?.id, 'a');
  t.is(built(new RandomChoice(() => 0.4999), members).pick('', [])?.id, 'a');
  t.is(built(new RandomChoice(() => 0.5), members).pick('', [])?.id, 'c');
  t.is(built(new RandomChoice(() => 1 - Number.EPSILON), members).pick('', [])?.id, 'c');
});

test('random picks in proportion to weight: weights 3 and 1 give about 75% and 25%', (t) => {
  const members = [
    { id: 'heavy', weight: 3, healthy: true, load: new LoadFigures() },
    { id: 'light', weight: 1, healthy: true, load: new LoadFigures() },
    { id: 'dead', weight: 5, healthy: false, load: new LoadFigures() },
  ];
  const strategy = built(new RandomChoice(mulberry32(7)), members);
  const draws = 10_000;
  const counts = new Map<string | undefined, number>();
  for (const id of picks(strategy, draws)) counts.set(id, (counts.get(id) ?? 0) + 1);
  t.deepEqual([...counts.keys()].sort(), ['heavy', 'light']);
  const heavy = counts.get('heavy') ?? 0;
  t.true(Math.abs(heavy - draws * 0.75) < draws * 0.02, `heavy picked ${heavy} times of ${draws}`);
  // The share boundary of a weighted draw: [0, 0.75) is heavy's, [0.75, 1) light's.
  t.is(built(new RandomChoice(() => 0.7499), members).pick('', [])?.id, 'heavy');
  t.is(built(new RandomChoice(() => 0.75), members).pick('', [])?.id, 'light');
  t.is(built(new RandomChoice(() => 1 - Number.EPSILON), members).pick('', [])?.id, 'light');
  // Excluding the heavy one leaves the light one all of the range.
  t.is(built(new RandomChoice(() => 0), members).pick('', ['heavy'])?.id, 'light');
});

test('createStrategy makes the named strategy', (t) => {
  t.true(createStrategy('round-robin') instanceof RoundRobin);
  t.true(createStrategy('random') instanceof RandomChoice);
});

// Load figures -----------------------------------------------------------------

test('load figures: in-flight goes up and down; the latency estimate jumps to a slower sample and decays toward faster ones', (t) => {
  const load = new LoadFigures({ decayMs: 1_000, initialMs: 30, failurePenaltyMs: 500 });
  t.is(load.latencyEwmaMs, 30, 'a new upstream starts at the assumed latency');
  load.attemptStarted();
  load.attemptStarted();
  t.is(load.inFlight, 2);
  load.attemptEnded();
  t.is(load.inFlight, 1);

  load.latencySampled(100, 1_000);
  t.is(load.latencyEwmaMs, 100, 'a slower sample is taken at once');
  load.latencySampled(10, 2_000);
  // One time constant later the old estimate weighs e^-1.
  t.true(Math.abs(load.latencyEwmaMs - (100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)))) < 1e-9);
  load.latencySampled(10, 2_001);
  t.true(load.latencyEwmaMs > 10 && load.latencyEwmaMs < 50, 'a fast sample soon after moves it only a little');
  load.failureSampled(2_002);
  t.is(load.latencyEwmaMs, 500, 'a failure counts as a slow sample');
  t.is(load.sampledAt, 2_002);
});
