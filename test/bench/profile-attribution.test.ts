/**
 * The profile bench's arithmetic on a hand-made CPU profile: each sample goes
 * to the part its own function belongs to, idle time to none, and the flame
 * graph draws every busy frame wide enough to see, with its share.
 */
import test from 'ava';
import { attribute, type CpuProfile } from '../../bench/profile/categories.js';
import { flameGraphSvg } from '../../bench/profile/flame.js';

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url }, children });

// root → idle; root → onRequest (balancebeam listener) → microstep (xstate); root → writev (native); root → GC
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 3, 5, 6]),
    frame(2, '(idle)', ''),
    frame(3, 'onRequest', 'file:///repo/dist/src/node/listener.js', [4]),
    frame(4, 'microstep', 'file:///repo/node_modules/xstate/dist/raise-1.cjs.js'),
    frame(5, 'writev', ''),
    frame(6, '(garbage collector)', ''),
  ],
  // Sample i lasts timeDeltas[i] µs and lands in node samples[i].
  samples: [2, 2, 3, 4, 4, 5, 6],
  timeDeltas: [500, 500, 100, 200, 200, 300, 200],
};

test('samples are attributed to the part of their own function; idle counts apart', (t) => {
  const { byPart, idleMs, busyMs } = attribute(profile);
  t.is(idleMs, 1);
  t.is(busyMs, 1);
  t.is(byPart.get('proxy code (balancebeam)'), 0.1);
  t.is(byPart.get('actor events (xstate)'), 0.4);
  t.is(byPart.get('response write'), 0.3);
  t.is(byPart.get('GC'), 0.2);
  t.is([...byPart.values()].reduce((sum, ms) => sum + ms, 0), 1);
});

test('the flame graph draws every busy frame with its inclusive share and leaves idle out', (t) => {
  const svg = flameGraphSvg(profile, 'a <test>');
  t.true(svg.startsWith('<svg'));
  t.true(svg.includes('a &lt;test&gt;'));
  t.regex(svg, /onRequest dist\/src\/node\/listener\.js — 50\.0%/);
  t.regex(svg, /microstep node_modules\/xstate\/dist\/raise-1\.cjs\.js — 40\.0%/);
  t.false(svg.includes('(idle)'));
});

test("the profiler's own samples (under node:inspector's post) are left out; actor start and socket set-up have parts of their own", (t) => {
  // root → emit → post (node:inspector) → dispatch (native); root → createActor (xstate); root → onconnection (node:net); root → send (xstate)
  const withProfiler: CpuProfile = {
    nodes: [
      frame(1, '(root)', '', [2, 5, 6, 7]),
      frame(2, 'emit', 'node:events', [3]),
      frame(3, 'post', 'node:inspector', [4]),
      frame(4, 'dispatch', ''),
      frame(5, 'createActor', 'file:///repo/node_modules/xstate/dist/raise-1.cjs.js'),
      frame(6, 'onconnection', 'node:net'),
      frame(7, 'send', 'file:///repo/node_modules/xstate/dist/raise-1.cjs.js'),
    ],
    samples: [4, 4, 5, 6, 7, 2],
    timeDeltas: [400, 400, 100, 200, 300, 100],
  };
  const { byPart, profilerMs, busyMs } = attribute(withProfiler);
  t.is(profilerMs, 0.8);
  t.is(busyMs, 0.7);
  t.is(byPart.get('actor start and stop (xstate)'), 0.1);
  t.is(byPart.get('connection set-up and teardown'), 0.2);
  t.is(byPart.get('actor events (xstate)'), 0.3);
  t.is(byPart.get('streams and events'), 0.1);
});
