/**
 * A hand-written upstream on 127.0.0.1 port 0 that speaks raw TCP: it waits
 * for each request head and hands the socket to the test, which writes exactly
 * the bytes (or the silence, or the reset) a misbehaving server would.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';
import { listenOnLoopback } from './upstream.js';

/** What the upstream does once a request head (and whatever body bytes came with it) has arrived. */
export type RawBehaviour = (socket: Socket, head: string, bodyStart: Buffer) => void;

export class RawUpstream {
  /** Request heads received, in order. */
  readonly heads: string[] = [];
  readonly sockets = new Set<Socket>();
  port = 0;

  constructor(readonly server: Server) {}

  get id(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');

export async function startRawUpstream(t: ExecutionContext, behaviour: RawBehaviour): Promise<RawUpstream> {
  const server = createServer();
  const upstream = new RawUpstream(server);
  server.on('connection', (socket: Socket) => {
    upstream.sockets.add(socket);
    socket.once('close', () => upstream.sockets.delete(socket));
    socket.on('error', () => {
      // The balancer may cut the connection (a timeout, its own shutdown): expected here.
    });
    let pending = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf(HEAD_END);
      if (end === -1) return;
      socket.off('data', onData);
      const head = pending.subarray(0, end).toString('latin1');
      upstream.heads.push(head);
      behaviour(socket, head, pending.subarray(end + HEAD_END.length));
    };
    socket.on('data', onData);
  });
  upstream.port = await listenOnLoopback(server);
  t.teardown(() => upstream.close());
  return upstream;
}
