/**
 * Graceful shutdown: SIGTERM stops accepting, closes idle keep-alive
 * connections, lets a request in flight to a slow upstream finish, and exits
 * 0 — single-process and with workers. A request still running at
 * --drain-timeout has its connection closed, and the exit is still 0.
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { descendantPids, isAlive, startBalancer } from '../helpers/balancer.js';
import { RawConnection, rawGet } from '../helpers/client.js';
import { slowHandler, startUpstream } from '../helpers/upstream.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

const SLOW = slowHandler(1_500);

for (const workers of ['1', '2']) {
  test(`--workers ${workers}: SIGTERM with a request in flight to a slow upstream: it completes, idle connections close, exit 0`, async (t) => {
    const upstream = await startUpstream(t, { name: 'slow', handler: SLOW });
    const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', workers]);
    const workerPids = descendantPids(balancer.process.pid);

    const idle = await RawConnection.open(balancer.port);
    t.teardown(() => idle.destroy());
    idle.write(rawGet('/fast'));
    t.is((await idle.readResponse()).status, 200);

    const busy = await RawConnection.open(balancer.port);
    t.teardown(() => busy.destroy());
    busy.write(rawGet('/slow'));
    await waitFor(() => upstream.proxied().some((request) => request.url === '/slow'), {
      timeoutMs: 10_000,
      what: 'the slow request to reach the upstream',
    });

    const signalled = performance.now();
    balancer.process.child.kill('SIGTERM');
    await withDeadline(idle.closed, 5_000, 'the idle keep-alive connection to be closed');
    t.false(busy.isEnded, 'the busy connection is left to finish');

    const response = await busy.readResponse({ timeoutMs: 10_000 });
    t.is(response.status, 200);
    t.is(response.body.toString(), 'slow');
    await withDeadline(busy.closed, 5_000, 'the connection to close once its last response went out');

    if (workers === '1') {
      await t.throwsAsync(RawConnection.open(balancer.port, 2_000), undefined, 'new connections are refused');
    }
    const exit = await withDeadline(balancer.process.exited, 15_000, 'the balancer to exit');
    t.deepEqual(exit, { code: 0, signal: null });
    t.true(performance.now() - signalled < 8_000, 'it did not wait for the 10 s drain deadline');
    t.deepEqual(workerPids.filter(isAlive), [], 'no worker outlives the primary');
    t.truthy(balancer.process.logs.find((line) => line.msg === 'shutting down'));
    t.deepEqual(balancer.process.crashReports(), []);
  });
}

test('a request still in flight at --drain-timeout has its connection closed; the exit is still 0', async (t) => {
  const upstream = await startUpstream(t, { name: 'hangs', handler: SLOW });
  const balancer = await startBalancer(t, [
    '--upstream',
    upstream.id,
    '--active-health-check-interval',
    '0',
    '--drain-timeout',
    '0.5',
  ]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(rawGet('/never'));
  await waitFor(() => upstream.proxied().length === 1, { timeoutMs: 10_000, what: 'the request to reach the upstream' });

  const signalled = performance.now();
  balancer.process.child.kill('SIGTERM');
  const received = await client.readUntilClosed(10_000);
  t.is(received.length, 0, 'no response: the connection was cut');
  t.true(performance.now() - signalled >= 450, 'not cut before the deadline');
  const exit = await withDeadline(balancer.process.exited, 10_000, 'the balancer to exit');
  t.deepEqual(exit, { code: 0, signal: null });
  t.deepEqual(balancer.process.crashReports(), []);
});
