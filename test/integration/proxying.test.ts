/**
 * Round trips through the real CLI: what the upstream receives (method, path,
 * body, Host, x-forwarded-*), what the client receives (status, body), and the
 * hop-by-hop headers that must not cross in either direction. Bodyless
 * responses and chunked bodies are checked on raw sockets, byte for byte.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream, type SeenRequest, type TestUpstream } from '../helpers/upstream.js';

/** 64 KiB pieces of a deterministic pattern, for chunked bodies. */
function piece(index: number, size = 64 * 1024): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + index * 7) & 0xff;
  return buffer;
}
const STREAMED_PIECES = 20;
const streamedBody = Buffer.concat(Array.from({ length: STREAMED_PIECES }, (_, i) => piece(i)));
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function handler(req: IncomingMessage, res: ServerResponse, seen: SeenRequest): void {
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/no-content':
      res.writeHead(204, { 'x-kind': 'no-content' });
      res.end();
      return;
    case '/not-modified':
      res.writeHead(304, { etag: '"v1"' });
      res.end();
      return;
    case '/stream': {
      // No content-length: node:http sends this chunked.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let index = 0;
      const writeMore = (): void => {
        while (index < STREAMED_PIECES) {
          const ok = res.write(piece(index++));
          if (!ok) {
            res.once('drain', writeMore);
            return;
          }
        }
        res.end();
      };
      writeMore();
      return;
    }
    default: {
      const body = `${seen.method} ${seen.url} body=${seen.body.length}`;
      res.writeHead(seen.method === 'POST' ? 201 : 200, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
        // x-secret is named by Connection, so it describes this hop only.
        connection: 'keep-alive, x-secret',
        'keep-alive': 'timeout=5',
        'x-secret': 's3cr3t',
        'x-kept': 'yes',
      });
      res.end(body);
    }
  }
}

async function setup(t: ExecutionContext): Promise<{ upstream: TestUpstream; balancer: RunningBalancer }> {
  const upstream = await startUpstream(t, { handler });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  return { upstream, balancer };
}

