/**
 * Header fields end to end on the raw path (src/proxy/headers.ts): a raw client
 * and a raw upstream see the exact bytes, so the case of names, their order,
 * duplicates (Set-Cookie, a repeated custom field) and the removal of the
 * fields a Connection header names are checked as written on the wire, in
 * both directions.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { RawConnection } from '../helpers/client.js';
import { startRawUpstream } from '../helpers/raw-upstream.js';

/** The header lines of a head, as written: `Name: value`, in order, the request or status line left out. */
const headerLines = (head: string): string[] => head.split('\r\n').slice(1);

const RESPONSE =
  'HTTP/1.1 200 OK\r\n' +
  'Content-Type: text/plain\r\n' +
  'Set-Cookie: a=1; Path=/\r\n' +
  'X-Mixed-CASE: Value\r\n' +
  'connection: keep-alive, X-Upstream-Hop\r\n' +
  'X-Upstream-Hop: dropped\r\n' +
  'Keep-Alive: timeout=5\r\n' +
  'set-cookie: b=2; Path=/\r\n' +
  'x-dup: one\r\n' +
  'X-Dup: two\r\n' +
  'CONNECTION: X-Second-Hop\r\n' +
  'x-second-hop: dropped too\r\n' +
  'Content-Length: 2\r\n' +
  '\r\n' +
  'ok';

test('names keep their case and order, duplicates are all kept, hop-by-hop and Connection-listed fields dropped both ways', async (t) => {
  const upstream = await startRawUpstream(t, (socket) => socket.write(RESPONSE));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(
    'GET /raw HTTP/1.1\r\n' +
      'Host: Example.TEST\r\n' +
      'X-Mixed-CASE: Value\r\n' +
      'Connection: keep-alive, X-Client-Hop\r\n' +
      'x-dup: one\r\n' +
      'Cookie: a=1\r\n' +
      'X-Client-Hop: dropped\r\n' +
      'X-Dup: two\r\n' +
      'TE: trailers\r\n' +
      'cookie: b=2\r\n' +
      'connection: X-Second-Hop\r\n' +
      'X-Second-Hop: dropped too\r\n' +
      'X-Forwarded-For: 192.0.2.1\r\n' +
      'x-forwarded-for: 192.0.2.2\r\n' +
      '\r\n',
  );
  const response = await client.readResponse();
  t.is(response.status, 200);
  t.is(response.body.toString(), 'ok');

  // What the upstream got: every end-to-end field as the client wrote it, in its order, then the forwarding fields.
  const seen = headerLines(upstream.heads[0] as string);
  const endToEnd = seen.filter((line) => !/^(x-forwarded-|connection:)/i.test(line));
  // undici writes Host itself, as `host:` (its value is the client's).
  t.deepEqual(endToEnd.slice(0, 6), ['host: Example.TEST', 'X-Mixed-CASE: Value', 'x-dup: one', 'Cookie: a=1', 'X-Dup: two', 'cookie: b=2']);
  t.false(seen.some((line) => /^(x-client-hop|x-second-hop|te):/i.test(line)), seen.join('\n'));
  t.true(seen.includes('x-forwarded-for: 192.0.2.1, 192.0.2.2, 127.0.0.1'), seen.join('\n'));
  t.true(seen.includes('x-forwarded-host: Example.TEST'));

  // What the client got: the same, the other way (Node adds its own Date and Connection).
  const got = headerLines(response.head).filter((line) => !/^(date|connection):/i.test(line));
  t.deepEqual(got, [
    'Content-Type: text/plain',
    'Set-Cookie: a=1; Path=/',
    'X-Mixed-CASE: Value',
    'set-cookie: b=2; Path=/',
    'x-dup: one',
    'X-Dup: two',
    'Content-Length: 2',
  ]);
  t.false(/x-upstream-hop|x-second-hop|keep-alive: timeout/i.test(response.head), response.head);

  t.is(client.unread, 0, 'the framing fields were right: nothing left over');
  t.false(client.isEnded);
});

test('a header split over two upstream reads is decoded whole (the views do not share one read)', async (t) => {
  const upstream = await startRawUpstream(t, (socket) => {
    const at = RESPONSE.indexOf('X-Mixed-CASE: Val') + 'X-Mixed-CASE: Val'.length;
    socket.write(RESPONSE.slice(0, at));
    // Node would coalesce the two writes into one segment without a turn in between; a timer is no sync here.
    setImmediate(() => socket.write(RESPONSE.slice(at)));
  });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
  const response = await client.readResponse();
  t.is(response.status, 200);
  t.true(headerLines(response.head).includes('X-Mixed-CASE: Value'), response.head);
  t.is(response.headers['set-cookie'], 'a=1; Path=/, b=2; Path=/');
});
