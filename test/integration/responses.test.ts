/**
 * Upstream responses that are valid but unusual, each from a raw upstream that
 * writes exact bytes: responses without a body whatever their headers say
 * (204, 304, HEAD), and interim 1xx responses before the final one. Each is
 * relayed with the right framing, leaves no byte behind on a keep-alive client
 * connection (the next response parses cleanly), and is logged.
 */
import type { Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { RawConnection } from '../helpers/client.js';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.js';

const NO_ACTIVE_CHECKS = ['--active-health-check-interval', '0'];
const HEAD_END = '\r\n\r\n';
const FOLLOW_UP = 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nfollow-up';

const request = (method: string, path: string, extra = ''): string => `${method} ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

/**
 * Answers the first request this upstream receives with `first`, and every later one (bodiless
 * requests only), on that connection or another, with FOLLOW_UP.
 */
function firstThenFollowUps(first: string): (socket: Socket) => void {
  let answered = false;
  return (socket) => {
    socket.write(answered ? FOLLOW_UP : first);
    answered = true;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf(HEAD_END)) !== -1) {
        pending = pending.slice(end + HEAD_END.length);
        socket.write(FOLLOW_UP);
      }
    });
  };
}

async function balancerFor(t: ExecutionContext, upstream: RawUpstream): Promise<RunningBalancer> {
  return startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS]);
}

async function openClient(t: ExecutionContext, balancer: RunningBalancer): Promise<RawConnection> {
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  return client;
}

/** The next request on the same client connection is answered in full, with nothing left over. */
async function assertConnectionClean(t: ExecutionContext, client: RawConnection): Promise<void> {
  client.write(request('GET', '/next'));
  const next = await client.readResponse();
  t.is(next.status, 200);
  t.is(next.body.toString(), 'follow-up', 'no byte of the previous response leaked into this one');
  t.is(client.unread, 0);
  t.false(client.isEnded, 'the client connection stays open');
}

async function assertLogged(t: ExecutionContext, balancer: RunningBalancer, url: string, status: number): Promise<void> {
  const line = await balancer.process.waitForLog((entry) => entry.msg === 'request' && entry.url === url, {
    timeoutMs: 10_000,
    what: `the request line for ${url}`,
  });
  t.is(line.status, status);
  t.deepEqual(balancer.process.crashReports(), []);
}

test('304 with Content-Length and ETag: relayed with both, no body, the client connection kept, logged', async (t) => {
  const upstream = await startRawUpstream(
    t,
    firstThenFollowUps('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\n'),
  );
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('GET', '/cached', 'If-None-Match: "v1"\r\n'));
  const response = await client.readResponse();
  t.is(response.status, 304);
  t.is(response.headers.etag, '"v1"');
  t.is(response.headers['content-length'], '5', 'a 304 may state the representation length (RFC 9110 §8.6)');
  await assertConnectionClean(t, client);
  await assertLogged(t, balancer, '/cached', 304);
});

test('304 without ETag or Content-Length: relayed bodiless, keep-alive intact, logged', async (t) => {
  const upstream = await startRawUpstream(t, firstThenFollowUps('HTTP/1.1 304 Not Modified\r\n\r\n'));
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('GET', '/bare-304'));
  const response = await client.readResponse();
  t.is(response.status, 304);
  t.is(response.headers['content-length'], undefined);
  t.is(response.headers['transfer-encoding'], undefined);
  await assertConnectionClean(t, client);
  await assertLogged(t, balancer, '/bare-304', 304);
});

test('204 with Content-Length: 0: relayed without the length it must not carry, keep-alive intact, logged', async (t) => {
  const upstream = await startRawUpstream(t, firstThenFollowUps('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n'));
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('DELETE', '/item'));
  const response = await client.readResponse();
  t.is(response.status, 204);
  t.is(response.headers['content-length'], undefined);
  await assertConnectionClean(t, client);
  await assertLogged(t, balancer, '/item', 204);
  t.is(upstream.heads.length, 1, 'the follow-up went over the same upstream connection');
});

test('HEAD with Content-Length: the client sees the length and no body, keep-alive works after, logged', async (t) => {
  const upstream = await startRawUpstream(
    t,
    firstThenFollowUps('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12345\r\n\r\n'),
  );
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('HEAD', '/big'));
  const response = await client.readResponse({ noBody: true });
  t.is(response.status, 200);
  t.is(response.headers['content-length'], '12345');
  await assertConnectionClean(t, client);
  await assertLogged(t, balancer, '/big', 200);
});

test('an unsolicited 100 Continue before the final response: consumed, the final one relayed, logged', async (t) => {
  const upstream = await startRawUpstream(
    t,
    firstThenFollowUps('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal'),
  );
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('GET', '/continue'));
  const response = await client.readResponse({ interim: true });
  t.is(response.status, 200, 'the client did not ask for a 100: it gets none');
  t.is(response.body.toString(), 'final');
  await assertConnectionClean(t, client);
  await assertLogged(t, balancer, '/continue', 200);
  t.is(upstream.heads.length, 1, 'the upstream connection was reused after the 100');
});

test('a 100 Continue written in pieces, to a request with a body: consumed', async (t) => {
  const upstream = await startRawUpstream(t, (socket, head, bodyStart) => {
    socket.write('HTTP/1.1 10');
    socket.write('0 Continue\r\n');
    let body = bodyStart.toString('latin1');
    const answer = (): void => {
      socket.write(`HTTP/1.1 201 Created\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    };
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    socket.write('\r\n');
    if (body.length >= length) answer();
    else
      socket.on('data', (chunk: Buffer) => {
        body += chunk.toString('latin1');
        if (body.length >= length) answer();
      });
  });
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('POST', '/upload', 'Content-Length: 11\r\n') + 'hello world');
  const response = await client.readResponse();
  t.is(response.status, 201);
  t.is(response.body.toString(), 'hello world');
  await assertLogged(t, balancer, '/upload', 201);
});

