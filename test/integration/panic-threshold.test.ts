/**
 * The panic threshold end to end: with three of four upstreams dead the
 * balancer balances over all four, so requests reach the dead ones' refused
 * connects and fail over to the survivor; the client sees only 200s.
 */
import test from 'ava';
import { Pool } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { startUpstream } from '../helpers/upstream.js';

test('three of four upstreams dead (default threshold 50): panic logged once, every request still answered by the survivor', async (t) => {
  const upstreams = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startUpstream(t, { name })));
  const survivor = upstreams[3];
  if (survivor === undefined) throw new Error('no survivor');
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--workers',
    '1',
    // Probes keep the dead ones dead (no back-off recovery), so panic lasts.
    '--active-health-check-interval',
    '0.2',
  ]);
  const pool = new Pool(balancer.origin, { connections: 1 });
  t.teardown(() => pool.destroy());
  const mark = balancer.process.mark();
  await Promise.all(upstreams.slice(0, 3).map((upstream) => upstream.kill()));
  const panic = await balancer.process.waitForLog((line) => String(line.msg).startsWith('panic mode:'), {
    from: mark,
    timeoutMs: 10_000,
    what: 'the panic mode line',
  });
  t.is(panic.msg, 'panic mode: 1 of 4 upstreams healthy, balancing over all');
  t.is(panic.level, 'warn');

  const requestsFrom = balancer.process.mark();
  for (let i = 0; i < 12; i++) {
    const response = await pool.request({ path: `/panic${i}`, method: 'GET' });
    await response.body.dump();
    t.is(response.statusCode, 200);
    t.is(response.headers['x-upstream'], 'd');
  }
  const attempts = balancer.process.requestLogs(requestsFrom).map((line) => Number(line.attempts ?? 1));
  t.true(
    attempts.some((count) => count > 1),
    `dead upstreams were tried first (attempts per request: ${attempts.join(',')})`,
  );
  t.is(balancer.process.logsWith((line) => String(line.msg).startsWith('panic mode'), mark).length, 1, 'logged once');
});
