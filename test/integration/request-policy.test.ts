/**
 * What the proxy refuses to pass on by default, as nginx does, and the flags
 * that allow it: TRACE (405), header names with `_` (dropped), and a
 * `Connection` header naming end-to-end fields the request cannot lose.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';

const QUIET = ['--active-health-check-interval', '0', '--bind', '127.0.0.1:0', '--workers', '1'];

test('TRACE is answered 405, never forwarded, logged; the connection stays usable', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...QUIET]);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  connection.write('TRACE /echo HTTP/1.1\r\nHost: example.com\r\nCookie: session=secret\r\n\r\n');
  const refused = await connection.readResponse();
  t.is(refused.status, 405);
  t.false(refused.body.toString().includes('secret'));
  connection.write('GET /after HTTP/1.1\r\nHost: example.com\r\n\r\n');
  t.is((await connection.readResponse()).status, 200, 'the same connection serves the next request');
  t.deepEqual(
    upstream.proxied().map((request) => request.url),
    ['/after'],
  );
  const line = await balancer.process.waitForLog((entry) => entry.msg === 'request' && entry.method === 'TRACE', {
    timeoutMs: 5_000,
    what: 'the TRACE request line',
  });
  t.is(line.outcome, 'method-not-allowed');
  t.is(line.status, 405);
});

test('--allow-trace forwards TRACE', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--allow-trace', ...QUIET]);
  const response = await httpCall(balancer.port, { method: 'TRACE', path: '/echo' });
  t.is(response.status, 200);
  t.deepEqual(upstream.proxied().map((request) => request.method), ['TRACE']);
});

test('header names with an underscore are dropped, so X_Forwarded_For cannot spoof the client address', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...QUIET]);
  const response = await httpCall(balancer.port, {
    headers: { 'X_Forwarded_For': '6.6.6.6', 'Transfer_Encoding': 'chunked', 'X_Real_IP': '6.6.6.6', 'x-kept': 'yes' },
  });
  t.is(response.status, 200);
  const [seen] = upstream.proxied();
  const names = (seen?.rawHeaders ?? []).filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
  t.false(names.some((name) => name.includes('_')), names.join(','));
  t.is(seen?.headers['x-kept'], 'yes');
  t.is(seen?.headers['x-forwarded-for'], '127.0.0.1');
});

test('--allow-underscores-in-headers forwards them', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--allow-underscores-in-headers', ...QUIET]);
  await httpCall(balancer.port, { headers: { 'X_Custom_Thing': 'v' } });
  t.is(upstream.proxied()[0]?.headers['x_custom_thing'], 'v');
});

test('Connection: host (or content-length) cannot strip Host or the body framing', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...QUIET]);
  const response = await httpCall(balancer.port, {
    method: 'POST',
    path: '/form',
    headers: { host: 'app.example', connection: 'host, content-length, x-hop', 'x-hop': 'drop me' },
    body: 'abc',
  });
  t.is(response.status, 200);
  const [seen] = upstream.proxied();
  t.is(seen?.headers.host, 'app.example');
  t.is(seen?.body.toString(), 'abc');
  t.is(seen?.headers['content-length'], '3');
  t.is(seen?.headers['x-hop'], undefined, 'a header Connection names is still dropped');
});
