/**
 * Signals to a running or starting instance. SIGHUP is never fatal: the
 * primary reloads the config (and logs what changed), workers ignore it, and a
 * request in flight meanwhile completes. A SIGTERM that arrives while workers
 * are still starting drains too: exit 0, no worker left behind.
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { descendantPids, isAlive, spawnBalancer, startBalancer } from '../helpers/balancer.js';
import { RawConnection, rawGet } from '../helpers/client.js';
import { slowHandler, startUpstream } from '../helpers/upstream.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

const SLOW = slowHandler(1_000);

for (const workers of ['1', '2']) {
  test(`--workers ${workers}: SIGHUP to the primary and to each worker: a reload (nothing changed) is logged, nothing exits, a request in flight and the next one succeed`, async (t) => {
    const upstream = await startUpstream(t, { name: 'slow', handler: SLOW });
    const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', workers]);
    const workerPids = workers === '1' ? [] : [...(await balancer.process.workerPids(2)).values()];

    const client = await RawConnection.open(balancer.port);
    t.teardown(() => client.destroy());
    client.write(rawGet('/slow'));
    await waitFor(() => upstream.proxied().some((request) => request.url === '/slow'), {
      timeoutMs: 10_000,
      what: 'the slow request to reach the upstream',
    });

    const mark = balancer.process.mark();
    // As a terminal hangup would: the whole process tree gets it.
    balancer.process.child.kill('SIGHUP');
    for (const pid of workerPids) process.kill(pid, 'SIGHUP');
    const logged = await balancer.process.waitForLog((line) => line.msg === 'config reloaded: nothing changed', {
      from: mark,
      timeoutMs: 5_000,
      what: 'the SIGHUP line',
    });
    t.is(logged.level, 'info');
    t.is(logged.node, 'p');

    const slow = await client.readResponse({ timeoutMs: 10_000 });
    t.is(slow.status, 200);
    t.is(slow.body.toString(), 'slow');
    client.write(rawGet('/after'));
    const after = await client.readResponse({ timeoutMs: 10_000 });
    t.is(after.status, 200);
    t.is(after.body.toString(), 'fast');

    t.is(balancer.process.exit, null, 'the primary is still running');
    t.deepEqual(workerPids.filter((pid) => !isAlive(pid)), [], 'every worker is still running');
    t.deepEqual(balancer.process.logsWith((line) => line.msg === 'worker exited; starting a replacement', mark), []);
    t.deepEqual(balancer.process.crashReports(), []);
  });
}

test('SIGTERM while the workers are still starting: exit 0 and no worker left alive', async (t) => {
  const upstream = await startUpstream(t, { name: 'only' });
  const balancer = spawnBalancer(['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '4']);
  t.teardown(async () => {
    await balancer.stop();
  });
  // The primary forks every worker in one go, so by the first `worker started` line all four exist.
  await balancer.waitForLog((line) => line.msg === 'worker started', { timeoutMs: 20_000, what: 'the first worker started' });
  const workers = descendantPids(balancer.pid);
  t.is(workers.length, 4);

  const signalled = performance.now();
  balancer.child.kill('SIGTERM');
  const exit = await withDeadline(balancer.exited, 15_000, 'the balancer to exit');
  t.log(`exited ${Math.round(performance.now() - signalled)} ms after SIGTERM`);
  t.deepEqual(exit, { code: 0, signal: null });
  t.deepEqual(balancer.logsWith((line) => line.msg === 'listening'), [], 'it was stopped during start-up');
  t.truthy(balancer.logs.find((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'));
  const logged = [...balancer.loggedWorkerPids().values()];
  t.deepEqual([...new Set([...workers, ...logged])].filter(isAlive), [], 'no worker outlives the primary');
  t.deepEqual(balancer.crashReports(), []);
});
