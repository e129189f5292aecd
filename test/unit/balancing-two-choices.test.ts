/** The power of two choices (`p2c`) and peak-EWMA, on fake candidates whose load figures the test sets. */
import test from 'ava';
import { createStrategy, LoadFigures, type Candidate, type SelectionStrategy } from '../../src/balancing/index.js';
import { PowerOfTwoChoices } from '../../src/balancing/p2c.js';
import { latencyEstimateAt, PeakEwma } from '../../src/balancing/peak-ewma.js';
import { pickOfTwo, type LoadOrder } from '../../src/balancing/two-choices.js';
import { mulberry32, type Random } from '../helpers/seeded-random.js';

interface FakeCandidate extends Candidate {
  healthy: boolean;
  load: LoadFigures;
}

interface Spec {
  readonly weight?: number;
  readonly healthy?: boolean;
  readonly inFlight?: number;
  /** A latency sample taken at `sampledAt` (default 1 000), replacing the assumed latency. */
  readonly latencyMs?: number;
  readonly sampledAt?: number;
}

const ESTIMATE = { decayMs: 10_000, initialMs: 30, failurePenaltyMs: 1_000 };

function candidate(id: string, spec: Spec = {}): FakeCandidate {
  const load = new LoadFigures(ESTIMATE);
  for (let i = 0; i < (spec.inFlight ?? 0); i++) load.attemptStarted();
  if (spec.latencyMs !== undefined) {
    // A sample at least as slow as the estimate replaces it; a faster one after a very long idle nearly does.
    load.latencySampled(Math.max(spec.latencyMs, 30), spec.sampledAt ?? 1_000);
    if (spec.latencyMs < 30) load.latencySampled(spec.latencyMs, (spec.sampledAt ?? 1_000) + 1e9);
    setSampledAt(load, spec.sampledAt ?? 1_000);
  }
  return { id, weight: spec.weight ?? 1, healthy: spec.healthy ?? true, load };
}

/** Test-only: move the time of the last sample (the byte path's field). */
function setSampledAt(load: LoadFigures, at: number): void {
  load.sampledAt = at;
}

function built<S extends SelectionStrategy>(strategy: S, members: readonly Candidate[]): S {
  strategy.rebuild(members);
  return strategy;
}

function counts(strategy: SelectionStrategy, picks: number, exclude: string[] = []): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const id = strategy.pick('', exclude)?.id ?? 'none';
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

/** A seeded random source that also counts its draws. */
function recording(seed: number): { random: Random; draws: number[] } {
  const source = mulberry32(seed);
  const draws: number[] = [];
  return {
    draws,
    random: () => {
      const value = source();
      draws.push(value);
      return value;
    },
  };
}

const twoChoiceStrategies = (random: Random): [string, SelectionStrategy][] => [
  ['p2c', new PowerOfTwoChoices(random)],
  ['peak-ewma', new PeakEwma(random, ESTIMATE, () => 1_000)],
];

// The shared sampling ----------------------------------------------------------

test('the two drawn are always distinct usable candidates, each pair as often as the others, two draws per pick', (t) => {
  const members = [candidate('a'), candidate('dead', { healthy: false }), candidate('b'), candidate('c'), candidate('d')];
  const pairs = new Map<string, number>();
  const spy: LoadOrder = {
    lighter(a, b) {
      t.not(a, b, 'a candidate compared with itself');
      const pair = [a.id, b.id].sort().join('+');
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      return false;
    },
  };
  const { random, draws } = recording(7);
  const picks = 12_000;
  for (let i = 0; i < picks; i++) {
    const picked = pickOfTwo(members, ['d'], random, spy);
    t.true(picked !== undefined && ['a', 'b', 'c'].includes(picked.id));
  }
  t.is(draws.length, 2 * picks);
  t.deepEqual([...pairs.keys()].sort(), ['a+b', 'a+c', 'b+c']);
  for (const [pair, count] of pairs) t.true(Math.abs(count - picks / 3) < picks * 0.03, `${pair}: ${count} of ${picks}`);
});

test('the whole range of the random source maps onto distinct ordinals', (t) => {
  const members = [candidate('a'), candidate('b'), candidate('c')];
  const compared: string[] = [];
  const spy: LoadOrder = {
    lighter(second, first) {
      compared.push(`${first.id}${second.id}`);
      return false;
    },
  };
  for (const [x, y] of [
    [0, 0],
    [0, 1 - Number.EPSILON],
    [1 - Number.EPSILON, 0],
    [1 - Number.EPSILON, 1 - Number.EPSILON],
    [0.5, 0.5],
  ] as const) {
    const values = [x, y];
    pickOfTwo(members, [], () => values.shift() ?? 0, spy);
  }
  t.deepEqual(compared, ['ab', 'ac', 'ca', 'cb', 'bc']);
});

