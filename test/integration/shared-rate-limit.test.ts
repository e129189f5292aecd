/**
 * Rate limits shared through a real Redis (issue 14): several balancebeam
 * instances, each started as the real CLI, one redis-server per test (its
 * own port, persistence off). A client spreading its requests over every
 * instance gets exactly its limit; Redis killed, restarted or frozen never
 * leaves a request unanswered or failed.
 */
import test from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { limitedGet, statusesOver } from '../helpers/limited-client.js';
import { startRedis } from '../helpers/redis.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import type { ExecutionContext } from 'ava';

/** One limit per algorithm, each on its own path: 6 per minute (gcra: 6 per minute, all of them at once). */
const RULES = JSON.stringify([
  { name: 'fixed', 'path-prefix': '/fixed', limit: 6, window: 60, algorithm: 'fixed-window' },
  { name: 'sliding', 'path-prefix': '/sliding', limit: 6, window: 60, algorithm: 'sliding-window' },
  { name: 'gcra', 'path-prefix': '/gcra', limit: 6, window: 60, algorithm: 'gcra' },
]);

async function startInstances(t: ExecutionContext, count: number, redisUrl: string, extra: readonly string[] = []): Promise<RunningBalancer[]> {
  const upstream = await startUpstream(t);
  const args = ['--upstream', upstream.id, '--active-health-check-interval', '0', '--rate-limit-store', redisUrl, ...extra];
  const instances = await Promise.all(Array.from({ length: count }, () => startBalancer(t, args)));
  // Each instance's store logs once it has a connection (before it, decisions are local).
  await Promise.all(
    instances.map((instance) => instance.process.waitForLog((line) => line.msg === 'rate-limit store connected', { timeoutMs: 10_000, what: 'the store connected' })),
  );
  return instances;
}

const count = (statuses: readonly number[], status: number): number => statuses.filter((s) => s === status).length;

test('three instances, one Redis: a client spreading its requests over all three gets exactly its limit, per algorithm; two clients are counted apart', async (t) => {
  const redis = await startRedis(t);
  // A generous store timeout: this test is about sharing, not about a busy machine's slow replies.
  const instances = await startInstances(t, 3, redis.url, ['--rate-limit-rules', RULES, '--rate-limit-store-timeout', '2']);
  const ports = instances.map((instance) => instance.port);
  for (const path of ['/fixed', '/sliding', '/gcra']) {
    const first = await statusesOver(ports, path, 15, '127.0.0.1');
    t.deepEqual(first.slice(0, 6), Array<number>(6).fill(200), `${path}: the first 6 pass`);
    t.is(count(first, 200), 6, `${path}: exactly 6 of 15 over three instances (${first.join(' ')})`);
    t.is(count(first, 429), 9, path);
    const second = await statusesOver(ports, path, 8, '127.0.0.2');
    t.is(count(second, 200), 6, `${path}: another client has its own 6`);
  }
  // A 429 carries Retry-After and the RateLimit fields of the rule that decided.
  const limited = await limitedGet(ports[0] as number, '/gcra');
  t.is(limited.status, 429);
  t.true(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 10, `gcra: one request is due every 10 s (${limited.headers['retry-after']})`);
  t.is(limited.headers['ratelimit-policy'], '"gcra";q=6;w=60');
  t.regex(String(limited.headers.ratelimit), /^"gcra";r=0;t=\d+$/);
  for (const instance of instances) t.deepEqual(instance.process.crashReports(), []);
});

