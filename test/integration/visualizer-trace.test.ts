/**
 * Record and replay with the real CLI: `--workers 2 --trace-file` records
 * frames merged from both workers and the primary (batches over cluster
 * IPC), with the machine definitions at the top; `balancebeam replay`
 * serves the page over that file, with the same frames; bad input to
 * `replay` gets a clear answer.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedFrame } from '../../src/admin/visualizer/frame.js';
import { readTrace } from '../../src/admin/visualizer/trace-file.js';
import { BalancerProcess, CLI_PATH, runCli, startBalancer } from '../helpers/balancer.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

function get(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    call.on('error', reject);
    call.end();
  });
}

test('a trace from two workers holds every process, cross-process messages and request figures; replay serves it', async (t) => {
  t.timeout(40_000);
  const upstream = await startUpstream(t);
  const dir = mkdtempSync(join(tmpdir(), 'bb-trace-'));
  const path = join(dir, 'trace.ndjson');
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--workers', '2', '--trace-file', path, '--max-requests-per-minute', '100000']);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => agent.destroy());
  const requests = 200;
  for (let i = 0; i < requests; i += 20) {
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(balancer.port, agent)));
    t.true(statuses.every((status) => status === 200));
  }
  // Both workers' batches reach the primary's frames (a frame every 500 ms).
  await waitFor(
    async () => {
      const trace = await readTrace(path).catch(() => null);
      return trace !== null && trace.frames.some((frame) => frame.nodes.join() === 'p,w1,w2') && trace.frames.reduce((sum, frame) => sum + (frame.upstreams[upstream.id]?.finished ?? 0), 0) >= requests;
    },
    { timeoutMs: 10_000, intervalMs: 200, what: 'frames from every process with every request counted' },
  );
  await balancer.process.stop();
  const trace = await readTrace(path);
  t.deepEqual(trace.header.charts.map((chart) => chart.kind), ['connection', 'upstream', 'balancer', 'health-supervisor', 'rate-limiter', 'rate-limit-leases']);
  const messages = trace.frames.flatMap((frame) => frame.messages);
  t.true(messages.some(([, from, to, type]) => /^w[12]\/conn\//.test(from) && to === 'p/rate-limiter' && type === 'rate-limit.check'), 'worker to primary');
  t.true(messages.some(([, from, to, type]) => from === 'p/rate-limiter' && /^w[12]\/conn\//.test(to) && type === 'request.verdict'), 'primary to worker');
  t.is(trace.frames.reduce((sum, frame) => sum + frame.rateLimit.checks, 0), requests);
  t.is(trace.frames.reduce((sum, frame) => sum + (frame.upstreams[upstream.id]?.finished ?? 0), 0), requests);
  t.true(trace.frames.some((frame) => (frame.counts.balancer?.['tracking.steady'] ?? 0) === 2), 'one balancer per worker');
  const sizePer1000 = Math.round((Buffer.byteLength(trace.frames.map((frame) => JSON.stringify(frame)).join('\n')) * 1000) / requests);
  t.log(`${trace.frames.length} frames; about ${sizePer1000} bytes of frames per 1,000 requests at this rate (frames every 500 ms, idle ones included)`);

  // balancebeam replay serves the same frames.
  const replay = new BalancerProcess(spawn(process.execPath, [CLI_PATH, 'replay', path, '--bind', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.teardown(() => replay.stop());
  const address = await waitFor(() => /at http:\/\/([^/]+)\//.exec(replay.stdout)?.[1], { timeoutMs: 10_000, what: 'the replay address' });
  const history = (await (await fetch(`http://${address}/viz/api/history`)).json()) as { frames: FeedFrame[] };
  t.deepEqual(history.frames, trace.frames);
  t.deepEqual(await (await fetch(`http://${address}/viz/api/mode`)).json(), { mode: 'replay' });
  t.is((await fetch(`http://${address}/`)).status, 200);
  t.is((await fetch(`http://${address}/viz/uplot.js`)).status, 200);
  t.is((await fetch(`http://${address}/viz/nope.js`)).status, 404);
  t.is((await fetch(`http://${address}/viz/api/actors`)).status, 400);
  t.is((await fetch(`http://${address}/feed`, { method: 'POST' })).status, 405);
});

test('replay refuses what is not a trace, with a clear message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-trace-'));
  const notTrace = join(dir, 'not.ndjson');
  writeFileSync(notTrace, '{"hello":1}\n');
  const bad = await runCli(['replay', notTrace]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /not a balancebeam trace/);
  const missing = await runCli(['replay', join(dir, 'missing')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot read .*missing/);
  const usage = await runCli(['replay']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /usage: balancebeam replay/);
});
