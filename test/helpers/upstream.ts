/**
 * A real node:http upstream on 127.0.0.1 port 0 that records what reaches it:
 * each request (method, url, headers, body, which of its sockets carried it)
 * and each connection. Closed with the test, or earlier with `kill()`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { ExecutionContext } from 'ava';

export interface SeenRequest {
  readonly method: string;
  /** Path and query as the request line gave them. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  /** The whole body, or empty when the upstream was started with `collectBody: false`. */
  readonly body: Buffer;
  /** Which of this upstream's connections carried it (1, 2, ... in accept order). */
  readonly socketId: number;
  /** Sent by balancebeam's active health checker rather than proxied for a client. */
  readonly healthCheck: boolean;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void;

export interface UpstreamOptions {
  /** A name for the default handler's answers (`x-upstream` header and body). */
  readonly name?: string;
  /** Read the whole body before calling the handler (default true); false leaves the body to the handler. */
  readonly collectBody?: boolean;
  readonly handler?: UpstreamHandler;
  /** The loopback address to listen on (default `127.0.0.1`). */
  readonly host?: LoopbackHost;
}

export type LoopbackHost = '127.0.0.1' | '::1';

/** Answers `200 upstream <name>` with an `x-upstream: <name>` header. */
export function defaultHandler(name: string): UpstreamHandler {
  return (_req, res) => {
    const body = `upstream ${name}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-upstream': name });
    res.end(body);
  };
}

/** Answers `200 fresh` that any cache may keep for ten minutes (`cache-control: max-age=600`). */
export function cacheableHandler(): UpstreamHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5, 'cache-control': 'max-age=600' });
    res.end('fresh');
  };
}

/**
 * For tests of requests in flight: `/slow` is answered after `slowMs`, `/never` not at all, anything
 * else at once (bodies `slow` / `fast`).
 */
export function slowHandler(slowMs: number): UpstreamHandler {
  return (req, res) => {
    if (req.url === '/never') return;
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4 });
      res.end(req.url === '/slow' ? 'slow' : 'fast');
    };
    if (req.url === '/slow') setTimeout(answer, slowMs);
    else answer();
  };
}

export class TestUpstream {
  readonly requests: SeenRequest[] = [];
  connections = 0;
  /** The port it listened on (kept after `kill()`). */
  port = 0;
  private closed: Promise<void> | null = null;

  constructor(
    readonly name: string,
    readonly server: Server,
    readonly host: LoopbackHost = '127.0.0.1',
  ) {}

  /** `127.0.0.1:PORT` (or `[::1]:PORT`): the form `--upstream` takes and balancebeam's logs use. */
  get id(): string {
    return this.host === '::1' ? `[::1]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Requests proxied for clients (health checks left out). */
  proxied(): SeenRequest[] {
    return this.requests.filter((request) => !request.healthCheck);
  }

  /** Stop listening and cut every connection, as a crashed upstream would. Idempotent. */
  async kill(): Promise<void> {
    if (this.closed === null) {
      this.closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
    }
    await this.closed;
  }
}

export async function startUpstream(t: ExecutionContext, options: UpstreamOptions = {}): Promise<TestUpstream> {
  const name = options.name ?? 'upstream';
  const handler = options.handler ?? defaultHandler(name);
  const collectBody = options.collectBody ?? true;
  const socketIds = new WeakMap<Socket, number>();
  const server = createServer();
  const upstream = new TestUpstream(name, server, options.host);

  server.on('connection', (socket: Socket) => {
    upstream.connections++;
    socketIds.set(socket, upstream.connections);
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const record = (body: Buffer): SeenRequest => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        socketId: socketIds.get(req.socket) ?? 0,
        healthCheck: req.headers['user-agent'] === 'balancebeam-health-check',
      };
      upstream.requests.push(seen);
      return seen;
    };
    if (!collectBody) {
      handler(req, res, record(Buffer.alloc(0)));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => handler(req, res, record(Buffer.concat(chunks))));
  });

  upstream.port = await listenOnLoopback(server, options.host);
  t.teardown(() => upstream.kill());
  return upstream;
}

/** Listens on 127.0.0.1 (or ::1) with a port the kernel picks, and resolves with that port (rejects if listening fails). */
export function listenOnLoopback(server: NetServer, host: LoopbackHost = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
