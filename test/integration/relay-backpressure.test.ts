/**
 * A relayed response body keeps backpressure end to end (src/proxy/upstream-call.ts): while the client
 * reads nothing, the upstream is held back and the proxy holds at most its socket buffer
 * (CLIENT_SOCKET_BUFFER_BYTES) plus one upstream chunk of the body in user space; once the client reads,
 * the 'drain' that resumes the upstream (added at the first refused write) brings the rest, whole.
 * Both sockets of a relay buffer a 64 KiB body and its head without stopping (the socket buffers).
 * In process, so the proxy's own response object can be looked at.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import test from 'ava';
import { UpstreamLoads } from '../../src/balancing/index.js';
import { log } from '../../src/log.js';
import { CLIENT_SOCKET_BUFFER_BYTES } from '../../src/node/listener.js';
import { UPSTREAM_SOCKET_BUFFER_BYTES } from '../../src/proxy/upstream-pools.js';
import { startInProcessProxy } from '../helpers/in-process-proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

log.configure('silent', 'p');

/** More than every kernel buffer on the way (loopback autotunes them to a few MiB each), so the upstream must block. */
const BODY_BYTES = 64 * 1024 * 1024;
const PIECE_BYTES = 64 * 1024;
/** undici reads an upstream socket up to 64 KiB at a time: the most one refused write can add. */
const UPSTREAM_READ_BYTES = 64 * 1024;

interface Sender {
  sent: number;
  /** Its last write was refused and no 'drain' has come since. */
  blocked: boolean;
}

test('a client that stops reading holds the upstream back, with no more than its socket buffer held in the proxy; reading again brings the whole body', async (t) => {
  const sender: Sender = { sent: 0, blocked: false };
  const piece = Buffer.alloc(PIECE_BYTES, 'b');
  const upstream = await startUpstream(t, {
    collectBody: false,
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY_BYTES });
      const pump = (): void => {
        sender.blocked = false;
        while (sender.sent < BODY_BYTES) {
          sender.sent += PIECE_BYTES;
          if (!res.write(piece)) {
            sender.blocked = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    },
  });
  const proxy = await startInProcessProxy(t, [upstream.port], { loads: new UpstreamLoads() });
  const responses: ServerResponse[] = [];
  proxy.server.on('request', (_req, res: ServerResponse) => responses.push(res));

  const client: Socket = connect(proxy.port, '127.0.0.1');
  t.teardown(() => client.destroy());
  client.pause();
  client.write('GET /big HTTP/1.1\r\nHost: test\r\n\r\n');

  // Backpressure: the proxy's writes to the client are refused, and the upstream blocks before it has sent
  // the body (the kernel buffers on both sides full). Both hold from then on, as the client reads nothing.
  const res = await waitFor(() => {
    const relayed = responses[0];
    return relayed !== undefined && relayed.writableNeedDrain && sender.blocked && sender.sent < BODY_BYTES ? relayed : null;
  }, { timeoutMs: 20_000, what: 'the upstream to be held back' });
  t.true(res.writableLength <= CLIENT_SOCKET_BUFFER_BYTES + UPSTREAM_READ_BYTES, `proxy holds ${res.writableLength} bytes for the client`);
  t.log(`upstream held back after ${Math.round(sender.sent / 2 ** 20)} of ${BODY_BYTES / 2 ** 20} MiB (the rest of it in kernel buffers)`);

  // Reading again: every byte arrives, headers and body.
  let received = 0;
  let headerEnd = -1;
  let head = '';
  const done = new Promise<void>((resolve, reject) => {
    client.on('data', (chunk: Buffer) => {
      if (headerEnd === -1) {
        head += chunk.toString('latin1');
        headerEnd = head.indexOf('\r\n\r\n');
        if (headerEnd === -1) return;
        received = Buffer.byteLength(head, 'latin1') - (headerEnd + 4);
      } else {
        received += chunk.length;
      }
      if (received >= BODY_BYTES) resolve();
    });
    client.once('error', reject);
    client.once('close', () => reject(new Error(`closed after ${received} body bytes`)));
  });
  client.resume();
  await withDeadline(done, 30_000, 'the whole body');
  t.regex(head, /^HTTP\/1\.1 200 /);
  t.is(received, BODY_BYTES);
  t.is(res.listenerCount('drain'), 0, "the relay's 'drain' listener is gone once the body has ended");
});

test('a response that fits the socket buffer is relayed without a refused write, and adds no drain listener', async (t) => {
  const body = Buffer.alloc(64 * 1024, 'a');
  const upstream = await startUpstream(t, {
    handler: (_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    },
  });
  const proxy = await startInProcessProxy(t, [upstream.port], { loads: new UpstreamLoads() });
  const drainListeners: number[] = [];
  proxy.server.on('request', (_req, res: ServerResponse) => {
    const write = res.write.bind(res) as (chunk: Buffer) => boolean;
    // Each body write is recorded with the 'drain' listeners the response had at that moment.
    res.write = ((chunk: Buffer) => {
      const accepted = write(chunk);
      drainListeners.push(accepted ? res.listenerCount('drain') : -1);
      return accepted;
    }) as ServerResponse['write'];
  });
  const response = await fetch(`http://127.0.0.1:${proxy.port}/64k`);
  const received = Buffer.from(await response.arrayBuffer());
  t.is(response.status, 200);
  t.true(received.equals(body));
  t.true(drainListeners.length > 0);
  t.deepEqual(
    drainListeners.filter((count) => count !== 0),
    [],
    'every write accepted (none refused: -1) and no drain listener added',
  );
});

test('both sockets of a relay take a 64 KiB body and its head without stopping: client and upstream socket buffers', async (t) => {
  const upstream = await startUpstream(t);
  const proxy = await startInProcessProxy(t, [upstream.port], { loads: new UpstreamLoads() });
  const upstreamBuffers: number[] = [];
  // The channel is process-wide (fetch's own undici and the other tests' pools publish too): this upstream's only.
  const connected = (message: unknown): void => {
    const { socket, connectParams } = message as { socket: Socket; connectParams: { port: string | number } };
    if (Number(connectParams.port) === upstream.port) upstreamBuffers.push(socket.readableHighWaterMark);
  };
  subscribe('undici:client:connected', connected);
  t.teardown(() => unsubscribe('undici:client:connected', connected));
  const clientBuffers: number[] = [];
  proxy.server.on('request', (req, res: ServerResponse) => clientBuffers.push(req.socket.readableHighWaterMark, res.writableHighWaterMark));
  const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
  await response.arrayBuffer();
  t.is(response.status, 200);
  t.true(CLIENT_SOCKET_BUFFER_BYTES > 64 * 1024 && UPSTREAM_SOCKET_BUFFER_BYTES > 64 * 1024);
  t.deepEqual(clientBuffers, [CLIENT_SOCKET_BUFFER_BYTES, CLIENT_SOCKET_BUFFER_BYTES]);
  t.deepEqual(upstreamBuffers, [UPSTREAM_SOCKET_BUFFER_BYTES]);
});