test('a tie goes to the first drawn, so ties split evenly', (t) => {
  const strategy = built(new PowerOfTwoChoices(mulberry32(5)), [candidate('a', { inFlight: 2 }), candidate('b', { inFlight: 2 })]);
  const seen = counts(strategy, 10_000);
  t.true(Math.abs((seen.get('a') ?? 0) - 5_000) < 300, `a ${seen.get('a')}, b ${seen.get('b')}`);
  t.is(built(new PowerOfTwoChoices(() => 0), [candidate('a'), candidate('b')]).pick('', [])?.id, 'a');
  t.is(built(new PowerOfTwoChoices(() => 0.99), [candidate('a'), candidate('b')]).pick('', [])?.id, 'b');
});

// The interface's guarantees, for both -----------------------------------------

test('both: with two usable, the busier one is never picked (never compared with itself)', (t) => {
  for (const [name, strategy] of twoChoiceStrategies(mulberry32(11))) {
    built(strategy, [candidate('idle', { latencyMs: 20 }), candidate('busy', { inFlight: 1, latencyMs: 20 })]);
    t.deepEqual([...counts(strategy, 2_000).keys()], ['idle'], name);
  }
});

test('both: dead and excluded candidates are never picked; one usable is picked without a draw; none gives undefined', (t) => {
  for (const [name, strategy] of twoChoiceStrategies(mulberry32(3))) {
    const members = [candidate('a', { inFlight: 9 }), candidate('dead', { healthy: false }), candidate('b'), candidate('c')];
    built(strategy, members);
    t.deepEqual([...counts(strategy, 2_000).keys()].sort(), ['b', 'c'], `${name}: the loaded a loses every pair`);
    t.deepEqual([...counts(strategy, 500, ['b', 'c']).keys()], ['a'], `${name}: the only usable one, however loaded`);
    t.is(strategy.pick('', ['a', 'b', 'c']), undefined, name);
  }
  const { random, draws } = recording(1);
  t.is(built(new PowerOfTwoChoices(random), [candidate('only'), candidate('dead', { healthy: false })]).pick('', [])?.id, 'only');
  t.is(draws.length, 0);
});

test('both: nothing before the first rebuild or over no candidates; the key is never read', (t) => {
  for (const [name, strategy] of twoChoiceStrategies(mulberry32(2))) {
    t.is(strategy.pick('', []), undefined, name);
    t.is(built(strategy, []).pick('', []), undefined, name);
    t.false(strategy.usesKey, name);
  }
});

test('createStrategy makes p2c and peak-ewma', (t) => {
  t.true(createStrategy('p2c') instanceof PowerOfTwoChoices);
  t.true(createStrategy('peak-ewma') instanceof PeakEwma);
});

// p2c --------------------------------------------------------------------------

test('p2c: of the two drawn, the one with fewer in flight wins', (t) => {
  const members = [candidate('a', { inFlight: 3 }), candidate('b', { inFlight: 1 }), candidate('c', { inFlight: 2 })];
  const seen = counts(built(new PowerOfTwoChoices(mulberry32(9)), members), 9_000);
  // a never wins; b wins both its pairs (2/3 of picks); c wins only against a (1/3).
  t.false(seen.has('a'));
  t.true(Math.abs((seen.get('b') ?? 0) - 6_000) < 300, `b ${seen.get('b')}`);
  t.true(Math.abs((seen.get('c') ?? 0) - 3_000) < 300, `c ${seen.get('c')}`);
});

test('p2c: weights divide the load, also when both are idle', (t) => {
  const p2c = new PowerOfTwoChoices(mulberry32(4));
  t.deepEqual([...counts(built(p2c, [candidate('light'), candidate('heavy', { weight: 3 })]), 500).keys()], ['heavy']);
  // (2 + 1) / 3 < (1 + 1) / 1: the heavy one wins with more in flight.
  const members = [candidate('light', { inFlight: 1 }), candidate('heavy', { weight: 3, inFlight: 2 })];
  t.deepEqual([...counts(built(p2c, members), 500).keys()], ['heavy']);
  // (3 + 1) / 3 > (0 + 1) / 1.
  const loaded = [candidate('light'), candidate('heavy', { weight: 3, inFlight: 3 })];
  t.deepEqual([...counts(built(p2c, loaded), 500).keys()], ['light']);
});