test('Redis killed in the middle of traffic: every request is answered, no 5xx; the fall-back is logged once; a restarted Redis is shared again without restarting balancebeam', async (t) => {
  const redis = await startRedis(t);
  const instances = await startInstances(t, 2, redis.url, ['--max-requests-per-window', '10', '--rate-limit-window-size', '60', '--rate-limit-algorithm', 'fixed-window', '--rate-limit-store-timeout', '1']);
  const ports = instances.map((instance) => instance.port);
  const marks = instances.map((instance) => instance.process.mark());

  const before = await statusesOver(ports, '/a', 6);
  t.deepEqual(before, Array<number>(6).fill(200));
  // Four clients keep requests going on both instances while Redis is killed under them.
  const during: number[] = [];
  let stopped = false;
  const client = async (from: string): Promise<void> => {
    for (let i = 0; !stopped; i++) during.push((await limitedGet(ports[i % 2] as number, '/b', { from })).status);
  };
  const traffic = Promise.all(['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map(client));
  await waitFor(() => during.length >= 8, { timeoutMs: 10_000, what: 'traffic before the kill' });
  await redis.kill();
  const atKill = during.length;
  await waitFor(() => during.length >= atKill + 60, { timeoutMs: 30_000, what: 'traffic after the kill' });
  stopped = true;
  await traffic;
  t.is(during.filter((status) => status !== 200 && status !== 429).length, 0, `only 200 and 429, never a 5xx (${during.join(' ')})`);
  for (const [i, instance] of instances.entries()) {
    const fallBacks = instance.process.logsWith((line) => line.msg === 'rate-limit store unavailable', marks[i]);
    t.is(fallBacks.length, 1, 'the fall-back is logged once');
    t.is(fallBacks[0]?.failure, 'local');
  }
  // Without Redis each instance limits on its own: a new client gets 10 on each, the documented N× worst case.
  t.is(count(await statusesOver(ports, '/b', 30, '127.0.0.7'), 200), 20);

  await redis.run();
  await Promise.all(
    instances.map((instance, i) =>
      instance.process.waitForLog((line) => line.msg === 'rate-limit store recovered', { timeoutMs: 15_000, from: marks[i], what: 'the store recovered' }),
    ),
  );
  // The restarted Redis is empty: 10 fit, counted together over both instances.
  const after = await statusesOver(ports, '/c', 16);
  t.is(count(after, 200), 10, `shared again: 10 of 16 over two instances (${after.join(' ')})`);
  for (const [i, instance] of instances.entries()) {
    t.is(instance.process.logsWith((line) => line.msg === 'rate-limit store unavailable', marks[i]).length, 1, 'still one fall-back line');
    t.is(instance.process.logsWith((line) => line.msg === 'rate-limit store recovered', marks[i]).length, 1, 'one recovery line');
    t.deepEqual(instance.process.crashReports(), []);
  }
});

test('a Redis that hangs (SIGSTOP) delays a request by at most the store timeout, then is bypassed until it answers again', async (t) => {
  const redis = await startRedis(t);
  const timeoutMs = 500;
  const [instance] = await startInstances(t, 1, redis.url, ['--max-requests-per-window', '1000', '--rate-limit-store-timeout', String(timeoutMs / 1000)]);
  const { port, process: balancer } = instance as RunningBalancer;
  t.is((await limitedGet(port, '/warm')).status, 200);
  const mark = balancer.mark();
  redis.freeze();
  t.teardown(() => redis.thaw());
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const response = await limitedGet(port, `/frozen/${i}`);
    t.is(response.status, 200, 'admitted by the local fall-back');
    times.push(response.ms);
  }
  t.log(`ms per request with Redis frozen: ${times.map((ms) => ms.toFixed(0)).join(' ')}`);
  t.true((times[0] as number) >= timeoutMs - 20, 'the first request waited for the timeout');
  // Bounded by the timeout, plus what a busy shared machine adds to a loopback request.
  for (const ms of times) t.true(ms < timeoutMs + 1_000, `${ms.toFixed(0)} ms`);
  const fallBack = await balancer.waitForLog((line) => line.msg === 'rate-limit store unavailable', { timeoutMs: 5_000, from: mark, what: 'the fall-back' });
  t.regex(String(fallBack.reason), /3 decisions in a row took over 500 ms/);
  // Once fallen back, requests no longer wait for Redis at all.
  const late = times.slice(3).sort((x, y) => x - y);
  t.true((late[Math.floor(late.length / 2)] as number) < timeoutMs, `after the fall-back: ${late.map((ms) => ms.toFixed(0)).join(' ')} ms`);
  redis.thaw();
  await balancer.waitForLog((line) => line.msg === 'rate-limit store recovered', { timeoutMs: 10_000, from: mark, what: 'the store recovered' });
  t.is((await limitedGet(port, '/thawed')).status, 200);
});

test('--rate-limit-store-failure closed answers 503 while Redis is down; open admits', async (t) => {
  const redis = await startRedis(t);
  const upstream = await startUpstream(t);
  const common = ['--upstream', upstream.id, '--active-health-check-interval', '0', '--rate-limit-store', redis.url, '--max-requests-per-window', '1'];
  const closed = await startBalancer(t, [...common, '--rate-limit-store-failure', 'closed']);
  const open = await startBalancer(t, [...common, '--rate-limit-store-failure', 'open']);
  for (const instance of [closed, open]) {
    await instance.process.waitForLog((line) => line.msg === 'rate-limit store connected', { timeoutMs: 10_000, what: 'the store connected' });
  }
  await redis.kill();
  await closed.process.waitForLog((line) => line.msg === 'rate-limit store unavailable', { timeoutMs: 5_000, what: 'the fall-back' });
  await open.process.waitForLog((line) => line.msg === 'rate-limit store unavailable', { timeoutMs: 5_000, what: 'the fall-back' });
  t.deepEqual(await statusesOver([closed.port], '/x', 3), [503, 503, 503]);
  t.deepEqual(await statusesOver([open.port], '/x', 3), [200, 200, 200], 'open: over the limit of 1, all admitted');
});

test('brute-force protection through Redis: failed logins on one instance lock the client out on the other', async (t) => {
  const redis = await startRedis(t);
  const upstream = await startUpstream(t, {
    handler: (req, res) => {
      const denied = req.url?.startsWith('/login') === true && req.headers.authorization !== 'right';
      res.writeHead(denied ? 401 : 200, { 'content-length': 0 });
      res.end();
    },
  });
  const args = [
    '--upstream', upstream.id, '--active-health-check-interval', '0', '--rate-limit-store', redis.url,
    '--brute-force-path', '/login', '--brute-force-max-failures', '3', '--brute-force-lockout', '30', '--rate-limit-store-timeout', '1',
  ]; // prettier-ignore
  const [a, b] = await Promise.all([startBalancer(t, args), startBalancer(t, args)]);
  for (const instance of [a, b]) {
    await instance?.process.waitForLog((line) => line.msg === 'rate-limit store connected', { timeoutMs: 10_000, what: 'the store connected' });
  }
  const first = a;
  const second = b;
  t.is((await limitedGet(first.port, '/login', { headers: { authorization: 'right' } })).status, 200);
  for (let i = 0; i < 3; i++) t.is((await limitedGet(first.port, '/login')).status, 401);
  const locked = await limitedGet(second.port, '/login', { headers: { authorization: 'right' } });
  t.is(locked.status, 429, 'locked out on the other instance, even with the right password');
  t.true(Number(locked.headers['retry-after']) > 25 && Number(locked.headers['retry-after']) <= 30, String(locked.headers['retry-after']));
  t.is((await limitedGet(second.port, '/elsewhere')).status, 200, 'only the login paths are locked');
  t.is((await limitedGet(second.port, '/login', { from: '127.0.0.2', headers: { authorization: 'right' } })).status, 200, 'another client is not locked out');
});

test('a Redis that lost the script (SCRIPT FLUSH, as after a restart) gets it again on NOSCRIPT: the count goes on in Redis, no fall-back; keys expire', async (t) => {
  const redis = await startRedis(t);
  const [instance] = await startInstances(t, 1, redis.url, ['--max-requests-per-window', '3', '--rate-limit-algorithm', 'fixed-window', '--rate-limit-store-timeout', '1']);
  const { port, process: balancer } = instance as RunningBalancer;
  t.deepEqual(await statusesOver([port], '/', 2), [200, 200]);
  t.is(redis.command('SCRIPT', 'FLUSH'), 'OK');
  t.deepEqual(await statusesOver([port], '/', 3), [200, 429, 429], 'the third of 3 admitted, counted in Redis');
  t.deepEqual(balancer.logsWith((line) => line.msg === 'rate-limit store unavailable'), []);
  const key = redis.command('KEYS', 'bb:*');
  t.is(key, 'bb:rl:default:fixed-window:127.0.0.1');
  const ttl = Number(redis.command('PTTL', key));
  t.true(ttl > 0 && ttl <= 60_000, `the key expires with its window (${ttl} ms)`);
});