test('Expect: 100-continue: balancebeam sends one 100 when it needs the body, the upstream\'s own 100 is consumed', async (t) => {
  const upstream = await startRawUpstream(t, (socket, _head, bodyStart) => {
    // A chunked body: the terminating chunk ends it.
    let body = bodyStart.toString('latin1');
    socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    const answer = (): void => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    };
    if (body.endsWith('0\r\n\r\n')) answer();
    else
      socket.on('data', (chunk: Buffer) => {
        body += chunk.toString('latin1');
        if (body.endsWith('0\r\n\r\n')) answer();
      });
  });
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('PUT', '/expect', 'Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n'));
  const interim = await client.readResponse({ interim: true });
  t.is(interim.status, 100);
  t.is(upstream.heads.length, 0, 'nothing was sent upstream before the client sent its body');
  client.write('5\r\nhello\r\n0\r\n\r\n');
  const response = await client.readResponse({ interim: true });
  t.is(response.status, 200, 'exactly one 100 reached the client');
  t.is(response.body.toString(), '5\r\nhello\r\n0\r\n\r\n');
  t.notRegex(upstream.heads[0] ?? '', /expect:/i, 'Expect is not forwarded');
  await assertLogged(t, balancer, '/expect', 200);
});

test('Expect: 100-continue on a request answered before its body is needed: no 100, and the connection closes', async (t) => {
  const upstream = await startRawUpstream(t, firstThenFollowUps(FOLLOW_UP));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS, '--max-body-size', '10']);
  const client = await openClient(t, balancer);
  client.write(request('POST', '/too-big', 'Expect: 100-continue\r\nContent-Length: 1000\r\n'));
  const response = await client.readResponse({ interim: true });
  t.is(response.status, 413);
  t.is(response.headers.connection, 'close');
  await client.readUntilClosed();
  t.is(upstream.heads.length, 0);
  await assertLogged(t, balancer, '/too-big', 413);
});

test('an expectation other than 100-continue: 417, logged, connection closed', async (t) => {
  const upstream = await startRawUpstream(t, firstThenFollowUps(FOLLOW_UP));
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('GET', '/odd', 'Expect: teapot\r\n'));
  const response = await client.readResponse();
  t.is(response.status, 417);
  t.is(response.headers.connection, 'close');
  await assertLogged(t, balancer, '/odd', 417);
  t.is(upstream.heads.length, 0);
});

test('103 Early Hints and 102 Processing are forwarded in order before the final response; a 100 among them is not', async (t) => {
  const upstream = await startRawUpstream(
    t,
    firstThenFollowUps(
      'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\nConnection: x-hop\r\nX-Hop: no\r\n\r\n' +
        'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 102 Processing\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nLink: </style.css>; rel=preload; as=style\r\nContent-Length: 4\r\n\r\ndone',
    ),
  );
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write(request('GET', '/hints'));
  const hints = await client.readResponse({ interim: true });
  t.is(hints.status, 103);
  t.is(hints.headers.link, '</style.css>; rel=preload; as=style');
  t.is(hints.headers['x-hop'], undefined, 'headers named in Connection are hop-by-hop on 1xx too');
  t.is((await client.readResponse({ interim: true })).status, 102);
  const final = await client.readResponse({ interim: true });
  t.is(final.status, 200);
  t.is(final.body.toString(), 'done');
  await assertConnectionClean(t, client);
  await assertLogged(t, balancer, '/hints', 200);
});

test('interim responses are not sent to an HTTP/1.0 client (RFC 9110 §15.2)', async (t) => {
  const upstream = await startRawUpstream(
    t,
    firstThenFollowUps('HTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
  );
  const balancer = await balancerFor(t, upstream);
  const client = await openClient(t, balancer);
  client.write('GET /old HTTP/1.0\r\nHost: test\r\n\r\n');
  const response = await client.readResponse({ interim: true });
  t.is(response.status, 200);
  t.is(response.body.toString(), 'ok');
  await assertLogged(t, balancer, '/old', 200);
});
