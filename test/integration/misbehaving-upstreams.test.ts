/**
 * Upstreams that lie, hang, cut short or reset, each a hand-written raw TCP
 * server: the client gets the documented answer (502, 504, or a closed
 * connection that never looks like a complete response), the balancer keeps
 * running and logs no crash.
 */
import { performance } from 'node:perf_hooks';
import test, { type ExecutionContext } from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startRawUpstream } from '../helpers/raw-upstream.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const NO_ACTIVE_CHECKS = ['--active-health-check-interval', '0'];

/** The balancer survived: still running, and no crash logged. */
function assertUnharmed(t: ExecutionContext, balancer: RunningBalancer): void {
  t.is(balancer.process.exit, null, 'the balancer is still running');
  t.deepEqual(balancer.process.crashReports(), []);
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`;

test('garbage instead of a status line: 502, and the upstream is marked dead', async (t) => {
  const liar = await startRawUpstream(t, (socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n'));
  const balancer = await startBalancer(t, ['--upstream', liar.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(GET('/lie'));
  const response = await client.readResponse();
  t.is(response.status, 502);
  const dead = await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === liar.id, {
    timeoutMs: 10_000,
    what: 'the passive health mark',
  });
  t.regex(String(dead.reason), /^misbehaved: /);
  // The client's connection is still usable: the 502 was a complete response.
  client.write(GET('/again'));
  t.is((await client.readResponse()).status, 502);
  assertUnharmed(t, balancer);
});

test('garbage from one upstream: an idempotent request is answered by another, the liar is taken out', async (t) => {
  const liar = await startRawUpstream(t, (socket) => socket.end('garbage\r\n\r\n'));
  const honest = await startUpstream(t, { name: 'honest' });
  const balancer = await startBalancer(t, ['--upstream', liar.id, '--upstream', honest.id, ...NO_ACTIVE_CHECKS]);
  for (let i = 0; i < 6; i++) {
    const response = await httpCall(balancer.port, { path: `/r${i}` });
    t.is(response.status, 200);
    t.is(response.headers['x-upstream'], 'honest');
  }
  t.is(liar.heads.length, 1, 'once marked dead, the liar gets no more requests (back-off is 1 s)');
  assertUnharmed(t, balancer);
});

test('a response cut short of its Content-Length: the client connection is closed, the body never looks complete', async (t) => {
  const short = await startRawUpstream(t, (socket) =>
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n0123456789'),
  );
  const balancer = await startBalancer(t, ['--upstream', short.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(GET('/short'));
  const received = (await client.readUntilClosed()).toString('latin1');
  const [head = '', body = ''] = received.split('\r\n\r\n');
  t.regex(head, /^HTTP\/1\.1 200/);
  t.regex(head, /content-length: 100/i);
  t.true(Buffer.byteLength(body, 'latin1') < 100, `got ${Buffer.byteLength(body, 'latin1')} body bytes of 100`);
  assertUnharmed(t, balancer);
});

test('a chunked response cut before its last chunk: the client connection is closed without the terminating chunk', async (t) => {
  const short = await startRawUpstream(t, (socket) =>
    socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n'),
  );
  const balancer = await startBalancer(t, ['--upstream', short.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(GET('/chunked'));
  const received = (await client.readUntilClosed()).toString('latin1');
  t.regex(received, /^HTTP\/1\.1 200/);
  t.regex(received, /transfer-encoding: chunked/i);
  t.false(received.endsWith('0\r\n\r\n'), `the terminating chunk must not be sent: ${JSON.stringify(received)}`);
  assertUnharmed(t, balancer);
});

test('a hang before the response head: 504 after --upstream-response-timeout, and no health mark', async (t) => {
  const silent = await startRawUpstream(t, () => {
    // Reads the request, never answers.
  });
  const balancer = await startBalancer(t, ['--upstream', silent.id, ...NO_ACTIVE_CHECKS, '--upstream-response-timeout', '0.5']);
  const started = performance.now();
  const response = await httpCall(balancer.port, { path: '/hang', timeoutMs: 15_000 });
  const elapsed = performance.now() - started;
  t.is(response.status, 504);
  t.true(elapsed >= 450, `answered after ${Math.round(elapsed)} ms`);
  t.true(elapsed < 10_000, `answered after ${Math.round(elapsed)} ms`);
  // The balancer gave up on the upstream connection too.
  await waitFor(() => silent.sockets.size === 0, { timeoutMs: 10_000, what: 'the hung upstream connection to be closed' });
  t.deepEqual(balancer.process.logsWith((line) => line.msg === 'upstream marked dead'), []);
  assertUnharmed(t, balancer);
});

test('silence mid-body: the client connection is closed after --upstream-body-timeout', async (t) => {
  const stalls = await startRawUpstream(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst bytes'));
  const balancer = await startBalancer(t, ['--upstream', stalls.id, ...NO_ACTIVE_CHECKS, '--upstream-body-timeout', '0.5']);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  const started = performance.now();
  client.write(GET('/stall'));
  const received = (await client.readUntilClosed(15_000)).toString('latin1');
  t.true(performance.now() - started >= 450);
  t.regex(received, /^HTTP\/1\.1 200[^]*\r\n\r\nfirst bytes$/);
  assertUnharmed(t, balancer);
});

test('a reset while the request body is being sent: 502', async (t) => {
  const resets = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const balancer = await startBalancer(t, ['--upstream', resets.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  // Half of the declared body: the upstream has the head and some body bytes when it resets.
  client.write(`POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(1000)}`);
  const response = await client.readResponse({ timeoutMs: 15_000 });
  t.is(response.status, 502);
  t.is(resets.heads.length, 1, 'a POST is not resent');
  assertUnharmed(t, balancer);
});

test('a reset before any response byte, with nowhere else to go: 502', async (t) => {
  const resets = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const balancer = await startBalancer(t, ['--upstream', resets.id, ...NO_ACTIVE_CHECKS]);
  const response = await httpCall(balancer.port, { path: '/reset' });
  t.is(response.status, 502);
  t.deepEqual(balancer.process.logsWith((line) => line.msg === 'upstream marked dead'), [], 'a reset is no health mark');
  assertUnharmed(t, balancer);
});
