/**
 * The retry rule end to end: an idempotent request that an upstream reset
 * before any response byte is resent to another upstream, at most --retries
 * times; a POST is not; nothing is resent once response bytes reached the
 * client. Round robin starts with the first --upstream, so the faulty one
 * gets the first request.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startRawUpstream } from '../helpers/raw-upstream.js';
import { startUpstream } from '../helpers/upstream.js';

const NO_ACTIVE_CHECKS = ['--active-health-check-interval', '0'];

test('a GET reset before any response byte is answered by another upstream', async (t) => {
  const resets = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const good = await startUpstream(t, { name: 'good' });
  const balancer = await startBalancer(t, ['--upstream', resets.id, '--upstream', good.id, ...NO_ACTIVE_CHECKS]);
  const response = await httpCall(balancer.port, { path: '/idempotent' });
  t.is(response.status, 200);
  t.is(response.headers['x-upstream'], 'good');
  t.is(resets.heads.length, 1);
  t.deepEqual(
    good.proxied().map((request) => request.url),
    ['/idempotent'],
  );
  const logged = await balancer.process.waitForLog((line) => line.msg === 'request', { timeoutMs: 10_000, what: 'the request line' });
  t.is(logged.attempts, 2, 'the request line says two upstreams were tried');
  t.deepEqual(balancer.process.crashReports(), []);
});

test('--retries 0: the same reset is answered with 502', async (t) => {
  const resets = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const good = await startUpstream(t, { name: 'good' });
  const balancer = await startBalancer(t, ['--upstream', resets.id, '--upstream', good.id, ...NO_ACTIVE_CHECKS, '--retries', '0']);
  t.is((await httpCall(balancer.port, { path: '/once' })).status, 502);
  t.deepEqual(good.proxied(), []);
});

test('--retries 2 with two resetting upstreams: the third answers; with --retries 1 the client gets 502', async (t) => {
  const first = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const second = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const good = await startUpstream(t, { name: 'good' });
  const upstreams = ['--upstream', first.id, '--upstream', second.id, '--upstream', good.id, ...NO_ACTIVE_CHECKS];
  const twice = await startBalancer(t, [...upstreams, '--retries', '2']);
  t.is((await httpCall(twice.port, { path: '/twice' })).status, 200);
  const once = await startBalancer(t, [...upstreams, '--retries', '1']);
  t.is((await httpCall(once.port, { path: '/once' })).status, 502);
  t.deepEqual(
    good.proxied().map((request) => request.url),
    ['/twice'],
  );
});

test('a POST reset before any response byte is not resent: 502', async (t) => {
  const resets = await startRawUpstream(t, (socket) => socket.resetAndDestroy());
  const good = await startUpstream(t, { name: 'good' });
  const balancer = await startBalancer(t, ['--upstream', resets.id, '--upstream', good.id, ...NO_ACTIVE_CHECKS, '--retries', '3']);
  const response = await httpCall(balancer.port, { method: 'POST', path: '/order', body: 'one order' });
  t.is(response.status, 502);
  t.deepEqual(good.proxied(), [], 'the POST may have had an effect: it is not sent again');
});

test('a refused connection fails over for any method, even with --retries 0', async (t) => {
  const gone = await startUpstream(t, { name: 'gone' });
  await gone.kill();
  const good = await startUpstream(t, { name: 'good' });
  const balancer = await startBalancer(t, ['--upstream', gone.id, '--upstream', good.id, ...NO_ACTIVE_CHECKS, '--retries', '0']);
  const response = await httpCall(balancer.port, { method: 'POST', path: '/order', body: 'one order' });
  t.is(response.status, 200);
  t.is(response.headers['x-upstream'], 'good');
});

test('never resent after response bytes reached the client: the connection is closed instead', async (t) => {
  const breaks = await startRawUpstream(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\npartial', () => socket.resetAndDestroy());
  });
  const good = await startUpstream(t, { name: 'good' });
  const balancer = await startBalancer(t, ['--upstream', breaks.id, '--upstream', good.id, ...NO_ACTIVE_CHECKS, '--retries', '3']);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write('GET /half HTTP/1.1\r\nHost: test\r\n\r\n');
  const received = (await client.readUntilClosed()).toString('latin1');
  t.regex(received, /^HTTP\/1\.1 200/);
  t.false(/HTTP\/1\.1 200[^]*HTTP\/1\.1/.test(received), 'one response head only');
  t.deepEqual(good.proxied(), []);
  t.deepEqual(balancer.process.crashReports(), []);
});
