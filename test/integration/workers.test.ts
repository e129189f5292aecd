/**
 * `--workers 2`: both worker processes accept and serve clients, a killed
 * upstream is failed over in every worker, a crashed worker is replaced, and
 * SIGTERM shuts the whole tree down cleanly.
 */
import test from 'ava';
import { descendantPids, isAlive, startBalancer } from '../helpers/balancer.js';
import { httpCall } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** `count` GETs, each on a new connection so the cluster spreads them over the workers. */
async function fresh(port: number, count: number, prefix: string): Promise<{ status: number; by: string }[]> {
  const results = [];
  for (let i = 0; i < count; i++) {
    const response = await httpCall(port, { path: `/${prefix}${i}` });
    results.push({ status: response.status, by: String(response.headers['x-upstream']) });
  }
  return results;
}

test('--workers 2: both workers serve, a killed upstream is failed over, SIGTERM exits 0 with no worker left', async (t) => {
  const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(t, { name })));
  const [, victim] = upstreams;
  if (victim === undefined) throw new Error('no victim');
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '0',
    '--workers',
    '2',
  ]);
  const workerPids = descendantPids(balancer.process.pid);
  t.is(workerPids.length, 2, `worker processes: ${workerPids.join(', ')}`);

  const before = await fresh(balancer.port, 20, 'before');
  t.true(before.every((result) => result.status === 200));
  await waitFor(() => balancer.process.requestLogs().length === 20, { timeoutMs: 10_000, what: '20 request log lines' });
  t.deepEqual([...new Set(balancer.process.requestLogs().map((line) => line.node))].sort(), ['w1', 'w2']);
  t.true(upstreams.every((upstream) => upstream.proxied().length > 0), 'every upstream served');

  const mark = balancer.process.mark();
  await victim.kill();
  const victimSeen = victim.requests.length;
  const after = await fresh(balancer.port, 30, 'after');
  t.deepEqual(
    after.map((result) => result.status),
    Array<number>(30).fill(200),
  );
  t.false(after.some((result) => result.by === 'b'));
  t.is(victim.requests.length, victimSeen);
  await waitFor(() => balancer.process.requestLogs(mark).length === 30, { timeoutMs: 10_000, what: '30 more request log lines' });
  t.deepEqual([...new Set(balancer.process.requestLogs(mark).map((line) => line.node))].sort(), ['w1', 'w2']);
  // The primary's upstream actor, the one authority on health, heard of it.
  await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === victim.id && line.node === 'p', {
    from: mark,
    timeoutMs: 10_000,
    what: `'upstream marked dead' for ${victim.id}`,
  });

  const exit = await balancer.process.stop();
  t.deepEqual(exit, { code: 0, signal: null });
  t.deepEqual(workerPids.filter(isAlive), [], 'no worker outlives the primary');
});

test('--workers 2: a worker that dies is replaced and clients keep being served', async (t) => {
  const upstream = await startUpstream(t, { name: 'only' });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '2']);
  const [victimPid] = descendantPids(balancer.process.pid);
  if (victimPid === undefined) throw new Error('no worker process found');

  const mark = balancer.process.mark();
  process.kill(victimPid, 'SIGKILL');
  const replaced = await balancer.process.waitForLog((line) => line.msg === 'worker exited; starting a replacement', {
    from: mark,
    timeoutMs: 10_000,
    what: 'the replacement line',
  });
  t.is(replaced.signal, 'SIGKILL');
  const replacedNode = String(replaced.worker);
  // The replacement is up once there are two live workers again, one of them new.
  await waitFor(
    () => {
      const pids = descendantPids(balancer.process.pid);
      return pids.length === 2 && !pids.includes(victimPid);
    },
    { timeoutMs: 15_000, what: 'a replacement worker process' },
  );

  // The replacement serves under the old node name.
  await waitFor(
    async () => {
      const response = await httpCall(balancer.port, { path: '/probe' });
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return balancer.process.requestLogs(mark).some((line) => line.node === replacedNode);
    },
    { timeoutMs: 15_000, intervalMs: 50, what: `a request served by the replacement ${replacedNode}` },
  );
  t.true(balancer.process.requestLogs(mark).every((line) => line.status === 200));
});
