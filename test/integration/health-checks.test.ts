/**
 * Active health checks (`--active-health-check-interval 1`,
 * `--active-health-check-path /health`): an upstream whose health endpoint
 * fails is taken out of rotation within 3 s, and put back within 3 s of it
 * passing again. Observed in the balancer's log and in who serves requests.
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { Pool } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { defaultHandler, startUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** The default handler, but `/health` answers with whatever `status()` says now. */
function withHealth(name: string, status: () => number): UpstreamHandler {
  const serve = defaultHandler(name);
  return (req, res, seen) => {
    if (req.url === '/health') {
      res.writeHead(status(), { 'content-length': 0 });
      res.end();
      return;
    }
    serve(req, res, seen);
  };
}

const WITHIN_MS = 3_000;

test('an upstream failing its /health is removed within 3 s and restored within 3 s of passing again', async (t) => {
  let flakyStatus = 200;
  const flaky = await startUpstream(t, { name: 'flaky', handler: withHealth('flaky', () => flakyStatus) });
  const steady = await startUpstream(t, { name: 'steady', handler: withHealth('steady', () => 200) });
  const balancer = await startBalancer(t, [
    '--upstream',
    flaky.id,
    '--upstream',
    steady.id,
    '--active-health-check-interval',
    '1',
    '--active-health-check-path',
    '/health',
  ]);
  const pool = new Pool(balancer.origin, { connections: 1 });
  t.teardown(() => pool.destroy());
  const servedBy = async (count: number): Promise<string[]> => {
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await pool.request({ path: `/work${i}`, method: 'GET' });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
      names.push(String(response.headers['x-upstream']));
    }
    return names;
  };

  // Probes reach both upstreams at the configured path.
  await waitFor(() => flaky.requests.some((seen) => seen.healthCheck) && steady.requests.some((seen) => seen.healthCheck), {
    timeoutMs: 10_000,
    what: 'a health probe at each upstream',
  });
  t.true(flaky.requests.filter((seen) => seen.healthCheck).every((seen) => seen.method === 'GET' && seen.url === '/health'));
  t.deepEqual((await servedBy(4)).sort(), ['flaky', 'flaky', 'steady', 'steady']);

  // /health starts failing.
  let mark = balancer.process.mark();
  let since = performance.now();
  flakyStatus = 500;
  const dead = await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === flaky.id, {
    from: mark,
    timeoutMs: 15_000,
    what: `'upstream marked dead' for ${flaky.id}`,
  });
  const removedAfter = Math.round(performance.now() - since);
  t.log(`removed ${removedAfter} ms after /health started failing`);
  t.true(removedAfter <= WITHIN_MS, `removed after ${removedAfter} ms`);
  t.regex(String(dead.reason), /500/);
  const flakyServedBefore = flaky.proxied().length;
  t.deepEqual(await servedBy(10), Array<string>(10).fill('steady'));
  t.is(flaky.proxied().length, flakyServedBefore, 'no client request reached the dead upstream');

  // /health passes again.
  mark = balancer.process.mark();
  since = performance.now();
  flakyStatus = 200;
  await balancer.process.waitForLog((line) => line.msg === 'upstream healthy' && line.upstream === flaky.id, {
    from: mark,
    timeoutMs: 15_000,
    what: `'upstream healthy' for ${flaky.id}`,
  });
  const restoredAfter = Math.round(performance.now() - since);
  t.log(`restored ${restoredAfter} ms after /health passed again`);
  t.true(restoredAfter <= WITHIN_MS, `restored after ${restoredAfter} ms`);
  const afterRestore = await servedBy(10);
  t.is(afterRestore.filter((name) => name === 'flaky').length, 5, `served by ${afterRestore.join(',')}`);
  t.is(flaky.proxied().length, flakyServedBefore + 5);
});

test('an upstream that stops accepting connections is marked dead by probes alone, with no client traffic', async (t) => {
  const doomed = await startUpstream(t, { name: 'doomed', handler: withHealth('doomed', () => 200) });
  const other = await startUpstream(t, { name: 'other', handler: withHealth('other', () => 200) });
  const balancer = await startBalancer(t, [
    '--upstream',
    doomed.id,
    '--upstream',
    other.id,
    '--active-health-check-interval',
    '1',
    '--active-health-check-path',
    '/health',
  ]);
  await waitFor(() => doomed.requests.some((seen) => seen.healthCheck), { timeoutMs: 10_000, what: 'a probe of doomed' });

  const mark = balancer.process.mark();
  const since = performance.now();
  await doomed.kill();
  const dead = await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === doomed.id, {
    from: mark,
    timeoutMs: 15_000,
    what: `'upstream marked dead' for ${doomed.id}`,
  });
  const removedAfter = Math.round(performance.now() - since);
  t.log(`removed ${removedAfter} ms after it stopped accepting connections`);
  t.true(removedAfter <= WITHIN_MS, `removed after ${removedAfter} ms`);
  t.regex(String(dead.reason), /health check failed/);
  t.is(balancer.process.logsWith((line) => line.msg === 'upstream marked dead' && line.upstream === other.id).length, 0);
  t.is(balancer.process.requestLogs().length, 0, 'no client request was involved');
});
