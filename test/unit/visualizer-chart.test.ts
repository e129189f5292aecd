import test from 'ava';
import { fromPromise, setup } from 'xstate';
import { chartOf, statesOf, type ChartModel } from '../../src/admin/visualizer/chart-model.js';
import { layoutChart, type LaidState } from '../../src/admin/visualizer/chart-layout.js';
import { chartSvg } from '../../src/admin/visualizer/chart-svg.js';
import { ACTOR_MACHINES } from '../../src/admin/visualizer/machines.js';

interface NodeLike {
  readonly id: string;
  readonly states: Record<string, NodeLike>;
  readonly transitions: Map<string, unknown[]>;
  readonly always?: unknown[];
}

/** What the machine definition itself holds, counted independently of the walker. */
function definitionCounts(root: NodeLike): { states: string[]; transitions: number } {
  const states: string[] = [];
  let transitions = 0;
  const visit = (node: NodeLike): void => {
    states.push(node.id === root.id ? '' : node.id.slice(root.id.length + 1));
    for (const list of node.transitions.values()) transitions += list.length;
    transitions += node.always?.length ?? 0;
    Object.values(node.states).forEach(visit);
  };
  visit(root);
  return { states, transitions };
}

function laidPaths(state: LaidState, into: string[] = []): string[] {
  into.push(state.state.path);
  for (const child of state.children) laidPaths(child, into);
  return into;
}

for (const machine of ACTOR_MACHINES) {
  test(`${machine.id}: every state and transition of the definition is in the chart, the layout and the SVG`, (t) => {
    const chart = chartOf(machine);
    const expected = definitionCounts(machine.root as NodeLike);
    t.deepEqual(statesOf(chart).map((state) => state.path).sort(), expected.states.sort());
    t.is(chart.transitions.length, expected.transitions);
    const laid = layoutChart(chart);
    t.deepEqual(laidPaths(laid.root).sort(), expected.states.sort());
    const svg = chartSvg(laid);
    for (const path of expected.states) t.true(svg.includes(`data-path="${path}"`), path);
    for (const transition of chart.transitions) t.true(svg.includes(escapeForSearch(transition.label)), transition.label);
    t.false(svg.includes('NaN'));
  });
}

const escapeForSearch = (text: string): string => text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);

test('connection: the any-state transition, guards and actions as named in setup', (t) => {
  const chart = chartOf(ACTOR_MACHINES[0]!);
  t.is(chart.kind, 'connection');
  const close = chart.transitions.find((transition) => transition.label === 'client.disconnected');
  t.deepEqual(close && { source: close.source, targets: close.targets }, { source: '', targets: ['closed'] });
  const silent = chart.transitions.filter((transition) => transition.label === 'client.silent' && transition.targets.length > 0);
  t.deepEqual(silent.map((transition) => transition.guard).sort(), ['clientStoppedReading', 'idleForKeepAlive']);
  t.deepEqual(chart.root.entry, ['watchForSilence']);
  t.is(statesOf(chart).find((state) => state.path === 'closed')?.kind, 'final');
});

test('upstream and balancer: after delays by name, always with its guard, nested states by dotted path', (t) => {
  const upstream = chartOf(ACTOR_MACHINES[1]!);
  const backOff = upstream.transitions.find((transition) => transition.trigger === 'after' && transition.source === 'dead');
  t.deepEqual(backOff && [backOff.label, backOff.guard, backOff.targets], ['after backOff', 'recoversByBackOff', ['healthy']]);
  // The timers xstate adds for `after` are not the author's actions.
  t.false(statesOf(upstream).some((state) => state.entry.some((name) => name.includes('raise'))));
  const balancer = chartOf(ACTOR_MACHINES[2]!);
  t.deepEqual(statesOf(balancer).map((state) => state.path), ['', 'tracking', 'tracking.steady', 'tracking.ramping']);
  const ramp = balancer.transitions.find((transition) => transition.trigger === 'always' && transition.source === 'tracking.steady');
  t.deepEqual(ramp && [ramp.guard, ramp.targets], ['somebodyRamps', ['tracking.ramping']]);
  const step = balancer.transitions.find((transition) => transition.trigger === 'after');
  t.true(step?.reenter);
  const supervisor = chartOf(ACTOR_MACHINES[3]!);
  t.deepEqual(statesOf(supervisor).find((state) => state.path === 'probing')?.invoke, ['probeRound']);
});

test('a machine with parallel regions, history, final, done and error events and inline implementations', (t) => {
  const machine = setup({
    guards: { named: () => true },
    actions: { named: () => {} },
    delays: { later: 10 },
    actors: { fetcher: fromPromise(() => Promise.resolve(1)) },
  }).createMachine({
    id: 'edge',
    type: 'parallel',
    states: {
      net: {
        initial: 'idle',
        states: {
          idle: { on: { GO: [{ target: 'loading', guard: 'named' }, { target: 'loading', guard: () => true }] }, always: { target: 'hist', guard: 'named' } },
          loading: {
            invoke: { id: 'fetcher', src: 'fetcher', onDone: 'done', onError: { target: 'idle', actions: () => {} } },
            after: { 500: 'idle', later: 'idle' },
          },
          hist: { type: 'history', history: 'deep' },
          done: { type: 'final' },
        },
        onDone: { actions: 'named' },
      },
      ui: { initial: 'hidden', states: { hidden: { on: { '*': 'shown' } }, shown: {} } },
    },
  }) as unknown as (typeof ACTOR_MACHINES)[number];
  const chart: ChartModel = chartOf(machine);
  t.is(chart.root.kind, 'parallel');
  const labels = chart.transitions.map((transition) => transition.label);
  t.true(labels.includes('after 500 ms'));
  t.true(labels.includes('after later'));
  t.true(labels.includes('done: fetcher'));
  t.true(labels.includes('error: fetcher'));
  t.true(labels.includes('done'));
  t.true(labels.includes('*'));
  t.true(chart.transitions.some((transition) => transition.guard === 'inline'));
  t.true(chart.transitions.some((transition) => transition.actions.includes('inline')));
  t.is(statesOf(chart).find((state) => state.path === 'net.hist')?.history, 'deep');
  const svg = chartSvg(layoutChart(chart));
  t.true(svg.includes('data-path="ui.shown"'));
  t.false(svg.includes('NaN'));
});
