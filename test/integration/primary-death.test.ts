/**
 * `--workers 2`, the primary killed with SIGKILL while a request is in flight
 * on a worker: the worker stops accepting, finishes the request (the client
 * gets the whole response), and exits; a request still running at
 * --drain-timeout has its connection cut, and the worker exits all the same.
 * (Node's cluster child would otherwise exit at once on the lost IPC channel:
 * see src/cluster/worker.ts.)
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { isAlive, startBalancer } from '../helpers/balancer.js';
import { RawConnection, rawGet } from '../helpers/client.js';
import { slowHandler, startUpstream } from '../helpers/upstream.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

const SLOW = slowHandler(1_500);

test('SIGKILL of the primary with a slow request in flight: the client gets the whole response, then the workers exit', async (t) => {
  const upstream = await startUpstream(t, { name: 'slow', handler: SLOW });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '2']);
  const workers = [...(await balancer.process.workerPids(2)).values()];

  const busy = await RawConnection.open(balancer.port);
  t.teardown(() => busy.destroy());
  busy.write(rawGet('/slow'));
  await waitFor(() => upstream.proxied().some((request) => request.url === '/slow'), {
    timeoutMs: 10_000,
    what: 'the slow request to reach the upstream',
  });

  balancer.process.child.kill('SIGKILL');
  t.deepEqual(await withDeadline(balancer.process.exited, 5_000, 'the primary to die'), { code: null, signal: 'SIGKILL' });
  await balancer.process.waitForLog((line) => line.msg === 'draining' && line.reason === 'primary gone', {
    timeoutMs: 5_000,
    what: 'a worker draining because its primary is gone',
    afterExit: true,
  });
  await t.throwsAsync(RawConnection.open(balancer.port, 2_000), undefined, 'nothing accepts new connections');

  const response = await busy.readResponse({ timeoutMs: 10_000 });
  t.is(response.status, 200);
  t.is(response.body.toString(), 'slow');
  await withDeadline(busy.closed, 5_000, 'the connection to close once its response went out');
  await waitFor(() => workers.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, what: `workers ${workers.join(', ')} to exit` });
  t.deepEqual(balancer.process.crashReports(), []);
});

test('SIGKILL of the primary: a request still running at --drain-timeout is cut, and the workers exit', async (t) => {
  const upstream = await startUpstream(t, { name: 'hangs', handler: SLOW });
  const balancer = await startBalancer(t, [
    '--upstream',
    upstream.id,
    '--active-health-check-interval',
    '0',
    '--workers',
    '2',
    '--drain-timeout',
    '0.5',
  ]);
  const workers = [...(await balancer.process.workerPids(2)).values()];
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(rawGet('/never'));
  await waitFor(() => upstream.proxied().length === 1, { timeoutMs: 10_000, what: 'the request to reach the upstream' });

  const killed = performance.now();
  balancer.process.child.kill('SIGKILL');
  const received = await client.readUntilClosed(10_000);
  t.is(received.length, 0, 'no response: the connection was cut at the drain deadline');
  t.true(performance.now() - killed >= 450, 'not cut before the deadline');
  await waitFor(() => workers.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, what: `workers ${workers.join(', ')} to exit` });
  t.deepEqual(balancer.process.crashReports(), []);
});

test('SIGKILL of the primary with rate limiting on: a request sent afterwards on a kept-alive connection is let through, not left waiting for a verdict', async (t) => {
  const upstream = await startUpstream(t, { name: 'slow', handler: SLOW });
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id,
    '--active-health-check-interval', '0',
    '--workers', '2',
    '--max-requests-per-minute', '1000',
  ]); // prettier-ignore
  const busy = await RawConnection.open(balancer.port);
  t.teardown(() => busy.destroy());
  busy.write(rawGet('/slow'));
  await waitFor(() => upstream.proxied().some((request) => request.url === '/slow'), {
    timeoutMs: 10_000,
    what: 'the slow request to reach the upstream',
  });
  balancer.process.child.kill('SIGKILL');
  await withDeadline(balancer.process.exited, 5_000, 'the primary to die');
  await balancer.process.waitForLog((line) => line.msg === 'draining' && line.reason === 'primary gone', {
    timeoutMs: 5_000,
    what: 'a worker draining because its primary is gone',
    afterExit: true,
  });
  // Pipelined behind the slow one, after the primary died: its rate-limit check can only be answered locally.
  busy.write(rawGet('/after'));
  t.is((await busy.readResponse({ timeoutMs: 10_000 })).status, 200);
  const after = await busy.readResponse({ timeoutMs: 10_000 });
  t.is(after.status, 200);
  t.is(after.body.toString(), 'fast');
  t.deepEqual(balancer.process.crashReports(), []);
});
