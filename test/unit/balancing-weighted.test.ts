/** Weighted round-robin and least-connections, on exact sequences. */
import test from 'ava';
import { createStrategy, type Candidate, type SelectionStrategy, type UpstreamLoad } from '../../src/balancing/index.js';
import { LeastConnections } from '../../src/balancing/least-connections.js';
import { WeightedRoundRobin } from '../../src/balancing/weighted-round-robin.js';
import { parseCommandLine } from '../../src/cli/options.js';

/** A candidate whose health, weight and in-flight count a test scripts. */
interface ScriptedCandidate extends Candidate {
  weight: number;
  healthy: boolean;
  readonly load: { inFlight: number } & UpstreamLoad;
}

function candidate(id: string, weight = 1, inFlight = 0): ScriptedCandidate {
  return { id, weight, healthy: true, load: { inFlight, latencyEwmaMs: 30, sampledAt: 0 } };
}

function built<S extends SelectionStrategy>(strategy: S, members: readonly Candidate[]): S {
  strategy.rebuild(members);
  return strategy;
}

function picks(strategy: SelectionStrategy, count: number, exclude: string[] = []): (string | undefined)[] {
  const ids: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) ids.push(strategy.pick('', exclude)?.id);
  return ids;
}

function tally(ids: readonly (string | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[String(id)] = (counts[String(id)] ?? 0) + 1;
  return counts;
}

test('both are made by createStrategy and accepted by --balance', (t) => {
  t.true(createStrategy('weighted-round-robin') instanceof WeightedRoundRobin);
  t.true(createStrategy('least-connections') instanceof LeastConnections);
  for (const name of ['weighted-round-robin', 'least-connections'] as const) {
    const command = parseCommandLine(['--upstream', '127.0.0.1:8080', '--balance', name]);
    t.is(command.kind === 'run' ? command.config.balance : undefined, name);
  }
});

test('neither reads the request key', (t) => {
  t.false(new WeightedRoundRobin().usesKey);
  t.false(new LeastConnections().usesKey);
});

test('both pick nothing before a rebuild, over no candidates, or when all are dead or excluded', (t) => {
  for (const strategy of [new WeightedRoundRobin(), new LeastConnections()]) {
    const name = strategy.constructor.name;
    t.is(strategy.pick('', []), undefined, name);
    t.is(built(strategy, []).pick('', []), undefined, name);
    const members = [candidate('a'), candidate('b')];
    (members[0] as ScriptedCandidate).healthy = false;
    t.is(built(strategy, members).pick('', ['b']), undefined, name);
  }
});

// Weighted round-robin ---------------------------------------------------------

test('weighted round-robin: weights 5,1,1 interleave as nginx does (a,a,b,a,c,a,a), and repeat', (t) => {
  const strategy = built(new WeightedRoundRobin(), [candidate('a', 5), candidate('b'), candidate('c')]);
  const cycle = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
  t.deepEqual(picks(strategy, 21), [...cycle, ...cycle, ...cycle]);
});

test('weighted round-robin: equal weights give plain round-robin order', (t) => {
  const strategy = built(new WeightedRoundRobin(), [candidate('a', 2), candidate('b', 2), candidate('c', 2)]);
  t.deepEqual(picks(strategy, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('weighted round-robin: weights 3,1 give 30/10 of 40, exactly', (t) => {
  const strategy = built(new WeightedRoundRobin(), [candidate('a', 3), candidate('b')]);
  const sequence = picks(strategy, 40);
  t.deepEqual(tally(sequence), { a: 30, b: 10 });
  t.deepEqual(sequence.slice(0, 8), ['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
});

test('weighted round-robin: a dead candidate is skipped and the others interleave as if it were not there', (t) => {
  const members = [candidate('a', 5), candidate('dead', 3), candidate('b'), candidate('c')];
  (members[1] as ScriptedCandidate).healthy = false;
  const strategy = built(new WeightedRoundRobin(), members);
  t.deepEqual(picks(strategy, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('weighted round-robin: a candidate dying mid-schedule is skipped; revived, it rejoins where it stood', (t) => {
  const members = [candidate('a'), candidate('b'), candidate('c')];
  const strategy = built(new WeightedRoundRobin(), members);
  t.deepEqual(picks(strategy, 2), ['a', 'b']);
  (members[1] as ScriptedCandidate).healthy = false;
  strategy.rebuild(members.slice());
  // c was owed its turn and a had just had one, so c goes twice before the two alternate (nginx does the same).
  t.deepEqual(picks(strategy, 6), ['c', 'c', 'a', 'c', 'a', 'c']);
  (members[1] as ScriptedCandidate).healthy = true;
  strategy.rebuild(members.slice());
  t.deepEqual(picks(strategy, 6), ['a', 'c', 'b', 'a', 'c', 'b'], 'b back, one turn each per cycle');
});

test('weighted round-robin: an excluded candidate sits one pick out, and the schedule goes on', (t) => {
  const strategy = built(new WeightedRoundRobin(), [candidate('a', 5), candidate('b'), candidate('c')]);
  t.deepEqual(picks(strategy, 2), ['a', 'a']);
  t.is(strategy.pick('', ['b'])?.id, 'c', "b's turn was next: a retry that already tried b takes the next best");
  t.deepEqual(picks(strategy, 7), ['a', 'a', 'b', 'a', 'a', 'a', 'c'], 'then a whole cycle again: a five times, b, c');
  t.deepEqual(new Set(picks(strategy, 200, ['a', 'c'])), new Set(['b']));
  t.is(strategy.pick('', ['a', 'b', 'c']), undefined);
});

test('weighted round-robin: exclusions shift turns but the weights hold over the picks a candidate could take', (t) => {
  const strategy = built(new WeightedRoundRobin(), [candidate('a', 5), candidate('b'), candidate('c')]);
  const ids: (string | undefined)[] = [];
  // Every tenth pick is a retry that already tried a: a can take 630 of the 700, and gets 5/7 of those.
  for (let i = 0; i < 700; i++) ids.push(strategy.pick('', i % 10 === 0 ? ['a'] : [])?.id);
  const counts = tally(ids);
  t.is(counts.a, 450, JSON.stringify(counts));
  t.true(Math.abs((counts.b ?? 0) - (counts.c ?? 0)) <= 2, JSON.stringify(counts));
});

test('weighted round-robin: a health-only rebuild keeps the schedule, a weight or membership change restarts it', (t) => {
  const schedule = (): ScriptedCandidate[] => [candidate('a', 5), candidate('b'), candidate('c')];
  const uninterrupted = picks(built(new WeightedRoundRobin(), schedule()), 7);
  const members = schedule();
  const strategy = built(new WeightedRoundRobin(), members);
  const interrupted = picks(strategy, 3);
  strategy.rebuild(members.slice());
  interrupted.push(...picks(strategy, 4));
  t.deepEqual(interrupted, uninterrupted, 'the same schedule, carried on');

  const grown = [...schedule(), candidate('d')];
  picks(strategy, 2);
  strategy.rebuild(grown);
  t.deepEqual(picks(strategy, 8), picks(built(new WeightedRoundRobin(), grown), 8), 'a new member: every current weight back to 0');

  picks(strategy, 3);
  strategy.rebuild([candidate('a'), candidate('b'), candidate('c')]);
  t.deepEqual(picks(strategy, 3), ['a', 'b', 'c'], 'a weight changed: from the start');
});

// Least connections ------------------------------------------------------------

test('least-connections: the candidate with the fewest requests in flight', (t) => {
  const members = [candidate('a', 1, 4), candidate('b', 1, 1), candidate('c', 1, 2)];
  const strategy = built(new LeastConnections(), members);
  t.is(strategy.pick('', [])?.id, 'b');
  (members[1] as ScriptedCandidate).load.inFlight = 3;
  t.is(strategy.pick('', [])?.id, 'c', 'the figures are read live at each pick');
});

test('least-connections: in flight relative to weight, counting the request being placed', (t) => {
  // (inFlight + 1) / weight: a at 5/3 ≈ 1.67 beats b at 2/1.
  t.is(built(new LeastConnections(), [candidate('b', 1, 1), candidate('a', 3, 4)]).pick('', [])?.id, 'a');
  // a at 7/3 ≈ 2.33 loses to b at 2/1.
  t.is(built(new LeastConnections(), [candidate('a', 3, 6), candidate('b', 1, 1)]).pick('', [])?.id, 'b');
  // Idle: the heavier one takes the request (1/3 < 1/1), rather than a tie at 0 that ignores the weight.
  t.is(built(new LeastConnections(), [candidate('b', 1, 0), candidate('a', 3, 0)]).pick('', [])?.id, 'a');
});

test('least-connections: load placed as it picks spreads 3:1 by weight', (t) => {
  const members = [candidate('a', 3), candidate('b', 1)];
  const strategy = built(new LeastConnections(), members);
  for (let i = 0; i < 40; i++) (strategy.pick('', []) as ScriptedCandidate).load.inFlight++;
  t.deepEqual(
    members.map((member) => member.load.inFlight),
    [30, 10],
  );
});

test('least-connections: ties go round-robin, not always to the first', (t) => {
  const members = [candidate('a'), candidate('b'), candidate('c')];
  const strategy = built(new LeastConnections(), members);
  t.deepEqual(picks(strategy, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  // Only a and c tie for least: the round-robin runs among them, b (busier) earns nothing meanwhile.
  // a had just won (credits a −2, b 1, c 1), so c goes twice before a's turn comes round again.
  (members[1] as ScriptedCandidate).load.inFlight = 5;
  t.deepEqual(picks(strategy, 6), ['c', 'c', 'a', 'c', 'a', 'c']);
});

test('least-connections: an upstream busy through a round of ties does not take the next tie at once (nginx least_conn)', (t) => {
  const members = [candidate('a'), candidate('b'), candidate('c'), candidate('slow')];
  const strategy = built(new LeastConnections(), members);
  const seen = picks(strategy, 4);
  // slow is busy with its request while the others take turns; it then waits its turn like the others.
  (members[3] as ScriptedCandidate).load.inFlight = 1;
  seen.push(...picks(strategy, 6));
  (members[3] as ScriptedCandidate).load.inFlight = 0;
  seen.push(...picks(strategy, 8));
  t.deepEqual(seen, ['a', 'b', 'c', 'slow', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'slow', 'a', 'b', 'c', 'slow']);
});

test('least-connections: never a dead or an excluded candidate, however idle', (t) => {
  const members = [candidate('dead', 1, 0), candidate('a', 1, 9), candidate('b', 1, 3), candidate('c', 1, 0)];
  (members[0] as ScriptedCandidate).healthy = false;
  const strategy = built(new LeastConnections(), members);
  t.is(strategy.pick('', ['c'])?.id, 'b', 'c already tried');
  t.deepEqual(new Set(picks(strategy, 50)), new Set(['c']));
  t.deepEqual(new Set(picks(strategy, 50, ['c', 'b'])), new Set(['a']));
});

test('least-connections: survives the membership shrinking between picks', (t) => {
  const strategy = built(new LeastConnections(), [candidate('a'), candidate('b'), candidate('c'), candidate('d')]);
  picks(strategy, 3);
  strategy.rebuild([candidate('a'), candidate('b')]);
  // Credits start again at 0 over the new members.
  t.deepEqual(picks(strategy, 3), ['a', 'b', 'a']);
});