test('p2c: at equal load the lower latency estimate wins; load comes first; equal estimates go to the first drawn', (t) => {
  const slowFast = (): FakeCandidate[] => [candidate('slow', { latencyMs: 100 }), candidate('fast', { latencyMs: 10 })];
  // Both draw orders: () => 0 draws slow then fast, () => 0.99 fast then slow.
  t.is(built(new PowerOfTwoChoices(() => 0), slowFast()).pick('', [])?.id, 'fast');
  t.is(built(new PowerOfTwoChoices(() => 0.99), slowFast()).pick('', [])?.id, 'fast');
  const busyFast = [candidate('slow', { latencyMs: 100 }), candidate('fast', { latencyMs: 10, inFlight: 1 })];
  t.deepEqual([...counts(built(new PowerOfTwoChoices(mulberry32(3)), busyFast), 500).keys()], ['slow'], 'fewer in flight first');
  const same = [candidate('a', { latencyMs: 10 }), candidate('b', { latencyMs: 10 })];
  t.is(built(new PowerOfTwoChoices(() => 0), same).pick('', [])?.id, 'a');
  t.is(built(new PowerOfTwoChoices(() => 0.99), same).pick('', [])?.id, 'b');
});

// A closed-loop simulation: `clients` each send a request, wait for its answer, send the next.
interface Simulated {
  readonly shares: Map<string, number>;
  readonly total: number;
}

function simulate(strategy: SelectionStrategy, members: FakeCandidate[], latencyOf: Map<string, number>, requests: number, clients: number, clock: { now: number }): Simulated {
  strategy.rebuild(members);
  const shares = new Map<string, number>(members.map((member) => [member.id, 0]));
  const pending: { at: number; member: FakeCandidate; ms: number }[] = [];
  const send = (): void => {
    const member = strategy.pick('', []) as FakeCandidate;
    const ms = latencyOf.get(member.id) ?? 0;
    member.load.attemptStarted();
    shares.set(member.id, (shares.get(member.id) ?? 0) + 1);
    pending.push({ at: clock.now + ms, member, ms });
  };
  for (let i = 0; i < clients; i++) send();
  for (let sent = clients; sent < requests; sent++) {
    let next = 0;
    for (let i = 1; i < pending.length; i++) if ((pending[i]?.at ?? 0) < (pending[next]?.at ?? 0)) next = i;
    const [done] = pending.splice(next, 1);
    if (done === undefined) break;
    clock.now = done.at;
    done.member.load.latencySampled(done.ms, clock.now);
    done.member.load.attemptEnded();
    send();
  }
  return { shares, total: requests };
}

test('p2c: weights give a proportional share under a closed load', (t) => {
  const clock = { now: 1_000 };
  const members = [candidate('light'), candidate('heavy', { weight: 3 })];
  const { shares, total } = simulate(new PowerOfTwoChoices(mulberry32(6)), members, new Map([['light', 10], ['heavy', 10]]), 4_000, 16, clock);
  const heavy = (shares.get('heavy') ?? 0) / total;
  t.true(heavy > 0.65 && heavy < 0.85, `heavy took ${(heavy * 100).toFixed(1)}%`);
});

// peak-ewma --------------------------------------------------------------------

test('peak-ewma: the low-latency candidate wins at equal in-flight; in-flight multiplies the cost', (t) => {
  const clock = () => 1_000;
  const fastSlow = [candidate('fast', { latencyMs: 10 }), candidate('slow', { latencyMs: 100 })];
  t.deepEqual([...counts(built(new PeakEwma(mulberry32(1), ESTIMATE, clock), fastSlow), 500).keys()], ['fast']);
  // 10 × (9 + 1) = 100 = 100 × (0 + 1): a tie, split; 10 × 11 > 100: the slow one.
  const tied = [candidate('fast', { latencyMs: 10, inFlight: 9 }), candidate('slow', { latencyMs: 100 })];
  t.deepEqual([...counts(built(new PeakEwma(mulberry32(1), ESTIMATE, clock), tied), 500).keys()].sort(), ['fast', 'slow']);
  const busy = [candidate('fast', { latencyMs: 10, inFlight: 10 }), candidate('slow', { latencyMs: 100 })];
  t.deepEqual([...counts(built(new PeakEwma(mulberry32(1), ESTIMATE, clock), busy), 500).keys()], ['slow']);
  // Weighted: 100 × 1 / 20 < 10 × 1 / 1.
  const weighted = [candidate('fast', { latencyMs: 10 }), candidate('slow', { latencyMs: 100, weight: 20 })];
  t.deepEqual([...counts(built(new PeakEwma(mulberry32(1), ESTIMATE, clock), weighted), 500).keys()], ['slow']);
});

