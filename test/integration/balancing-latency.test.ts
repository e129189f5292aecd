/**
 * Load-aware balancing through the real CLI: four upstreams, one answering
 * ten times slower, several clients sending as fast as they are answered.
 */
import test, { type ExecutionContext } from 'ava';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';

const FAST_MS = 10;
const SLOW_MS = 100;
const CLIENTS = 8;
const REQUESTS = Number(process.env.BALANCING_REQUESTS ?? 240);

/** Answers after `ms`: the upstream's own latency, not a wait in the test. */
function answerAfter(name: string, ms: number): UpstreamHandler {
  return (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length, 'x-upstream': name });
      res.end(name);
    }, ms);
  };
}

async function startFourOneSlow(t: ExecutionContext): Promise<{ upstreams: TestUpstream[]; slow: TestUpstream }> {
  const upstreams = await Promise.all([
    startUpstream(t, { name: 'fast-1', handler: answerAfter('fast-1', FAST_MS) }),
    startUpstream(t, { name: 'slow', handler: answerAfter('slow', SLOW_MS) }),
    startUpstream(t, { name: 'fast-2', handler: answerAfter('fast-2', FAST_MS) }),
    startUpstream(t, { name: 'fast-3', handler: answerAfter('fast-3', FAST_MS) }),
  ]);
  return { upstreams, slow: upstreams[1] };
}

/** `clients` closed loops over their own keep-alive connections, `total` requests in all; each answer's time by upstream. */
async function closedLoad(t: ExecutionContext, origin: string, clients: number, total: number): Promise<Map<string, number[]>> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 });
  t.teardown(() => pool.destroy());
  const timesByUpstream = new Map<string, number[]>();
  let sent = 0;
  const client = async (): Promise<void> => {
    while (sent < total) {
      const i = sent++;
      const started = performance.now();
      const response = await pool.request({ path: `/r${i}`, method: 'GET' });
      const body = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`request ${i}: status ${response.statusCode} ${body}`);
      const upstream = String(response.headers['x-upstream']);
      const times = timesByUpstream.get(upstream) ?? [];
      times.push(performance.now() - started);
      timesByUpstream.set(upstream, times);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return timesByUpstream;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function slowShare(t: ExecutionContext, algorithm: string): Promise<number> {
  const { upstreams, slow } = await startFourOneSlow(t);
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--balance',
    algorithm,
    '--active-health-check-interval',
    '0',
  ]);
  const started = performance.now();
  const times = await closedLoad(t, balancer.origin, CLIENTS, REQUESTS);
  const seconds = (performance.now() - started) / 1_000;
  const counts = upstreams.map((upstream) => upstream.proxied().length);
  t.is(
    counts.reduce((sum, count) => sum + count, 0),
    REQUESTS,
  );
  const share = slow.proxied().length / REQUESTS;
  const fastTimes = [...times].filter(([name]) => name !== 'slow').flatMap(([, values]) => values);
  t.log(
    `${algorithm}: ${upstreams.map((upstream, i) => `${upstream.name} ${counts[i]}`).join(', ')}; slow ${(share * 100).toFixed(1)}%; ` +
      `${(REQUESTS / seconds).toFixed(0)} req/s; median answer through the balancer: fast ${median(fastTimes).toFixed(1)} ms, ` +
      `slow ${median(times.get('slow') ?? []).toFixed(1)} ms`,
  );
  return share;
}

test('--balance peak-ewma: the 10× slower upstream gets under 10% of the requests', async (t) => {
  const share = await slowShare(t, 'peak-ewma');
  t.true(share < 0.1, `slow upstream took ${(share * 100).toFixed(1)}%`);
});

test('--balance p2c: the 10× slower upstream gets under its round-robin 25%', async (t) => {
  // In-flight counts alone see the slow one only through its longer queue: 6–11% measured on a busy machine.
  const share = await slowShare(t, 'p2c');
  t.true(share < 0.2, `slow upstream took ${(share * 100).toFixed(1)}%`);
});
