import test from 'ava';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedFrame } from '../../src/admin/visualizer/frame.js';
import { actorCharts, actorDefinitions } from '../../src/admin/visualizer/machines.js';
import { countsAt, healthSpans, occupies, pathsOf } from '../../src/admin/visualizer/page/model.js';
import { readTrace, TraceError, TraceWriter } from '../../src/admin/visualizer/trace-file.js';

function frame(time: number, open: number): FeedFrame {
  return {
    type: 'frame',
    time,
    intervalMs: 500,
    counts: { connection: { open } },
    nodes: ['p'],
    messages: [[time, 'w1/conn/x', 'p/rate-limiter', 'rate-limit.check']],
    dropped: 0,
    droppedTotal: 0,
    upstreams: {},
    health: [],
    rateLimit: { checks: 1, denials: 0, top: [] },
  };
}

test('a trace rotates past its size: every file starts with the definitions, three old ones are kept, frames stay in order', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'bb-trace-')), 'trace.ndjson');
  const charts = actorCharts();
  const header = Buffer.byteLength(JSON.stringify({ type: 'trace', version: 1, startedAt: 0, charts, definitions: actorDefinitions() }));
  const writer = new TraceWriter(path, header + 1_000, charts, actorDefinitions(), (error) => t.fail(error.message));
  for (let i = 0; i < 60; i++) writer.frame(frame(1_000 + i * 500, i));
  await writer.close();
  for (const name of [path, `${path}.1`, `${path}.2`, `${path}.3`]) t.true(existsSync(name), name);
  t.false(existsSync(`${path}.4`));
  const traces = await Promise.all([`${path}.3`, `${path}.2`, `${path}.1`, path].map(readTrace));
  for (const trace of traces) t.deepEqual(trace.header.charts, JSON.parse(JSON.stringify(charts)));
  const times = traces.flatMap((trace) => trace.frames.map((f) => f.time));
  t.deepEqual(times, [...times].sort((a, b) => a - b));
  t.is(times.at(-1), 1_000 + 59 * 500);
});

test('reading a trace: a torn last line is left out; anything else that is wrong is an error naming the line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-trace-'));
  const path = join(dir, 'trace.ndjson');
  const writer = new TraceWriter(path, 1e9, actorCharts(), actorDefinitions(), (error) => t.fail(error.message));
  writer.frame(frame(1_000, 1));
  writer.frame(frame(1_500, 2));
  await writer.close();
  appendFileSync(path, '{"torn":');
  t.is((await readTrace(path)).frames.length, 2);
  const broken = join(dir, 'broken.ndjson');
  writeFileSync(broken, readFileSync(path, 'utf8').replace('{"torn":', '{"torn":\n{"type":"frame"}\n'));
  await t.throwsAsync(readTrace(broken), { instanceOf: TraceError, message: /:4: not JSON/ });
  const other = join(dir, 'other.ndjson');
  writeFileSync(other, '{"type":"something"}\n');
  await t.throwsAsync(readTrace(other), { instanceOf: TraceError, message: /not a balancebeam trace/ });
  const empty = join(dir, 'empty.ndjson');
  writeFileSync(empty, '');
  await t.throwsAsync(readTrace(empty), { instanceOf: TraceError, message: /empty/ });
});

test("the page's model: counts at a time, occupied paths, health spans", (t) => {
  const frames = [frame(1_000, 1), frame(1_500, 5), frame(2_000, 3)];
  t.deepEqual(countsAt(frames, 999), {});
  t.deepEqual(countsAt(frames, 1_700), { connection: { open: 5 } });
  t.deepEqual(countsAt(frames, 9_999), { connection: { open: 3 } });
  t.true(occupies('tracking.steady', 'tracking'));
  t.true(occupies('a.x,b.y', 'b'));
  t.false(occupies('trackingX', 'tracking'));
  t.deepEqual(pathsOf({ tracking: 'steady' }), ['tracking', 'tracking.steady']);
  const points = [
    { time: 0, upstreamId: 'u', healthy: true, reason: 'configured' },
    { time: 100, upstreamId: 'u', healthy: false, reason: 'connect failed: ECONNREFUSED' },
    { time: 100, upstreamId: 'v', healthy: false, reason: 'other' },
    { time: 300, upstreamId: 'u', healthy: true, reason: 'back-off expired; trying it again' },
  ];
  t.deepEqual(healthSpans(points, 'u', 50, 400), [
    { from: 50, to: 100, healthy: true, reason: 'configured' },
    { from: 100, to: 300, healthy: false, reason: 'connect failed: ECONNREFUSED' },
    { from: 300, to: 400, healthy: true, reason: 'back-off expired; trying it again' },
  ]);
});
