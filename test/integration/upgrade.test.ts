/**
 * Upgrade tunnels through the real CLI: a WebSocket-like echo upstream (a
 * node:http server whose 'upgrade' handler answers 101 and echoes raw
 * bytes), bytes pipelined after the upgrade head, an upstream that refuses
 * the upgrade with a 200, an upstream that is down, the tunnel idle timeout,
 * and shutdown closing tunnels at the drain deadline.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { RawConnection } from '../helpers/client.js';
import { startRawUpstream } from '../helpers/raw-upstream.js';
import { listenOnLoopback } from '../helpers/upstream.js';
import { withDeadline } from '../helpers/wait.js';

const NO_ACTIVE_CHECKS = ['--active-health-check-interval', '0'];

const UPGRADE = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

interface EchoUpstream {
  readonly id: string;
  /** Upgrade requests received: headers, and the bytes that came with the head. */
  readonly upgrades: { readonly req: IncomingMessage; readonly head: Buffer }[];
  readonly sockets: Set<Socket>;
}

async function startEchoUpstream(t: ExecutionContext): Promise<EchoUpstream> {
  const server = createServer();
  const upstream: EchoUpstream = { id: '', upgrades: [], sockets: new Set() };
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upstream.upgrades.push({ req, head });
    upstream.sockets.add(socket);
    socket.once('close', () => upstream.sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  const port = await listenOnLoopback(server);
  t.teardown(() => {
    for (const socket of upstream.sockets) socket.destroy();
    server.close();
  });
  return { ...upstream, id: `127.0.0.1:${port}` };
}

test('WebSocket-like upgrade: 101 relayed, pipelined bytes reach the upstream first, echo both ways, one log line at close', async (t) => {
  const upstream = await startEchoUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(UPGRADE('/chat') + 'early');
  const switched = await client.readResponse({ interim: true });
  t.is(switched.status, 101);
  t.is(switched.headers.upgrade, 'websocket');
  t.is(switched.headers.connection, 'upgrade');
  t.is(switched.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  t.is((await client.readBytes(5)).toString(), 'early', 'bytes sent with the upgrade head went to the upstream');
  client.write('ping');
  t.is((await client.readBytes(4)).toString(), 'ping');

  const seen = upstream.upgrades[0];
  t.is(seen?.req.url, '/chat');
  t.is(seen?.req.headers.upgrade, 'websocket');
  t.regex(String(seen?.req.headers.connection), /upgrade/i);
  t.is(seen?.req.headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
  t.is(seen?.req.headers['x-forwarded-for'], '127.0.0.1');

  client.destroy();
  const line = await balancer.process.waitForLog((entry) => entry.msg === 'tunnel', { timeoutMs: 10_000, what: 'the tunnel line' });
  t.is(line.url, '/chat');
  t.is(line.upstream, upstream.id);
  t.is(line.toUpstreamBytes, 9);
  t.is(line.toClientBytes, 9);
  t.is(typeof line.ms, 'number');
  await withDeadline(
    (async () => {
      while (upstream.sockets.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    10_000,
    'the upstream side of the tunnel to close',
  );
  t.deepEqual(balancer.process.crashReports(), []);
});

test('the upstream closing the tunnel closes the client side', async (t) => {
  const upstream = await startEchoUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(UPGRADE('/bye'));
  t.is((await client.readResponse({ interim: true })).status, 101);
  for (const socket of upstream.sockets) socket.end();
  await withDeadline(client.closed, 10_000, 'the client side to close');
  await balancer.process.waitForLog((entry) => entry.msg === 'tunnel', { timeoutMs: 10_000, what: 'the tunnel line' });
  t.pass();
});

test('an upstream answering 200 to an Upgrade request: relayed with connection: close, the pipelined request logged as not processed', async (t) => {
  const upstream = await startRawUpstream(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nno ws!'));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  const second = 'GET /second HTTP/1.1\r\nHost: test\r\n\r\n';
  client.write(UPGRADE('/first') + second);
  const response = await client.readResponse();
  t.is(response.status, 200);
  t.is(response.headers.connection, 'close');
  t.is(response.body.toString(), 'no ws!');
  await client.readUntilClosed();
  const warning = await balancer.process.waitForLog((entry) => entry.msg === 'pipelined bytes after an Upgrade request not processed', {
    timeoutMs: 10_000,
    what: 'the warning about the pipelined request',
  });
  t.is(warning.bytes, second.length);
  const line = await balancer.process.waitForLog((entry) => entry.msg === 'request' && entry.url === '/first', {
    timeoutMs: 10_000,
    what: 'the request line',
  });
  t.is(line.status, 200);
  t.is(upstream.heads.length, 1, '/second was never sent upstream');
  t.deepEqual(balancer.process.crashReports(), []);
});

test('upstream down: 502, the upstream is marked dead, and the client connection is closed', async (t) => {
  const gone = await startRawUpstream(t, () => {});
  const id = gone.id;
  await gone.close();
  const balancer = await startBalancer(t, ['--upstream', id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(UPGRADE('/ws'));
  const response = await client.readResponse();
  t.is(response.status, 502);
  t.is(response.headers.connection, 'close');
  await client.readUntilClosed();
  await balancer.process.waitForLog((entry) => entry.msg === 'upstream marked dead' && entry.upstream === id, {
    timeoutMs: 10_000,
    what: 'the passive health mark',
  });
  const line = await balancer.process.waitForLog((entry) => entry.msg === 'request' && entry.url === '/ws', { timeoutMs: 10_000 });
  t.is(line.status, 502);
});

test('a tunnel silent both ways for --client-body-timeout is closed', async (t) => {
  const upstream = await startEchoUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS, '--client-body-timeout', '0.5']);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(UPGRADE('/idle'));
  t.is((await client.readResponse({ interim: true })).status, 101);
  client.write('x');
  t.is((await client.readBytes(1)).toString(), 'x');
  await withDeadline(client.closed, 10_000, 'the idle tunnel to be closed');
  await balancer.process.waitForLog((entry) => entry.msg === 'tunnel', { timeoutMs: 10_000, what: 'the tunnel line' });
  t.pass();
});

test('shutdown: an open tunnel is closed at the drain deadline, and the exit is 0', async (t) => {
  const upstream = await startEchoUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS, '--drain-timeout', '0.5']);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write(UPGRADE('/long'));
  t.is((await client.readResponse({ interim: true })).status, 101);
  balancer.process.child.kill('SIGTERM');
  await withDeadline(client.closed, 10_000, 'the tunnel to be closed at the deadline');
  const exit = await withDeadline(balancer.process.exited, 10_000, 'the balancer to exit');
  t.deepEqual(exit, { code: 0, signal: null });
});

test('an Upgrade request pipelined behind a plain request: the plain response first, then the 101 and the tunnel', async (t) => {
  const upstream = await startEchoUpstream(t);
  const plain = await startRawUpstream(t, (socket) => {
    // Slow enough that the upgrade request is parsed while this response is still to be written.
    setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain'), 200);
  });
  // Round-robin: the plain request goes to `plain`, the upgrade to the echo upstream.
  const balancer = await startBalancer(t, ['--upstream', plain.id, '--upstream', upstream.id, ...NO_ACTIVE_CHECKS]);
  const client = await RawConnection.open(balancer.port);
  t.teardown(() => client.destroy());
  client.write('GET /before HTTP/1.1\r\nHost: test\r\n\r\n' + UPGRADE('/after'));
  const first = await client.readResponse();
  t.is(first.status, 200);
  t.is(first.body.toString(), 'plain');
  t.is((await client.readResponse({ interim: true })).status, 101);
  client.write('echo');
  t.is((await client.readBytes(4)).toString(), 'echo');
});

test('--workers 2: the tunnel works in a worker', async (t) => {
  const upstream = await startEchoUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...NO_ACTIVE_CHECKS, '--workers', '2']);
  for (const path of ['/w-a', '/w-b']) {
    const client = await RawConnection.open(balancer.port);
    t.teardown(() => client.destroy());
    client.write(UPGRADE(path) + 'hi');
    t.is((await client.readResponse({ interim: true })).status, 101);
    t.is((await client.readBytes(2)).toString(), 'hi');
    client.destroy();
  }
  const lines = await balancer.process.waitForLog(
    (entry) => entry.msg === 'tunnel' && balancer.process.logsWith((line) => line.msg === 'tunnel').length === 2,
    { timeoutMs: 10_000, what: 'two tunnel lines' },
  );
  t.regex(String(lines.node), /^w[12]$/);
});

for (const workers of ['1', '2']) {
  test(`--workers ${workers}: upgrade requests are rate limited like any request: over the limit, 429 with Retry-After and closed`, async (t) => {
    const upstream = await startEchoUpstream(t);
    const balancer = await startBalancer(t, [
      '--upstream',
      upstream.id,
      ...NO_ACTIVE_CHECKS,
      '--max-requests-per-window',
      '1',
      '--rate-limit-window-size',
      '60',
      '--workers',
      workers,
    ]);
    const first = await RawConnection.open(balancer.port);
    t.teardown(() => first.destroy());
    first.write(UPGRADE('/allowed'));
    t.is((await first.readResponse({ interim: true })).status, 101);

    const second = await RawConnection.open(balancer.port);
    t.teardown(() => second.destroy());
    second.write(UPGRADE('/denied'));
    const response = await second.readResponse();
    t.is(response.status, 429);
    t.truthy(response.headers['retry-after']);
    t.is(response.headers.connection, 'close');
    await second.readUntilClosed();
    t.is(upstream.upgrades.length, 1);
    const line = await balancer.process.waitForLog((entry) => entry.msg === 'request' && entry.url === '/denied', { timeoutMs: 10_000 });
    t.is(line.status, 429);
  });
}
