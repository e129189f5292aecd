/**
 * Passive failover: an upstream that goes away (listener closed, its
 * connections cut) is routed around without the client seeing an error; when
 * none is left, clients get 502.
 */
import test from 'ava';
import { Pool } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { startUpstream } from '../helpers/upstream.js';

test('one of three upstreams killed: every later request still gets 200, from the others', async (t) => {
  const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(t, { name })));
  const [, victim] = upstreams;
  if (victim === undefined) throw new Error('no victim');
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '0',
  ]);
  const pool = new Pool(balancer.origin, { connections: 2 });
  t.teardown(() => pool.destroy());
  const call = async (method: 'GET' | 'POST', path: string): Promise<{ status: number; by: string }> => {
    const response = await pool.request({ path, method, ...(method === 'POST' ? { body: `payload for ${path}` } : {}) });
    await response.body.dump();
    return { status: response.statusCode, by: String(response.headers['x-upstream']) };
  };

  // Warm up: every upstream serves, and the balancer holds pooled connections to each.
  for (let i = 0; i < 6; i++) t.is((await call('GET', `/warm${i}`)).status, 200);
  t.true(upstreams.every((upstream) => upstream.proxied().length === 2));

  const mark = balancer.process.mark();
  await victim.kill();
  const victimBefore = victim.requests.length;

  const after: { status: number; by: string }[] = [];
  for (let i = 0; i < 30; i++) after.push(await call('GET', `/after${i}`));
  t.deepEqual(
    after.map((result) => result.status),
    Array<number>(30).fill(200),
  );
  t.false(after.some((result) => result.by === 'b'));
  t.true(after.some((result) => result.by === 'a') && after.some((result) => result.by === 'c'));
  t.is(victim.requests.length, victimBefore);

  await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === victim.id, {
    from: mark,
    timeoutMs: 10_000,
    what: `'upstream marked dead' for ${victim.id}`,
  });
  // Requests with bodies too: a refused connection never consumed the body, so they can go elsewhere.
  for (let i = 0; i < 10; i++) {
    const result = await call('POST', `/post${i}`);
    t.is(result.status, 200);
    t.not(result.by, 'b');
  }
  t.true(
    balancer.process.logsWith((line) => line.msg === 'upstream marked dead' && line.upstream !== victim.id, mark).length === 0,
    'only the killed upstream was marked dead',
  );
});

test('all upstreams killed: 502', async (t) => {
  const upstreams = await Promise.all(['a', 'b'].map((name) => startUpstream(t, { name })));
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '0',
  ]);
  const pool = new Pool(balancer.origin, { connections: 1 });
  t.teardown(() => pool.destroy());
  const status = async (path: string): Promise<number> => {
    const response = await pool.request({ path, method: 'GET' });
    await response.body.dump();
    return response.statusCode;
  };

  t.is(await status('/before1'), 200);
  t.is(await status('/before2'), 200);
  const mark = balancer.process.mark();
  await Promise.all(upstreams.map((upstream) => upstream.kill()));

  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push(await status(`/after${i}`));
  t.deepEqual(statuses, [502, 502, 502, 502, 502]);
  for (const upstream of upstreams) {
    await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === upstream.id, {
      from: mark,
      timeoutMs: 10_000,
      what: `'upstream marked dead' for ${upstream.id}`,
    });
  }
  // The balancer itself is still up and answering.
  t.is(await status('/still-there'), 502);
});
