/**
 * The listener's IncomingMessage (src/node/lazy-header-request.ts) on a real
 * node:http server: node's own checks build no header object, they still see
 * Expect and TE, and `req.headers` is whole once the request is taken. The
 * first test guards the assumption the class rests on: which fields node:http
 * reads before it emits a request.
 */
import { createServer, IncomingMessage, type IncomingHttpHeaders, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { LazyHeaderRequest, takeRequest } from '../../src/node/lazy-header-request.js';
import { RawConnection } from '../helpers/client.js';

async function listen(t: ExecutionContext, options: ServerOptions, setUp: (server: Server) => void): Promise<RawConnection> {
  const server = createServer(options);
  setUp(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = await RawConnection.open((server.address() as AddressInfo).port);
  t.teardown(() => client.destroy());
  return client;
}

/** Whether node built the header object of `req` (its private kHeaders field is set). */
function headersBuilt(req: IncomingMessage): boolean {
  const kHeaders = Object.getOwnPropertySymbols(req).find((symbol) => symbol.description === 'kHeaders');
  if (kHeaders === undefined) throw new Error("node:http's IncomingMessage has no kHeaders field any more");
  return (req as unknown as Record<symbol, unknown>)[kHeaders] !== null;
}

/** Records which header fields node:http reads before the request reaches the handler. */
const readBeforeHandler: string[] = [];
let handed = false;
class RecordingRequest extends IncomingMessage {}
Object.defineProperty(RecordingRequest.prototype, 'headers', {
  get(this: IncomingMessage): IncomingHttpHeaders {
    if (handed) return {};
    return new Proxy<IncomingHttpHeaders>({}, {
      get: (_target, name) => {
        readBeforeHandler.push(String(name));
        return undefined;
      },
    });
  },
});

test.serial('node:http reads only Expect (HTTP/1.1) and TE (HTTP/1.0) of a request before emitting it', async (t) => {
  let requests = 0;
  const client = await listen(t, { IncomingMessage: RecordingRequest, requireHostHeader: false }, (server) => {
    server.on('request', (_req, res) => {
      handed = true;
      requests++;
      res.end('x');
    });
  });
  for (const head of ['GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n', 'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n']) {
    handed = false;
    readBeforeHandler.length = 0;
    client.write(head);
    await client.readResponse();
    t.true(readBeforeHandler.every((name) => name === 'expect' || name === 'te'), `read: ${readBeforeHandler.join(', ')}`);
  }
  t.is(requests, 2);
});

test('no header object is built before the request is taken; after, req.headers is whole', async (t) => {
  const seen: { builtBefore: boolean; headers: IncomingHttpHeaders; builtAfter: boolean }[] = [];
  const client = await listen(t, { IncomingMessage: LazyHeaderRequest, requireHostHeader: false }, (server) => {
    server.on('request', (req, res) => {
      const builtBefore = headersBuilt(req);
      takeRequest(req);
      const headers = req.headers;
      seen.push({ builtBefore, headers, builtAfter: headersBuilt(req) });
      res.end('x');
    });
  });
  client.write('GET / HTTP/1.1\r\nHost: a.example\r\nCookie: a=1\r\ncookie: b=2\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n');
  t.is((await client.readResponse()).status, 200);
  t.is(seen.length, 1);
  const result = seen[0] as (typeof seen)[number];
  t.false(result.builtBefore);
  t.true(result.builtAfter);
  t.is(result.headers.host, 'a.example');
  t.is(result.headers.cookie, 'a=1; b=2');
  t.is(result.headers['x-dup'], '1, 2');
});

test("node's own checks still see Expect: 100-continue, other expectations, and an HTTP/1.0 TE", async (t) => {
  const events: string[] = [];
  const client = await listen(t, { IncomingMessage: LazyHeaderRequest, requireHostHeader: false }, (server) => {
    server.on('checkContinue', (req, res) => {
      takeRequest(req);
      events.push(`continue ${String(req.headers.expect)}`);
      res.writeHead(200, { 'content-length': 1, connection: 'keep-alive' });
      res.end('x');
    });
    server.on('checkExpectation', (req, res) => {
      takeRequest(req);
      events.push(`expectation ${String(req.headers.expect)}`);
      res.writeHead(417, { 'content-length': 0 });
      res.end();
    });
    server.on('request', (req, res) => {
      takeRequest(req);
      // node chunks a response to an HTTP/1.0 client only when it sent TE: chunked.
      events.push(`request ${req.httpVersion} chunked=${String(res.useChunkedEncodingByDefault)}`);
      res.end('x');
    });
  });
  client.write('GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n');
  await client.readResponse();
  client.write('GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n');
  await client.readResponse();
  client.write('GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTE: chunked\r\n\r\n');
  await client.readResponse();
  const again = await listen(t, { IncomingMessage: LazyHeaderRequest, requireHostHeader: false }, (server) => {
    server.on('request', (req, res) => {
      takeRequest(req);
      events.push(`request ${req.httpVersion} chunked=${String(res.useChunkedEncodingByDefault)}`);
      res.end('x');
    });
  });
  again.write('GET / HTTP/1.0\r\nHost: a\r\n\r\n');
  await again.readUntilClosed();
  t.deepEqual(events, ['continue 100-continue', 'expectation teapot', 'request 1.0 chunked=true', 'request 1.0 chunked=false']);
});

test('an upgrade request has its headers without being taken (node reads none before "upgrade")', async (t) => {
  let upgrade: string | undefined;
  const client = await listen(t, { IncomingMessage: LazyHeaderRequest, requireHostHeader: false }, (server) => {
    server.on('upgrade', (req: IncomingMessage, socket) => {
      upgrade = req.headers.upgrade;
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
  client.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  await client.readUntilClosed();
  t.is(upgrade, 'websocket');
});
