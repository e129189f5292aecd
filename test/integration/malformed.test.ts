/**
 * Requests the HTTP parser rejects are answered by the balancer itself (400),
 * never reach an upstream, and do not disturb other clients.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';

const malformed: { title: string; bytes: string }[] = [
  { title: 'a non-numeric Content-Length', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' },
  { title: 'a garbage request line', bytes: 'THIS IS NOT HTTP\r\n\r\n' },
  { title: 'a header line with no colon', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n' },
  { title: 'no Host header', bytes: 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n' },
  {
    title: 'both Content-Length and chunked Transfer-Encoding',
    bytes: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  },
];

for (const { title, bytes } of malformed) {
  test(`${title}: 400, nothing reaches the upstream, the next client is served`, async (t) => {
    const upstream = await startUpstream(t);
    const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);

    const bad = await RawConnection.open(balancer.port);
    t.teardown(() => bad.destroy());
    bad.write(bytes);
    const rejected = await bad.readResponse({ timeoutMs: 10_000 });
    t.is(rejected.status, 400);
    // The balancer closes a connection whose framing it could not parse.
    await bad.readUntilClosed(10_000);
    t.is(upstream.requests.length, 0, 'the malformed request must not reach the upstream');

    const next = await httpCall(balancer.port, { path: '/next' });
    t.is(next.status, 200);
    t.is(next.body.toString(), 'upstream upstream');
    t.deepEqual(
      upstream.requests.map((seen) => seen.url),
      ['/next'],
    );
    t.is(balancer.process.exit, null, 'the balancer is still running');
  });
}

test('a malformed request after a good one on the same connection: the good one is answered, then 400', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());

  connection.write('GET /good HTTP/1.1\r\nHost: x\r\n\r\n');
  const good = await connection.readResponse({ timeoutMs: 10_000 });
  t.is(good.status, 200);
  connection.write('GET /bad HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
  const bad = await connection.readResponse({ timeoutMs: 10_000 });
  t.is(bad.status, 400);
  await connection.readUntilClosed(10_000);
  t.deepEqual(
    upstream.requests.map((seen) => seen.url),
    ['/good'],
  );
});