test('peak-ewma: one upstream 10× slower gets a small share of a closed load', (t) => {
  const latencyOf = new Map([['a', 10], ['b', 10], ['c', 10], ['slow', 100]]);
  const members = ['a', 'b', 'c', 'slow'].map((id) => candidate(id));
  const clock = { now: 1_000 };
  const { shares, total } = simulate(new PeakEwma(mulberry32(8), ESTIMATE, () => clock.now), members, latencyOf, 5_000, 8, clock);
  const slow = (shares.get('slow') ?? 0) / total;
  t.true(slow < 0.01, `slow took ${(slow * 100).toFixed(2)}% (${[...shares].join(' ')})`);
  t.log(`peak-ewma, 8 clients: slow ${(slow * 100).toFixed(2)}%`);
  // The same load under p2c, for scale: in-flight alone already avoids it, less well.
  const p2cMembers = ['a', 'b', 'c', 'slow'].map((id) => candidate(id));
  const p2c = simulate(new PowerOfTwoChoices(mulberry32(8)), p2cMembers, latencyOf, 5_000, 8, { now: 1_000 });
  const p2cSlow = (p2c.shares.get('slow') ?? 0) / p2c.total;
  t.log(`p2c, 8 clients: slow ${(p2cSlow * 100).toFixed(2)}%`);
  t.true(slow < p2cSlow);
});

test('peak-ewma: a new candidate, at the assumed latency, is tried but not flooded', (t) => {
  const clock = () => 1_000;
  const members = [candidate('a', { latencyMs: 50 }), candidate('b', { latencyMs: 50 }), candidate('new')];
  t.is(members[2]?.load.latencyEwmaMs, 30);
  const strategy = built(new PeakEwma(mulberry32(12), ESTIMATE, clock), members);
  const seen = counts(strategy, 3_000);
  t.true((seen.get('new') ?? 0) > 1_500, `new won every pair it was in: ${seen.get('new')}`);
  // Two attempts under way: 30 × 3 = 90 > 50 × 1, so the others win until it answers.
  members[2]?.load.attemptStarted();
  members[2]?.load.attemptStarted();
  t.false(counts(strategy, 1_000).has('new'));
});

test('peak-ewma: an idle estimate decays toward the assumed latency, never below it', (t) => {
  const slow = candidate('slow', { latencyMs: 100, sampledAt: 1_000 });
  t.is(latencyEstimateAt(slow.load, ESTIMATE, 1_000), 100);
  t.true(Math.abs(latencyEstimateAt(slow.load, ESTIMATE, 11_000) - (30 + 70 * Math.exp(-1))) < 1e-9, 'one time constant');
  t.true(Math.abs(latencyEstimateAt(slow.load, ESTIMATE, 1e9) - 30) < 1e-9, 'as good as new');
  t.is(latencyEstimateAt(candidate('fast', { latencyMs: 10 }).load, ESTIMATE, 1e9), 10, 'a measured fast estimate stays');
  t.is(latencyEstimateAt(candidate('new').load, ESTIMATE, 1e9), 30);
  t.is(latencyEstimateAt(slow.load, ESTIMATE, 0), 100, 'a clock behind the sample: no decay');

  const clock = { now: 1_000 };
  const members = [slow, candidate('steady', { latencyMs: 40, sampledAt: 1e12 })];
  const strategy = built(new PeakEwma(mulberry32(2), ESTIMATE, () => clock.now), members);
  t.deepEqual([...counts(strategy, 200).keys()], ['steady']);
  clock.now = 1_000 + 10 * ESTIMATE.decayMs; // ≈ 30.003 < 40: probed again
  t.deepEqual([...counts(strategy, 200).keys()], ['slow']);
  const belowAssumed = [candidate('slow', { latencyMs: 100, sampledAt: 1_000 }), candidate('steady', { latencyMs: 29, sampledAt: 1e12 })];
  clock.now = 1e12;
  t.deepEqual([...counts(built(strategy, belowAssumed), 200).keys()], ['steady'], 'not below the assumed latency');
});

test('peak-ewma: decay time and assumed latency come from the LatencyEstimate', (t) => {
  const estimate = { decayMs: 1_000, initialMs: 5, failurePenaltyMs: 1_000 };
  const load = new LoadFigures(estimate);
  t.is(latencyEstimateAt(load, estimate, 1e6), 5);
  load.latencySampled(105, 1_000);
  t.true(Math.abs(latencyEstimateAt(load, estimate, 2_000) - (5 + 100 * Math.exp(-1))) < 1e-9);
});

test('load figures: the first sample replaces the assumed latency, however long the process has run', (t) => {
  for (const now of [500, 1e7]) {
    const load = new LoadFigures(ESTIMATE);
    load.latencySampled(10, now);
    t.is(load.latencyEwmaMs, 10, `first sample at ${now}`);
  }
});
