/**
 * Where client connections enter: Node's HTTP server (llhttp, strict mode)
 * parses requests; this module turns each socket into a connection actor and
 * each parsed request into an Exchange for it. It decides nothing itself.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { nanoid } from 'nanoid';
import type { Actor } from 'xstate';
import { connectionMachine, type ConnectionPorts } from '../actors/connection.js';
import { startActor } from '../actors/inspection.js';
import type { MailboxRouter } from '../actors/router.js';
import { log } from '../log.js';
import type { Address } from '../protocol/index.js';
import { Exchange } from '../proxy/exchange.js';
import { forwardToUpstream } from '../proxy/forward.js';
import { relayResponse, respondWithStatus } from '../proxy/relay.js';
import { DeferredRequestBody, requestHasBody } from '../proxy/request-body.js';
import type { UpstreamPools } from '../proxy/upstream-pools.js';

export interface ListenerDeps {
  readonly router: MailboxRouter;
  readonly pools: UpstreamPools;
  readonly rateLimited: boolean;
  readonly retries: number;
  chooseUpstream(exclude: readonly string[]): string | undefined;
}

interface ClientConnection {
  readonly actor: Actor<typeof connectionMachine>;
  readonly address: Address;
  readonly clientIp: string;
  nextExchangeId: number;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is reported as `10.0.0.1`. */
export function clientIpOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function logCompleted(exchange: Exchange): void {
  if (!log.enabled('info')) return;
  log.info('request', {
    client: exchange.clientIp,
    method: exchange.req.method,
    url: exchange.req.url,
    upstream: exchange.upstreamId,
    status: exchange.res.writableFinished ? exchange.status : 0,
    ms: Math.round((performance.now() - exchange.startedAt) * 100) / 100,
    outcome: exchange.outcome ?? undefined,
    // Upstreams tried, when a fail-over or a resend took more than one.
    attempts: exchange.tried.length > 1 ? exchange.tried.length : undefined,
  });
}

/** What the client is told when the parser rejects its bytes (RFC 9112 framing errors and limits). */
function statusForParseError(code: string): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    // HPE_INVALID_TRANSFER_ENCODING is a framing error too (Content-Length with Transfer-Encoding, or
    // chunked not the final coding): RFC 9112 §6.3 calls for 400, not 501.
    default:
      return 400;
  }
}

export function createProxyServer(deps: ListenerDeps): Server {
  const connections = new WeakMap<Socket, ClientConnection>();
  const ports: ConnectionPorts = {
    router: deps.router,
    rateLimited: deps.rateLimited,
    retries: deps.retries,
    chooseUpstream: (exclude) => deps.chooseUpstream(exclude),
    forward: (exchange, upstreamId) => forwardToUpstream(exchange, upstreamId, deps.pools.get(upstreamId)),
    relay: relayResponse,
    respond: respondWithStatus,
    completed: logCompleted,
  };

  const server = createServer({ requireHostHeader: true });

  server.on('connection', (socket: Socket) => {
    const address: Address = `${deps.router.node}/conn/${nanoid(12)}`;
    const actor = startActor(connectionMachine, { input: { address, ports } });
    deps.router.register(address.slice(address.indexOf('/') + 1), actor);
    connections.set(socket, { actor, address, clientIp: clientIpOf(socket), nextExchangeId: 1 });
    socket.once('close', () => {
      actor.send({ type: 'client.disconnected' });
      deps.router.unregister(address);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const connection = connections.get(req.socket);
    if (connection === undefined) {
      res.destroy();
      return;
    }
    const body = requestHasBody(req) ? new DeferredRequestBody(req) : null;
    const exchange = new Exchange(connection.nextExchangeId++, req, res, connection.clientIp, performance.now(), body);
    res.once('close', () => {
      exchange.clientGone.abort();
      connection.actor.send({ type: 'response.finished', exchange });
    });
    res.once('finish', () => {
      // Draining (the server has stopped listening): a keep-alive connection whose last response has just gone
      // out is closed now, not left idle until the drain deadline.
      if (!server.listening) setImmediate(() => server.closeIdleConnections());
    });
    connection.actor.send({ type: 'request.received', exchange });
  });

  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    const code = error.code ?? 'UNKNOWN';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = statusForParseError(code);
    log.warn('rejected malformed request', { client: clientIpOf(socket), code, status });
    const busy = connections.get(socket)?.actor.getSnapshot().matches('busy') === true;
    if (busy) {
      // A response is being written on this connection: a second status line would corrupt it.
      socket.destroy();
      return;
    }
    const reason = STATUS_CODES[status] ?? '';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  return server;
}
