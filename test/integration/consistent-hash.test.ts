/**
 * `--balance consistent-hash` through the real CLI with two workers: a user's
 * requests reach the same upstream whichever worker their connection lands
 * on, and a request without the key is still served (by the fallback).
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall } from '../helpers/client.js';
import { startRestartableUpstream } from '../helpers/restartable-upstream.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const USERS = 20;
const REQUESTS_PER_USER = 4;

test('--workers 2 --hash-key header:x-user: each of 20 users always lands on the same upstream, from both workers', async (t) => {
  const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(t, { name })));
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '0',
    '--workers',
    '2',
    '--balance',
    'consistent-hash',
    '--hash-key',
    'header:x-user',
  ]);

  // Each user's requests in a row, each on a fresh connection: the primary hands connections to the workers
  // in turn, so every user is served by both.
  const answeredBy = new Map<string, string[]>();
  for (let user = 0; user < USERS; user++) {
    const by: string[] = [];
    for (let i = 0; i < REQUESTS_PER_USER; i++) {
      const response = await httpCall(balancer.port, { path: `/u${user}/${i}`, headers: { 'x-user': `user-${user}` } });
      t.is(response.status, 200);
      by.push(String(response.headers['x-upstream']));
    }
    answeredBy.set(`user-${user}`, by);
  }
  for (const [user, by] of answeredBy) t.is(new Set(by).size, 1, `${user} went to ${by.join(', ')}`);
  const used = new Set([...answeredBy.values()].map((by) => by[0]));
  t.true(used.size >= 2, `20 users over ${used.size} upstream(s)`);

  const total = USERS * REQUESTS_PER_USER;
  await waitFor(() => balancer.process.requestLogs().length === total, { timeoutMs: 10_000, what: `${total} request log lines` });
  const logs = balancer.process.requestLogs();
  t.deepEqual([...new Set(logs.map((line) => line.node))].sort(), ['w1', 'w2']);
  // Not just both workers overall: a user's requests came through both of them.
  const bothWorkers = [...answeredBy.keys()].filter((_, user) => {
    const own = logs.filter((line) => typeof line.url === 'string' && line.url.startsWith(`/u${user}/`));
    return new Set(own.map((line) => line.node)).size === 2;
  });
  t.true(bothWorkers.length >= USERS / 2, `${bothWorkers.length} users were served by both workers`);

  // No x-user header: the round-robin fallback, over every upstream.
  const keyless = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const response = await httpCall(balancer.port, { path: `/anonymous/${i}` });
    t.is(response.status, 200);
    keyless.add(String(response.headers['x-upstream']));
  }
  t.true(keyless.size >= 2, `keyless requests went to ${[...keyless].join(', ')}`);
});

/** Which upstream answers each user, one fresh connection per user. */
async function placement(port: number, users: number): Promise<string[]> {
  const by: string[] = [];
  for (let user = 0; user < users; user++) {
    const response = await httpCall(port, { path: `/p${user}`, headers: { 'x-user': `user-${user}` } });
    if (response.status !== 200) throw new Error(`user-${user}: status ${response.status}`);
    by.push(String(response.headers['x-upstream']));
  }
  return by;
}

test('--workers 2: an upstream goes down, only its users move; it comes back, they come back', async (t) => {
  const upstreams = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startRestartableUpstream(t, name)));
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '0.2',
    '--workers',
    '2',
    '--balance',
    'consistent-hash',
    '--hash-key',
    'header:x-user',
  ]);
  const users = 40;
  const before = await placement(balancer.port, users);
  const victim = upstreams.find((upstream) => upstream.name === before[0]);
  if (victim === undefined) throw new Error(`no upstream named ${before[0]}`);

  const down = balancer.process.mark();
  await victim.kill();
  // Before a worker hears of it, a refused connect fails over to the key's next upstream: the same place the walk
  // past a dead one gives. So the placement is the same whether or not the news has arrived.
  const during = await placement(balancer.port, users);
  t.deepEqual(
    during.flatMap((name, user) => (before[user] !== victim.name && name !== before[user] ? [`user-${user}`] : [])),
    [],
    'users of the other upstreams moved',
  );
  t.false(during.includes(victim.name));
  await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === victim.id, {
    from: down,
    timeoutMs: 10_000,
    what: `${victim.id} marked dead`,
  });
  t.deepEqual(await placement(balancer.port, users), during);

  await victim.start();
  // Two fresh connections in a row reach both workers: when both send user-0 back, both have heard.
  await waitFor(async () => (await placement(balancer.port, 1))[0] === victim.name && (await placement(balancer.port, 1))[0] === victim.name, {
    timeoutMs: 10_000,
    what: `user-0 back on ${victim.name} in both workers`,
  });
  t.deepEqual(await placement(balancer.port, users), before);
});
