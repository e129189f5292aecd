/**
 * Malformed and ambiguous requests (RFC 9112 §3, §5, §6.1, §6.3; request
 * smuggling) are answered by the balancer itself with the right 4xx/5xx, never
 * reach an upstream as a request, close the connection, and do not disturb
 * the next client. One balancer for the table, one raw TCP socket per case.
 */
import test from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

interface MalformedCase {
  readonly title: string;
  readonly bytes: string;
  readonly status: number;
}

const HOST = 'Host: x\r\n';

const malformed: MalformedCase[] = [
  // Framing: Content-Length (RFC 9112 §6.3, §8.6)
  {
    title: 'Content-Length together with Transfer-Encoding: chunked',
    bytes: `POST / HTTP/1.1\r\n${HOST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    title: 'two differing Content-Length fields',
    bytes: `POST / HTTP/1.1\r\n${HOST}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde`,
    status: 400,
  },
  {
    title: 'a Content-Length list with differing values',
    bytes: `POST / HTTP/1.1\r\n${HOST}Content-Length: 4, 5\r\n\r\nabcde`,
    status: 400,
  },
  { title: 'a non-numeric Content-Length', bytes: `GET / HTTP/1.1\r\n${HOST}Content-Length: abc\r\n\r\n`, status: 400 },
  { title: 'a negative Content-Length', bytes: `POST / HTTP/1.1\r\n${HOST}Content-Length: -4\r\n\r\nabcd`, status: 400 },
  // Framing: Transfer-Encoding (RFC 9112 §6.1, §6.3)
  {
    title: 'a transfer-coding other than a final chunked (gzip alone)',
    bytes: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\n\r\nabcd`,
    status: 400,
  },
  {
    title: 'chunked applied twice',
    bytes: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    title: 'an unknown transfer-coding before chunked',
    bytes: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: foo, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`,
    status: 501,
  },
  {
    title: 'an unknown transfer-coding in a second Transfer-Encoding field',
    bytes: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`,
    status: 501,
  },
  {
    title: 'a bad chunk size (the head was already good)',
    bytes: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\n\r\n`,
    status: 400,
  },
  {
    title: 'a chunk size with a sign',
    bytes: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n-4\r\nabcd\r\n0\r\n\r\n`,
    status: 400,
  },
  // Header field syntax (RFC 9110 §5.5, RFC 9112 §5)
  { title: 'a NUL inside a header value', bytes: `GET / HTTP/1.1\r\n${HOST}X-A: a\0b\r\n\r\n`, status: 400 },
  { title: 'a bare CR inside a header value', bytes: `GET / HTTP/1.1\r\n${HOST}X-A: a\rb\r\n\r\n`, status: 400 },
  { title: 'a bare LF inside a header value', bytes: `GET / HTTP/1.1\r\n${HOST}X-A: a\nb\r\n\r\n`, status: 400 },
  { title: 'obs-fold (a continuation line)', bytes: `GET / HTTP/1.1\r\n${HOST}X-A: a\r\n b\r\n\r\n`, status: 400 },
  { title: 'whitespace between field name and colon', bytes: `GET / HTTP/1.1\r\n${HOST}X-A : b\r\n\r\n`, status: 400 },
  { title: 'a header line with no colon', bytes: `GET / HTTP/1.1\r\n${HOST}no colon here\r\n\r\n`, status: 400 },
  // Host (RFC 9112 §3.2)
  { title: 'no Host header on HTTP/1.1', bytes: 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', status: 400 },
  { title: 'two Host headers', bytes: `GET / HTTP/1.1\r\n${HOST}Host: y\r\n\r\n`, status: 400 },
  // Request line (RFC 9112 §3)
  { title: 'a garbage request line', bytes: 'THIS IS NOT HTTP\r\n\r\n', status: 400 },
  { title: 'a lowercase method', bytes: `get / HTTP/1.1\r\n${HOST}\r\n`, status: 400 },
  { title: 'an unknown HTTP version (HTTP/9.9)', bytes: `GET / HTTP/9.9\r\n${HOST}\r\n`, status: 400 },
  { title: 'HTTP/2.0 on an HTTP/1.1 connection', bytes: `GET / HTTP/2.0\r\n${HOST}\r\n`, status: 505 },
  { title: 'bare LF line endings', bytes: 'GET / HTTP/1.1\nHost: x\n\n', status: 400 },
  { title: 'absolute-form naming another host', bytes: `GET http://elsewhere.example/ HTTP/1.1\r\n${HOST}\r\n`, status: 400 },
  { title: 'asterisk-form', bytes: `OPTIONS * HTTP/1.1\r\n${HOST}\r\n`, status: 400 },
  { title: 'CONNECT (no tunnels)', bytes: 'CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: elsewhere.example:443\r\n\r\n', status: 501 },
];

/** What one malformed request came to, in the words the test compares with `rejectedAs(status)`. */
async function observeRejection(balancer: RunningBalancer, upstream: TestUpstream, bytes: string, index: number): Promise<string> {
  const from = balancer.process.mark();
  const seenBefore = upstream.requests.length;
  const bad = await RawConnection.open(balancer.port);
  const facts: string[] = [];
  try {
    bad.write(bytes);
    facts.push(String((await bad.readResponse({ timeoutMs: 10_000 })).status));
    // The framing of what follows cannot be trusted: the balancer closes the connection.
    await bad.readUntilClosed(10_000);
    facts.push('closed');
  } catch (error) {
    facts.push(`no clean answer (${(error as Error).message})`);
  } finally {
    bad.destroy();
  }
  const warned = await balancer.process
    .waitForLog((line) => line.level === 'warn' && String(line.msg).startsWith('rejected'), { timeoutMs: 10_000, from })
    .then(() => true, () => false);
  if (!warned) facts.push('no warn line');
  const next = await httpCall(balancer.port, { path: `/next-${index}` });
  if (next.status !== 200 || next.body.toString() !== 'upstream upstream') facts.push(`next client got ${next.status}`);
  // A head may have been sent on before its body proved malformed; it must never arrive whole.
  const reached = upstream.requests.slice(seenBefore).map((seen) => seen.url);
  if (reached.join() !== `/next-${index}`) facts.push(`the upstream saw ${reached.join(', ')}`);
  return facts.join(', ');
}

const rejectedAs = (status: number): string => `${status}, closed`;

test(`${malformed.length} malformed requests: each answered with its status, never forwarded, connection closed, a warn line, next client served`, async (t) => {
  t.timeout(60_000);
  // One balancer for every case (one each made the file start 27 processes at once).
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const observed: string[] = [];
  for (const [index, { title, bytes }] of malformed.entries()) {
    observed.push(`${title}: ${await observeRejection(balancer, upstream, bytes, index)}`);
  }
  t.deepEqual(
    observed,
    malformed.map(({ title, status }) => `${title}: ${rejectedAs(status)}`),
  );
  t.deepEqual(balancer.process.crashReports(), []);
  t.is(balancer.process.exit, null, 'the balancer is still running');
});

test('malformed: HTTP/1.0 without Host is fine (Host is required on 1.1 only)', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  connection.write('GET /ten HTTP/1.0\r\n\r\n');
  t.is((await connection.readResponse({ timeoutMs: 10_000 })).status, 200);
  t.deepEqual(
    upstream.requests.map((seen) => seen.url),
    ['/ten'],
  );
});

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
