/**
 * A SIGSTOPped upstream under load: its kernel still accepts connections and
 * buffers requests, so requests sent to it time out (504 after
 * --upstream-response-timeout) and are never resent. POSTs are not
 * idempotent: each must reach the upstreams at most once, counted by the
 * upstreams themselves, including what the frozen one finds in its sockets
 * when it is resumed.
 */
import { Agent } from 'node:http';
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { startChildUpstream } from '../helpers/child-upstream.js';
import { httpCall } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const CLIENTS = 8;

test('a SIGSTOPped upstream under POST load: 504s, and no POST ever reaches the upstreams twice', async (t) => {
  t.timeout(60_000);
  const frozen = await startChildUpstream(t);
  const healthy = await startUpstream(t, { name: 'healthy' });
  const balancer = await startBalancer(t, [
    '--upstream', frozen.id,
    '--upstream', healthy.id,
    '--active-health-check-interval', '0',
    '--upstream-response-timeout', '0.5',
    '--retries', '1',
  ]);

  const statuses = new Map<number, number>();
  let next = 0;
  let running = true;
  // Half the clients keep their connections alive, half open one per request.
  const keepAlive = new Agent({ keepAlive: true });
  t.teardown(() => keepAlive.destroy());
  const client = async (_: unknown, index: number): Promise<void> => {
    const agent = index % 2 === 0 ? keepAlive : false;
    while (running) {
      const id = next++;
      const response = await httpCall(balancer.port, { method: 'POST', path: `/order/${id}`, body: `order ${id}`, agent, timeoutMs: 10_000 }).catch(() => null);
      const status = response?.status ?? 0;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  const count = (status: number): number => statuses.get(status) ?? 0;
  const load = Promise.all(Array.from({ length: CLIENTS }, client));

  await waitFor(() => count(200) >= 20, { timeoutMs: 15_000, what: '20 POSTs served before the freeze' });
  frozen.stop();
  const servedBeforeThaw = count(200);
  await waitFor(() => count(504) >= 8, { timeoutMs: 20_000, what: 'POSTs to the frozen upstream to time out' });
  frozen.resume();
  await waitFor(() => count(200) >= servedBeforeThaw + 20, { timeoutMs: 15_000, what: '20 more POSTs served after the thaw' });
  running = false;
  await load;
  // What the frozen upstream had buffered is parsed as soon as it runs again; a direct request after the
  // thaw is answered only after the older sockets' data has been read.
  t.is((await httpCall(frozen.port, { path: '/flush' })).status, 200);
  await waitFor(() => frozen.seen.includes('GET /flush'), { timeoutMs: 5_000, what: 'the flush request to be seen' });

  const seenPosts = [...frozen.seen, ...healthy.proxied().map((request) => `${request.method} ${request.url}`)].filter((line) => line.startsWith('POST '));
  const times = new Map<string, number>();
  for (const line of seenPosts) times.set(line, (times.get(line) ?? 0) + 1);
  const duplicated = [...times].filter(([, seen]) => seen > 1).map(([line, seen]) => `${line} ×${seen}`);
  t.log(`${next} POSTs sent: ${[...statuses].map(([status, n]) => `${n} × ${status}`).join(', ')}; ${seenPosts.length} seen by the upstreams`);
  t.deepEqual(duplicated, [], 'no POST reaches the upstreams twice');
  t.true(count(504) >= 8);
  t.is(count(0), 0, 'every client got an answer');
  t.true(seenPosts.length <= next);
  t.deepEqual(balancer.process.crashReports(), []);
  t.is(balancer.process.requestLogs().filter((line) => line.method === 'POST' && line.status === 504 && line.attempts !== undefined).length, 0, 'a timed-out POST was never tried elsewhere');
});
