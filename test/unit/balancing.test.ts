/** Upstream selection strategies. */
import test from 'ava';
import { createStrategy, isUsable, type UpstreamView } from '../../src/balancing/index.js';
import { RandomChoice } from '../../src/balancing/random.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';

function views(...spec: (readonly [id: string, healthy: boolean])[]): UpstreamView[] {
  return spec.map(([id, healthy]) => ({ target: { id, host: id, port: 80, weight: 1 }, healthy }));
}

const allHealthy = (...ids: string[]): UpstreamView[] => views(...ids.map((id) => [id, true] as const));

/** A small seeded PRNG (mulberry32), so a statistical test is repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function picks(strategy: { pick: RoundRobin['pick'] }, upstreams: UpstreamView[], count: number, exclude: string[] = []) {
  const ids: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) ids.push(strategy.pick(upstreams, exclude)?.target.id);
  return ids;
}

test('isUsable: healthy and not excluded', (t) => {
  const [a, dead] = views(['a', true], ['dead', false]) as [UpstreamView, UpstreamView];
  t.true(isUsable(a, []));
  t.false(isUsable(a, ['a']));
  t.true(isUsable(a, ['b']));
  t.false(isUsable(dead, []));
});

test('round-robin takes each upstream in turn', (t) => {
  t.deepEqual(picks(new RoundRobin(), allHealthy('a', 'b', 'c'), 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('round-robin skips a dead upstream without giving its neighbour a double turn', (t) => {
  const upstreams = views(['a', true], ['b', false], ['c', true], ['d', true]);
  const ids = picks(new RoundRobin(), upstreams, 9);
  t.deepEqual(ids, ['a', 'c', 'd', 'a', 'c', 'd', 'a', 'c', 'd']);
});

test('round-robin picks up a revived upstream in its place', (t) => {
  const upstreams = views(['a', true], ['b', false], ['c', true]);
  const strategy = new RoundRobin();
  t.deepEqual(picks(strategy, upstreams, 2), ['a', 'c']);
  (upstreams[1] as UpstreamView).healthy = true;
  t.deepEqual(picks(strategy, upstreams, 3), ['a', 'b', 'c']);
});

test('round-robin skips excluded upstreams and keeps its turn order', (t) => {
  const upstreams = allHealthy('a', 'b', 'c');
  const strategy = new RoundRobin();
  t.is(strategy.pick(upstreams, [])?.target.id, 'a');
  t.is(strategy.pick(upstreams, ['b'])?.target.id, 'c', 'a retry that already tried b');
  t.is(strategy.pick(upstreams, [])?.target.id, 'a');
});

test('round-robin answers undefined when nothing is usable, and copes with an empty list', (t) => {
  const strategy = new RoundRobin();
  t.is(strategy.pick(views(['a', false], ['b', true]), ['b']), undefined);
  t.is(strategy.pick([], []), undefined);
  t.is(strategy.pick(allHealthy('a', 'b'), ['a', 'b']), undefined);
});

test('round-robin survives the list shrinking under its cursor', (t) => {
  const strategy = new RoundRobin();
  picks(strategy, allHealthy('a', 'b', 'c', 'd'), 3);
  t.is(strategy.pick(allHealthy('a', 'b'), [])?.target.id, 'b');
});

test('random picks only usable upstreams', (t) => {
  const strategy = new RandomChoice(seeded(1));
  const upstreams = views(['a', true], ['b', false], ['c', true], ['d', true]);
  const ids = [...new Set(picks(strategy, upstreams, 500, ['d']))].sort();
  t.deepEqual(ids, ['a', 'c']);
});

test('random is roughly uniform over the usable upstreams', (t) => {
  const strategy = new RandomChoice(seeded(42));
  const upstreams = views(['a', true], ['b', true], ['dead', false], ['c', true]);
  const draws = 30_000;
  const counts = new Map<string | undefined, number>();
  for (const id of picks(strategy, upstreams, draws)) counts.set(id, (counts.get(id) ?? 0) + 1);
  t.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
  for (const [id, count] of counts) {
    t.true(Math.abs(count - draws / 3) < draws * 0.02, `${String(id)} picked ${count} times of ${draws}`);
  }
});

test('random maps the whole range of the random function onto usable upstreams', (t) => {
  const upstreams = views(['a', true], ['b', false], ['c', true]);
  t.is(new RandomChoice(() => 0).pick(upstreams, [])?.target.id, 'a');
  t.is(new RandomChoice(() => 0.4999).pick(upstreams, [])?.target.id, 'a');
  t.is(new RandomChoice(() => 0.5).pick(upstreams, [])?.target.id, 'c');
  t.is(new RandomChoice(() => 1 - Number.EPSILON).pick(upstreams, [])?.target.id, 'c');
});

test('random answers undefined when nothing is usable', (t) => {
  const strategy = new RandomChoice(seeded(7));
  t.is(strategy.pick(views(['a', false], ['b', true]), ['b']), undefined);
  t.is(strategy.pick([], []), undefined);
});

test('createStrategy makes the named strategy', (t) => {
  t.true(createStrategy('round-robin') instanceof RoundRobin);
  t.true(createStrategy('random') instanceof RandomChoice);
});
