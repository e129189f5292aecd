/** The per-upstream pools follow a new upstream list by id. */
import test from 'ava';
import { UpstreamPools } from '../../src/proxy/upstream-pools.js';

const target = (port: number) => ({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1 });

test('sync opens a pool for each new id, closes those no longer listed, and keeps the rest', (t) => {
  const [a, b, c] = [target(9101), target(9102), target(9103)];
  const pools = new UpstreamPools([a, b]);
  t.teardown(() => pools.destroy());
  const kept = pools.get(b.id);
  const removed = pools.get(a.id);
  pools.sync([b, { ...c, weight: 2 }]);
  t.is(pools.get(b.id), kept, 'a kept upstream keeps its pool and its connections');
  t.truthy(pools.get(c.id));
  t.throws(() => pools.get(a.id), { message: /no pool for upstream 127\.0\.0\.1:9101/ });
  t.true(removed.closed, 'the removed pool is closing: its requests in flight may finish, no new ones start');
});
