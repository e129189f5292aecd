/**
 * The admin API's cache purge through the real CLI at --workers 2: the
 * cache is per worker, and a purge reaches every one (a purged URL is gone
 * from both, so each worker's next request for it is a miss), by URL or
 * all; token-guarded, in the change log; refused with the cache off.
 */
import test from 'ava';
import { startBalancerWithAdmin, type AdminClient } from '../helpers/admin.js';
import { httpCall } from '../helpers/client.js';
import { cacheableHandler, startUpstream } from '../helpers/upstream.js';

const TOKEN = 'test-admin-token-0123456789';

/** A metric summed over its series (and so over the workers). */
async function metric(admin: AdminClient, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await admin.call('GET', '/metrics')).text;
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((pair) => [pair[1] as string, pair[2] as string]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) total += Number(match[3]);
  }
  return total;
}

/** Requests for `path` on fresh connections until the caches hold `objects` in all; how many were sent. */
async function fillUntil(port: number, admin: AdminClient, path: string, objects: number): Promise<number> {
  for (let sent = 1; sent <= 60; sent++) {
    const answer = await httpCall(port, { path });
    if (answer.status !== 200) throw new Error(`${path}: ${answer.status}`);
    if ((await metric(admin, 'balancebeam_cache_objects')) >= objects) return sent;
  }
  throw new Error(`the caches did not reach ${objects} objects in 60 requests for ${path}`);
}

test('purge (--workers 2): a purged URL leaves every worker’s cache and is a miss in each; purge all; token; change log', async (t) => {
  t.timeout(60_000);
  const origin = await startUpstream(t, {
    name: 'a',
    handler: cacheableHandler(),
  });
  const { balancer, admin } = await startBalancerWithAdmin(
    t,
    ['--upstream', origin.id, '--workers', '2', '--cache-size', '1000000', '--admin-token', TOKEN, '--active-health-check-interval', '0'],
    { token: TOKEN },
  );
  // Both workers store /cached (one object each); one of them /kept.
  await fillUntil(balancer.port, admin, '/cached', 2);
  await fillUntil(balancer.port, admin, '/kept', 3);

  t.is((await admin.call('POST', '/api/cache/purge', { token: '', body: { all: true } })).status, 401, 'no token, no purge');
  t.is((await admin.call('POST', '/api/cache/purge', { body: { url: 'not a url' } })).status, 400);
  t.is((await admin.call('POST', '/api/cache/purge', { body: { all: true, url: 'http://x/' } })).status, 400);

  const host = `127.0.0.1:${balancer.port}`;
  const purged = await admin.ok('POST', '/api/cache/purge', { body: { url: `http://${host}/cached` } });
  t.is(purged.result, 'applied');
  t.is(purged.removed, 2);
  t.deepEqual(purged.perNode, { w1: 1, w2: 1 }, 'each worker removed its copy');
  t.deepEqual(purged.unconfirmed, []);
  t.is(await metric(admin, 'balancebeam_cache_objects'), 1, '/kept is still held');

  // Each worker's next /cached is a miss: the caches refill with one miss per worker, and no hit before it.
  const missesBefore = await metric(admin, 'balancebeam_cache_lookups_total', { result: 'miss' });
  await fillUntil(balancer.port, admin, '/cached', 3);
  t.is((await metric(admin, 'balancebeam_cache_lookups_total', { result: 'miss' })) - missesBefore, 2, 'one miss in each worker');

  // The same URL again, by its key: nothing left to remove after one purge.
  const byKey = await admin.ok('POST', '/api/cache/purge', { body: { host, target: '/cached' } });
  t.is(byKey.removed, 2);
  const again = await admin.ok('POST', '/api/cache/purge', { body: { host, target: '/cached' } });
  t.is(again.result, 'unchanged');
  t.is(again.removed, 0);

  const all = await admin.ok('POST', '/api/cache/purge', { body: { all: true } });
  t.is(all.removed, 1);
  t.is(await metric(admin, 'balancebeam_cache_objects'), 0);
  t.is((await httpCall(balancer.port, { path: '/kept' })).status, 200);

  const { changes } = (await admin.ok('GET', '/api/changes')) as { changes: { who: string; what: string; result: string; detail: string }[] };
  const purges = changes.filter((change) => change.what.startsWith('purge cache'));
  t.deepEqual(
    purges.slice(0, 3).map((change) => [change.what, change.result, change.detail]),
    [
      [`purge cache ${host}/cached`, 'applied', 'removed 2 (w1: 1, w2: 1)'],
      [`purge cache ${host}/cached`, 'applied', 'removed 2 (w1: 1, w2: 1)'],
      [`purge cache ${host}/cached`, 'unchanged', 'removed 0 (w1: 0, w2: 0)'],
    ],
  );
  t.deepEqual([purges.length, purges.at(-1)?.what, purges.at(-1)?.result], [4, 'purge cache (all)', 'applied']);
  t.regex(purges.at(-1)?.detail ?? '', /^removed 1 \((w1: 1, w2: 0|w1: 0, w2: 1)\)$/);
  t.true(purges.every((change) => change.who.startsWith('token holder at 127.0.0.1:')));
  await balancer.process.waitForLog((entry) => entry.msg === 'settings change' && entry.what === 'purge cache (all)', { timeoutMs: 3_000, what: 'the purge log line' });
});

test('purge with the cache off: 409, and logged as refused', async (t) => {
  const origin = await startUpstream(t, { name: 'a' });
  const { admin } = await startBalancerWithAdmin(t, ['--upstream', origin.id, '--active-health-check-interval', '0']);
  const answer = await admin.call('POST', '/api/cache/purge', { body: { all: true } });
  t.is(answer.status, 409);
  t.regex(String(answer.json?.error), /cache is off/);
  const { changes } = (await admin.ok('GET', '/api/changes')) as { changes: { what: string; result: string }[] };
  t.deepEqual(changes.map((change) => [change.what, change.result]), [['purge cache (all)', 'refused']]);
});
