/**
 * Bytes and resets a client can send that once escaped as uncaught exceptions
 * (found in review): each must leave the balancer serving, with no crash line.
 */
import { connect } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { withDeadline } from '../helpers/wait.js';

/** Writes `bytes` on a fresh connection, waits a moment for the balancer to read them, then resets it. */
async function sendAndReset(port: number, bytes: string, resetAfterMs: number): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await withDeadline(new Promise((resolve) => socket.once('connect', resolve)), 5_000, 'a connection');
  socket.write(bytes);
  // A reset while the balancer holds the socket in the state under test: the delay is the attack.
  await new Promise((resolve) => setTimeout(resolve, resetAfterMs));
  socket.resetAndDestroy();
}

async function stillServing(t: ExecutionContext, balancer: RunningBalancer): Promise<void> {
  t.is((await httpCall(balancer.port)).status, 200);
  t.deepEqual(balancer.process.crashReports(), []);
}

const BAD_CHUNKED = 'POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n';

test('a malformed chunked body pipelined beyond --max-pipelined-requests', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--max-pipelined-requests', '1']);
  await sendAndReset(balancer.port, `GET /a HTTP/1.1\r\nHost: x\r\n\r\n${BAD_CHUNKED}`, 300);
  await stillServing(t, balancer);
});

test('a malformed chunked body while its request waits for a rate-limit verdict (--workers 2)', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '2', '--max-requests-per-minute', '1000',
  ]); // prettier-ignore
  for (let i = 0; i < 4; i++) await sendAndReset(balancer.port, BAD_CHUNKED, 200);
  await stillServing(t, balancer);
});

test('an Upgrade request pipelined behind a slow response, then a reset', async (t) => {
  const upstream = await startUpstream(t, {
    handler: (req, res) => {
      setTimeout(() => res.end('late'), 500);
    },
  });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const upgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n';
  await sendAndReset(balancer.port, `GET /a HTTP/1.1\r\nHost: x\r\n\r\n${upgrade}`, 100);
  await stillServing(t, balancer);
});

test('CONNECT, then a reset at once', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  for (const delay of [0, 5]) await sendAndReset(balancer.port, 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', delay);
  await stillServing(t, balancer);
});