test('GET: status and body relayed; upstream sees path, query, Host, x-forwarded-*; hop-by-hop headers dropped both ways', async (t) => {
  const { upstream, balancer } = await setup(t);
  const response = await httpCall(balancer.port, {
    path: '/some/path?a=1&b=two%20words',
    headers: {
      host: 'example.test:8080',
      'x-forwarded-for': '1.2.3.4',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': '1',
      'keep-alive': 'timeout=30',
      te: 'trailers',
      'x-custom': 'kept',
    },
  });

  t.is(response.status, 200);
  t.is(response.body.toString(), 'GET /some/path?a=1&b=two%20words body=0');
  t.is(response.headers['x-kept'], 'yes');
  t.is(response.headers['x-secret'], undefined, 'a header the upstream named in Connection must not reach the client');
  t.false(String(response.headers.connection ?? '').includes('x-secret'));

  t.is(upstream.proxied().length, 1);
  const seen = upstream.proxied()[0] as SeenRequest;
  t.is(seen.method, 'GET');
  t.is(seen.url, '/some/path?a=1&b=two%20words');
  t.is(seen.headers.host, 'example.test:8080');
  t.is(seen.headers['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
  t.is(seen.headers['x-forwarded-proto'], 'http');
  t.is(seen.headers['x-forwarded-host'], 'example.test:8080');
  t.is(seen.headers['x-custom'], 'kept');
  t.is(seen.headers['x-drop-me'], undefined, 'a header the client named in Connection must not reach the upstream');
  t.is(seen.headers['keep-alive'], undefined);
  t.is(seen.headers.te, undefined);
  t.false(String(seen.headers.connection ?? '').includes('x-drop-me'));
});

test('POST: body and method relayed, upstream status relayed, x-forwarded-for set from the client address', async (t) => {
  const { upstream, balancer } = await setup(t);
  const body = 'name=balancebeam&n=1&' + 'x'.repeat(10_000);
  const response = await httpCall(balancer.port, {
    method: 'POST',
    path: '/form?via=test',
    headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'api.example.test' },
    body,
  });

  t.is(response.status, 201);
  t.is(response.body.toString(), `POST /form?via=test body=${body.length}`);
  const seen = upstream.proxied()[0] as SeenRequest;
  t.is(seen.method, 'POST');
  t.is(seen.url, '/form?via=test');
  t.is(seen.body.toString(), body);
  t.is(seen.headers['content-type'], 'application/x-www-form-urlencoded');
  t.is(seen.headers['content-length'], String(body.length));
  t.is(seen.headers.host, 'api.example.test');
  t.is(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.is(seen.headers['x-forwarded-host'], 'api.example.test');
  t.is(seen.headers['x-forwarded-proto'], 'http');
});

/** Sends one request with `connection: close` and returns the head and whatever followed it. */
async function rawRoundTrip(port: number, method: string, path: string): Promise<{ head: string; afterHead: Buffer }> {
  const connection = await RawConnection.open(port);
  try {
    connection.write(`${method} ${path} HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n\r\n`);
    const all = await connection.readUntilClosed(15_000);
    const headEnd = all.indexOf('\r\n\r\n');
    if (headEnd === -1) throw new Error(`no complete response head: ${JSON.stringify(all.toString('latin1'))}`);
    return { head: all.subarray(0, headEnd).toString('latin1'), afterHead: all.subarray(headEnd + 4) };
  } finally {
    connection.destroy();
  }
}

test('HEAD, 204 and 304 responses carry no body', async (t) => {
  const { upstream, balancer } = await setup(t);

  const head = await rawRoundTrip(balancer.port, 'HEAD', '/resource');
  t.regex(head.head, /^HTTP\/1\.1 200 /);
  // The upstream's content-length describes the GET body; no byte of it follows a HEAD response.
  t.regex(head.head, /\r\ncontent-length: \d+/i);
  t.is(head.afterHead.length, 0, 'HEAD response must have no body');

  const noContent = await rawRoundTrip(balancer.port, 'GET', '/no-content');
  t.regex(noContent.head, /^HTTP\/1\.1 204 /);
  t.regex(noContent.head, /\r\nx-kind: no-content/i);
  t.notRegex(noContent.head, /transfer-encoding/i);
  t.is(noContent.afterHead.length, 0, '204 response must have no body');

  const notModified = await rawRoundTrip(balancer.port, 'GET', '/not-modified');
  t.regex(notModified.head, /^HTTP\/1\.1 304 /);
  t.regex(notModified.head, /\r\netag: "v1"/i);
  t.notRegex(notModified.head, /transfer-encoding/i);
  t.is(notModified.afterHead.length, 0, '304 response must have no body');

  t.deepEqual(
    upstream.proxied().map((seen) => `${seen.method} ${seen.url}`),
    ['HEAD /resource', 'GET /no-content', 'GET /not-modified'],
  );
});

test('a chunked request body (no content-length) arrives intact', async (t) => {
  const { upstream, balancer } = await setup(t);
  const parts = ['first part;', 'x'.repeat(70_000), ';', 'last part'];
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  connection.write('POST /upload HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
  for (const part of parts) connection.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
  connection.write('0\r\n\r\n');

  const response = await connection.readResponse({ timeoutMs: 15_000 });
  const expected = parts.join('');
  t.is(response.status, 201);
  t.is(response.body.toString(), `POST /upload body=${expected.length}`);
  const seen = upstream.proxied()[0] as SeenRequest;
  t.is(seen.body.toString(), expected);
  t.is(seen.headers['content-length'], undefined);
});

test('a chunked response body arrives intact, chunked', async (t) => {
  const { balancer } = await setup(t);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  connection.write('GET /stream HTTP/1.1\r\nHost: test.local\r\n\r\n');
  const response = await connection.readResponse({ timeoutMs: 15_000 });
  t.is(response.status, 200);
  t.is(response.headers['transfer-encoding'], 'chunked');
  t.is(response.headers['content-length'], undefined);
  t.is(response.body.length, streamedBody.length);
  t.is(sha256(response.body), sha256(streamedBody));

  // The same connection is still usable afterwards: the chunked framing ended where it should.
  connection.write('GET /after HTTP/1.1\r\nHost: test.local\r\n\r\n');
  const after = await connection.readResponse({ timeoutMs: 15_000 });
  t.is(after.status, 200);
  t.is(after.body.toString(), 'GET /after body=0');
});

test('a streamed request body sent by node:http (chunked) arrives intact', async (t) => {
  const { upstream, balancer } = await setup(t);
  const pieces = [piece(1), piece(2, 1000), piece(3)];
  const response = await httpCall(balancer.port, {
    method: 'POST',
    path: '/streamed',
    bodyStream: Readable.from(pieces),
  });
  t.is(response.status, 201);
  const seen = upstream.proxied()[0] as SeenRequest;
  t.is(sha256(seen.body), sha256(Buffer.concat(pieces)));
});
