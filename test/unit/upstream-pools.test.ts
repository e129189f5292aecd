/** The per-upstream pools follow a new upstream list by id. */
import test from 'ava';
import { upstreamOrigin } from '../../src/config/config.js';
import { DEFAULT_POOL_SETTINGS, UpstreamPools } from '../../src/proxy/upstream-pools.js';

const target = (port: number) => ({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1 });

test('update opens a pool for each new id, closes those no longer listed, and keeps the rest', (t) => {
  const [a, b, c] = [target(9101), target(9102), target(9103)];
  const pools = new UpstreamPools([a, b]);
  t.teardown(() => pools.destroy());
  const kept = pools.get(b.id);
  const removed = pools.get(a.id);
  pools.update([b, { ...c, weight: 2 }], DEFAULT_POOL_SETTINGS);
  t.is(pools.get(b.id), kept, 'a kept upstream keeps its pool and its connections');
  t.truthy(pools.get(c.id));
  t.throws(() => pools.get(a.id), { message: /no pool for upstream 127\.0\.0\.1:9101/ });
  t.true(removed.closed, 'the removed pool is closing: its requests in flight may finish, no new ones start');
});

test('new timeouts give every upstream a fresh pool; the old ones close once their requests finish', (t) => {
  const [a, b] = [target(9101), target(9102)];
  const pools = new UpstreamPools([a, b]);
  t.teardown(() => pools.destroy());
  const before = [pools.get(a.id), pools.get(b.id)];
  pools.update([a, b], { ...DEFAULT_POOL_SETTINGS, responseTimeoutMs: 1_000 });
  t.not(pools.get(a.id), before[0]);
  t.not(pools.get(b.id), before[1]);
  t.true(before.every((pool) => pool.closed));
});

test('an IPv6 upstream gets a bracketed origin', (t) => {
  t.is(upstreamOrigin({ id: '[::1]:8080', host: '::1', port: 8080, weight: 1 }), 'http://[::1]:8080');
  t.is(upstreamOrigin(target(80)), 'http://127.0.0.1:80');
});
