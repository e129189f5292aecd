/**
 * Load spread over three upstreams, counted at the upstreams themselves.
 */
import test, { type ExecutionContext } from 'ava';
import { Pool } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

async function startThree(t: ExecutionContext): Promise<TestUpstream[]> {
  return Promise.all(['a', 'b', 'c'].map((name) => startUpstream(t, { name })));
}

/** Sends `count` GETs over a few keep-alive connections; returns which upstream answered each, in order sent. */
async function sendRequests(t: ExecutionContext, origin: string, count: number): Promise<string[]> {
  const pool = new Pool(origin, { connections: 3 });
  t.teardown(() => pool.destroy());
  const answeredBy: string[] = [];
  // Sequential batches of 3 concurrent requests: some concurrency, a deterministic send order.
  for (let i = 0; i < count; i += 3) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(3, count - i) }, async (_, j) => {
        const response = await pool.request({ path: `/r${i + j}`, method: 'GET' });
        const body = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`request ${i + j}: status ${response.statusCode} ${body}`);
        return String(response.headers['x-upstream']);
      }),
    );
    answeredBy.push(...batch);
  }
  return answeredBy;
}

function assertSpread(t: ExecutionContext, upstreams: readonly TestUpstream[], total: number): void {
  const mean = total / upstreams.length;
  const counts = upstreams.map((upstream) => upstream.proxied().length);
  t.is(
    counts.reduce((sum, count) => sum + count, 0),
    total,
    `upstreams saw ${counts.join('/')} requests`,
  );
  for (const [i, count] of counts.entries()) {
    t.true(Math.abs(count - mean) <= 0.4 * mean, `upstream ${i} got ${count} of ${total} (mean ${mean}, all ${counts.join('/')})`);
  }
}

test('round-robin (the default): 90 requests over 3 upstreams, 30 each', async (t) => {
  const upstreams = await startThree(t);
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '0',
  ]);
  const answeredBy = await sendRequests(t, balancer.origin, 90);
  assertSpread(t, upstreams, 90);
  // Round-robin is exact: every upstream its turn.
  t.deepEqual(
    upstreams.map((upstream) => upstream.proxied().length),
    [30, 30, 30],
  );
  t.is(new Set(answeredBy).size, 3);
});

test('--balance random: every upstream within ±40% of the mean', async (t) => {
  const upstreams = await startThree(t);
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--balance',
    'random',
    '--active-health-check-interval',
    '0',
  ]);
  // 600 rather than 90 requests: with 90, a fair random choice falls outside ±40% in about 1.5% of runs
  // (binomial tails); with 600 the chance is about 2e-11, so the test cannot flake on an unlucky draw.
  const total = 600;
  const answeredBy = await sendRequests(t, balancer.origin, total);
  assertSpread(t, upstreams, total);
  // Random, not round-robin in disguise: the sequence is not a strict rotation.
  const rotation = answeredBy.every((name, i) => i < 3 || name === answeredBy[i - 3]);
  t.false(rotation, 'random choice produced a strict rotation');
});
