/**
 * One client must never wedge a worker (issue 9, items 1–3), with real
 * sockets: a connection that pipelines and never reads reaches the upstream
 * with at most --max-pipelined-requests requests at a time and, once it
 * leaves, holds nothing (descriptors, memory, pooled upstream connections); a
 * client that takes no byte of its response is disconnected after the send
 * timeout while others are served; requests of clients that have gone are not
 * forwarded. Plus: pipelining within the limit still answers every request, in
 * order.
 */
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import test, { type ExecutionContext } from 'ava';
import { Pool } from 'undici';
import { DEFAULT_CLIENT_LIMITS } from '../../src/config/config.js';
import { procStatusKb, startBalancer } from '../helpers/balancer.js';
import { listenOnLoopback } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const MAX_PIPELINED = DEFAULT_CLIENT_LIMITS.maxPipelinedRequests;

/** An upstream that counts what reaches it: `/attack…` paths apart from the rest. */
interface CountingUpstream {
  readonly id: string;
  attack: number;
  other: number;
  /** Responses whose connection closed before they were finished. */
  cut: number;
}

async function startCountingUpstream(t: ExecutionContext, bodyFor: (path: string) => Buffer | number): Promise<CountingUpstream> {
  const counts = { attack: 0, other: 0, cut: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    if (path.startsWith('/attack')) counts.attack++;
    else counts.other++;
    res.once('close', () => {
      if (!res.writableFinished) counts.cut++;
    });
    const body = bodyFor(path);
    if (typeof body === 'number') {
      streamBytes(res, body);
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  const port = await listenOnLoopback(server);
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return Object.assign(counts, { id: `127.0.0.1:${port}` });
}

const CHUNK = Buffer.alloc(64 * 1024, 'z');

/** `total` bytes with backpressure, so a client that reads nothing holds the upstream's write (not its memory). */
function streamBytes(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-length': total });
  let sent = 0;
  const more = (): void => {
    while (sent < total) {
      const piece = CHUNK.subarray(0, Math.min(CHUNK.length, total - sent));
      sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  res.on('error', () => undefined);
  more();
}

/** A raw connection that sends `count` pipelined GETs for `path` in one write and reads nothing. */
async function pipelineAndNeverRead(port: number, path: string, count: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.pause();
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: attacker\r\n\r\n`.repeat(count));
  return socket;
}

/** `count` GETs over 8 keep-alive connections, each allowed `timeoutMs`: how many got a 200. */
async function normalRequests(origin: string, count: number, timeoutMs: number): Promise<number> {
  const pool = new Pool(origin, { connections: 8, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  let ok = 0;
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next++ < count) {
      try {
        const { statusCode, body } = await pool.request({ method: 'GET', path: '/normal' });
        await body.dump();
        if (statusCode === 200) ok++;
      } catch {
        // timed out: not counted
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, loop));
  await pool.destroy();
  return ok;
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

test('pipelining attack: at most the pipelining limit reaches the upstream, and once the client leaves, descriptors, memory and service are back', async (t) => {
  // 1 MB responses: the kernel's socket buffers take only a few before the client's not reading stops them.
  const upstream = await startCountingUpstream(t, (path) => (path.startsWith('/attack') ? 1024 * 1024 : Buffer.from('ok')));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const pid = balancer.process.pid;
  t.is(await normalRequests(balancer.origin, 50, 5_000), 50, 'served before');
  const fdsBefore = openFds(pid);
  const rssBeforeKb = procStatusKb(pid, 'VmRSS');

  const attacker = await pipelineAndNeverRead(balancer.port, '/attack/big', 300);
  await waitFor(() => upstream.attack >= MAX_PIPELINED, { timeoutMs: 5_000, what: 'the first pipelined requests at the upstream' });
  // What fits in the kernel's buffers completes, as if read; beyond that the limit holds.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const reachedWhileConnected = upstream.attack;
  t.true(reachedWhileConnected <= MAX_PIPELINED + 8, `${reachedWhileConnected} of 300 pipelined requests reached the upstream`);
  attacker.destroy();

  await waitFor(() => openFds(pid) <= fdsBefore + 2, { timeoutMs: 5_000, what: `descriptors back to ${fdsBefore} (+2)` });
  t.is(await normalRequests(balancer.origin, 200, 5_000), 200, 'every request of a normal client is served after');
  await waitFor(() => procStatusKb(pid, 'VmRSS') <= rssBeforeKb + 40 * 1024, { timeoutMs: 5_000, what: 'RSS back near its baseline' });
  t.is(upstream.attack, reachedWhileConnected, 'nothing more of the attacker’s was forwarded after it left');
  t.deepEqual(balancer.process.crashReports(), []);
});

test('pipelining within the limit and beyond it: every request is answered, in order', async (t) => {
  const upstream = await startCountingUpstream(t, (path) => Buffer.from(`answer ${path}`));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const count = 100;
  const socket = connect(balancer.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let request = '';
  for (let i = 0; i < count; i++) request += `GET /p/${i} HTTP/1.1\r\nHost: client\r\n\r\n`;
  socket.write(request);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => (received += text));
  const answers = await waitFor(
    () => {
      const found = [...received.matchAll(/answer (\/p\/\d+)/g)].map((match) => match[1]);
      return found.length === count ? found : undefined;
    },
    { timeoutMs: 10_000, what: `${count} pipelined answers` },
  );
  socket.destroy();
  t.deepEqual(
    answers,
    Array.from({ length: count }, (_, i) => `/p/${i}`),
  );
});

test('pipelined POSTs beyond the limit: each body reaches the upstream whole, and every request is answered in order', async (t) => {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.once('end', () => {
      const body = `got ${req.url} ${bytes}`;
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const upstreamPort = await listenOnLoopback(server);
  t.teardown(() => {
    server.close();
    server.closeAllConnections();
  });
  const balancer = await startBalancer(t, ['--upstream', `127.0.0.1:${upstreamPort}`, '--active-health-check-interval', '0']);
  const count = MAX_PIPELINED * 3;
  const socket = connect(balancer.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let requests = '';
  for (let i = 0; i < count; i++) {
    const body = 'b'.repeat(20_000 + i);
    requests += `POST /u/${i} HTTP/1.1\r\nHost: client\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  }
  socket.write(requests);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => (received += text));
  const answers = await waitFor(
    () => {
      const found = [...received.matchAll(/got (\/u\/\d+ \d+)/g)].map((match) => match[1]);
      return found.length === count ? found : undefined;
    },
    { timeoutMs: 10_000, what: `${count} answers to pipelined POSTs` },
  );
  socket.destroy();
  t.deepEqual(
    answers,
    Array.from({ length: count }, (_, i) => `/u/${i} ${20_000 + i}`),
  );
});

test('requests of clients that have gone are not forwarded: 4 pipelining connections close, and the upstream hears no more of them', async (t) => {
  const upstream = await startCountingUpstream(t, () => Buffer.from('ok'));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const attackers = await Promise.all(Array.from({ length: 4 }, () => pipelineAndNeverRead(balancer.port, '/attack/tiny', 2_000)));
  await waitFor(() => upstream.attack >= MAX_PIPELINED, { timeoutMs: 5_000, what: 'the attackers’ first requests at the upstream' });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const mark = balancer.process.mark();
  for (const attacker of attackers) attacker.destroy();
  // Once the balancer has seen them leave, the requests it had already sent may still arrive; then nothing.
  await waitFor(() => balancer.process.logsWith((line) => line.msg === 'client left', mark).length === attackers.length, {
    timeoutMs: 10_000,
    what: 'the balancer to see the 4 attackers leave',
  });
  let settledAt = performance.now();
  let last = upstream.attack;
  await waitFor(
    () => {
      if (upstream.attack !== last) {
        last = upstream.attack;
        settledAt = performance.now();
        return false;
      }
      return performance.now() - settledAt > 500;
    },
    { timeoutMs: 5_000, what: 'the last requests sent before they left to arrive' },
  );
  const atClose = upstream.attack;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.is(upstream.attack, atClose, 'no attacker request forwarded after they closed');
  t.true(atClose < 4 * 2_000, `${atClose} of 8,000 were forwarded at all`);
  t.is(await normalRequests(balancer.origin, 50, 5_000), 50);
});

test('send timeout: clients that GET 100 MB and never read are disconnected after it, and others are served meanwhile', async (t) => {
  const upstream = await startCountingUpstream(t, (path) => (path.startsWith('/attack') ? 100 * 1024 * 1024 : Buffer.from('ok')));
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id,
    '--active-health-check-interval', '0',
    '--client-send-timeout', '1',
  ]); // prettier-ignore
  const { port, origin } = balancer;

  const stuck = await Promise.all(Array.from({ length: 6 }, () => pipelineAndNeverRead(port, '/attack/huge', 1)));
  await waitFor(() => upstream.attack === stuck.length, { timeoutMs: 5_000, what: 'every huge GET at the upstream' });
  t.is(await normalRequests(origin, 50, 5_000), 50, 'others are served while they hang');
  // Disconnected: the balancer gives up their upstream requests (a paused client socket sees its FIN only once it reads).
  await waitFor(() => upstream.cut === stuck.length, { timeoutMs: 10_000, what: 'every huge response given up' });
  const received = await Promise.all(
    stuck.map(
      (socket) =>
        new Promise<number>((resolve) => {
          let bytes = 0;
          socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
          socket.once('close', () => resolve(bytes));
          socket.resume();
        }),
    ),
  );
  for (const bytes of received) t.true(bytes < 100 * 1024 * 1024, `the connection was closed after ${bytes} bytes`);
  t.is(await normalRequests(origin, 50, 5_000), 50, 'and after');
});
