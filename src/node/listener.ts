/**
 * Where client connections enter: Node's HTTP server (llhttp, strict mode)
 * parses requests; this module turns each socket into a connection actor and
 * each parsed request into an Exchange for it. It decides nothing about
 * proxying; it applies the client limits that belong to the socket and the
 * parser (connection count, header size and read timeout, the pipelining
 * depth) and tells the actor about everything else (the head checks are the
 * pipeline's first filter, src/pipeline/request-limits.ts).
 *
 * Pipelining: at most `maxPipelinedRequests` of a connection's requests are
 * between head and response end at once. At the limit the listener stops
 * reading the socket (read-gate.ts), so further requests wait unparsed in the
 * kernel and TCP backpressure stops the client. The heads llhttp had already
 * parsed from the same read (at most 64 KB of them) wait here, unforwarded,
 * and are handed to the actor one by one as earlier responses end.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { nanoid } from 'nanoid';
import type { UpstreamLoads } from '../balancing/index.js';
import {
  clientLeft,
  connectionMachine,
  hasRequestsInFlight,
  ledgerOf,
  type ConnectionActor,
  type ConnectionPorts,
  type ConnectionTimeouts,
  type ResponseLedger,
} from '../actors/connection.js';
import { startActor, type ActorErrorObserver } from '../actors/inspection.js';
import type { MailboxRouter } from '../actors/router.js';
import type { ClientLimits, RequestPolicy } from '../config/config.js';
import { log } from '../log.js';
import type { Pipeline } from '../pipeline/filter.js';
import type { Address } from '../protocol/index.js';
import { Exchange } from '../proxy/exchange.js';
import { forwardToUpstream } from '../proxy/forward.js';
import { relayResponse, respondWithLocal, respondWithStatus } from '../proxy/relay.js';
import { DeferredRequestBody, requestHasBody } from '../proxy/request-body.js';
import type { Tunnels } from '../proxy/tunnel.js';
import type { UpstreamPools } from '../proxy/upstream-pools.js';
import { peerIpOf, TrustedProxies } from './client-ip.js';
import { LazyHeaderRequest, takeRequest } from './lazy-header-request.js';
import { closeRequestGate, reopenRequestGate } from './read-gate.js';

/** What a reload may change in a listener: read at each new connection or request. */
export interface ListenerSettings {
  /** The request pipeline (src/pipeline/index.ts) of the current settings. */
  readonly pipeline: Pipeline;
  readonly limits: ClientLimits;
  readonly requestPolicy: RequestPolicy;
  readonly retries: number;
  /** `--trusted-proxy`: whose X-Forwarded-For names the client (client-ip.ts); none when absent. */
  readonly trustedProxies?: TrustedProxies;
}

export interface ListenerDeps extends ListenerSettings {
  readonly router: MailboxRouter;
  readonly pools: UpstreamPools;
  readonly loads: UpstreamLoads;
  readonly chooseUpstream: (exchange: Exchange) => string | undefined;
  /** Where Upgrade requests go (tunnel.ts); closed by the proxy node at the drain deadline. */
  readonly tunnels: Tunnels;
}

export interface ProxyServer {
  readonly server: Server;
  /**
   * New settings (a reload): new requests get the new pipeline, retries and header policy; new
   * connections the new limits and timeouts. Requests and connections under way keep theirs.
   */
  update(settings: ListenerSettings): void;
  /** Client connections open now (those refused over --max-connections not counted). */
  openConnections(): number;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The connection actors' timers, from the client limits. */
function connectionTimeouts(limits: ClientLimits): ConnectionTimeouts {
  return { keepAliveMs: limits.keepAliveTimeoutMs, bodyIdleMs: limits.bodyTimeoutMs, sendMs: limits.sendTimeoutMs };
}

interface ClientConnection {
  readonly actor: ConnectionActor;
  /** Where a closed response is recorded: no event to the actor on the success path (connection.ts). */
  readonly ledger: ResponseLedger;
  readonly address: Address;
  readonly clientIp: string;
  readonly socket: Socket;
  nextExchangeId: number;
  /** The newest exchange: the one whose body the parser is reading, if any. */
  latest: Exchange | null;
  /** Exchanges handed to the actor whose response has not closed: at most maxPipelinedRequests. */
  admitted: number;
  /** Parsed beyond the pipelining limit, oldest first: handed over as earlier responses close. */
  readonly waiting: Exchange[];
}

/**
 * What the listener keeps about a socket rides on the socket itself, under
 * symbols, rather than in a WeakMap keyed by socket. With a connection per
 * request, the sockets and actors a WeakMap had held outlived two
 * young-generation GCs and were promoted (most likely through the hash
 * tables it leaves behind as it is rebuilt under churn). --trace-gc-nvp:
 * 3.95 → 1.5 MB promoted per scavenge; the bench's new-connection row:
 * 366 → 225 µs of CPU per request (BENCHMARKS.md, optimisation log).
 */
const CONNECTION = Symbol('balancebeam.connection');
const REFUSED = Symbol('balancebeam.refused');

interface TrackedSocket extends Socket {
  [CONNECTION]?: ClientConnection;
  /** Over --max-connections: answered 503 on arrival, nothing else. */
  [REFUSED]?: true;
}

const EXCHANGE = Symbol('balancebeam.exchange');

/**
 * A response handed to the actor carries its exchange and connection, so that one 'close' listener
 * per listener serves every response: no closure (nor `once` wrapper) per request.
 */
interface TrackedResponse extends ServerResponse {
  [CONNECTION]?: ClientConnection;
  [EXCHANGE]?: Exchange;
}

const connectionOf = (socket: Socket): ClientConnection | undefined => (socket as TrackedSocket)[CONNECTION];

/**
 * The client socket as its connection actor sees it: its inactivity timer, its close, and where the
 * actor's failure goes. One object per connection, no closures.
 */
class ConnectionSocket implements ActorErrorObserver {
  constructor(private readonly socket: Socket) {}

  /**
   * The actor failed (a bug: an action threw). Logged, and the client disconnected: the actor has
   * stopped and answers nothing more. Its responses' closes release what they held (responseClosed).
   */
  error(error: unknown): void {
    log.error('connection actor failed', {
      client: clientIpOf(this.socket),
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    this.socket.destroy();
  }

  watchForSilence(ms: number): void {
    this.socket.setTimeout(ms);
  }

  close(): void {
    this.socket.destroy();
  }
}
const isRefused = (socket: Socket): boolean => (socket as TrackedSocket)[REFUSED] === true;

const NO_TRUSTED_PROXIES = new TrustedProxies([]);

/** How long a connection refused for being over --max-connections may linger after its 503. */
const REFUSED_LINGER_MS = 1_000;

function cannedResponse(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}

/** The TCP peer of a socket (client-ip.ts); a request's client may differ behind a trusted proxy (`clientIpOf` there). */
export const clientIpOf = peerIpOf;

/** What the client is told when the parser rejects its bytes (RFC 9112 framing errors and limits). */
function statusForParseError(code: string): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    // HPE_INVALID_VERSION stays 400: llhttp reports a bare LF after the version that way too. (Versions
    // llhttp accepts but balancebeam does not speak, like HTTP/2.0, get 505 from request-limits.)
    // HPE_INVALID_TRANSFER_ENCODING is a framing error too (Content-Length with Transfer-Encoding, or
    // chunked not the final coding): RFC 9112 §6.3 calls for 400, not 501.
    default:
      return 400;
  }
}

/**
 * The client socket's buffer before a write is refused (its writable highWaterMark; the readable one too, as
 * node:http sets both): one upstream read (undici reads up to 64 KiB) plus Node's default 16 KiB for the
 * head around it. node:http corks a response and writes it out at the next tick, so with Node's 16 KiB
 * every body chunk over 16 KiB is refused even when the kernel takes it at once: the upstream's parser
 * pauses and resumes on 'drain', a turn of the loop per chunk. With this, a response of up to 64 KiB goes
 * out in the turn it arrives in (BENCHMARKS.md, optimisation log: the 64 KiB response). Backpressure is
 * unchanged, from a higher mark: a client that stops reading holds at most this much in user space
 * beyond the kernel's socket buffer.
 */
export const CLIENT_SOCKET_BUFFER_BYTES = 80 * 1024;

export function createProxyServer(deps: ListenerDeps): ProxyServer {
  let { limits, requestPolicy } = deps;
  let trustedProxies = deps.trustedProxies ?? NO_TRUSTED_PROXIES;
  // Shared by every connection actor of this listener; a reload replaces its pipeline and retries in place.
  const ports: Writable<ConnectionPorts> = {
    router: deps.router,
    pipeline: deps.pipeline,
    retries: deps.retries,
    chooseUpstream: deps.chooseUpstream,
    forward: (exchange, upstreamId, settled) =>
      forwardToUpstream(exchange, upstreamId, deps.pools.get(upstreamId), deps.loads.of(upstreamId), requestPolicy, settled),
    relay: relayResponse,
    respond: respondWithStatus,
    serve: respondWithLocal,
    // Destroyed only once the responses before it have gone out: Node attaches a pipelined response to the
    // socket when its turn comes.
    drop: (exchange) => exchange.res.destroy(),
    now: () => performance.now(),
  };
  let timeouts = connectionTimeouts(limits);
  let maxPipelined = Math.max(1, limits.maxPipelinedRequests);

  const server = createServer({
    // node:http's own checks then build no header object for a request nothing looks up (lazy-header-request.ts).
    IncomingMessage: LazyHeaderRequest,
    highWaterMark: CLIENT_SOCKET_BUFFER_BYTES,
    // The header-read timeout is Node's: llhttp alone knows when a head starts and ends, and Node checks
    // every open head in one sweep per interval (not a timer per connection or per chunk); an expired
    // head is a clientError ERR_HTTP_REQUEST_TIMEOUT, answered 408 below.
    headersTimeout: limits.headerTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(limits.headerTimeoutMs / 4))),
    // No limit on a whole request: a long upload that keeps moving is fine (the body timeout catches one
    // that stops). Node's keep-alive timer is off: the connection actor owns that timeout.
    requestTimeout: 0,
    keepAliveTimeout: 0,
    maxHeaderSize: limits.maxHeaderSize,
    // Host is checked in request-limits, so that its rejection is logged like every other. (It must stay
    // off: node:http would read req.headers.host before the request is taken, see lazy-header-request.ts.)
    requireHostHeader: false,
  });
  // One above the limit: Node drops fields beyond maxHeadersCount silently, so seeing limit + 1 fields
  // is how checkRequestHead knows there were too many.
  server.maxHeadersCount = limits.maxHeaders + 1;

  let openConnections = 0;

  server.on('connection', (socket: Socket) => {
    if (openConnections >= limits.maxConnections) {
      refuseConnection(socket);
      return;
    }
    openConnections++;
    const address = deps.router.reserveConnection(nanoid(12));
    const client = new ConnectionSocket(socket);
    const actor = startActor(connectionMachine, { id: address, input: { address, ports, client, timeouts }, onError: client });
    deps.router.registerConnection(address, actor);
    (socket as TrackedSocket)[CONNECTION] = {
      actor,
      ledger: ledgerOf(actor),
      address,
      clientIp: clientIpOf(socket),
      socket,
      nextExchangeId: 1,
      latest: null,
      admitted: 0,
      waiting: [],
    };
    // 'close' comes once; `on` with one function for every socket allocates no closure nor `once` wrapper.
    socket.on('close', socketClosed);
  });

  function socketClosed(this: Socket): void {
    const connection = connectionOf(this);
    if (connection === undefined) return;
    openConnections--;
    if (connection.admitted > 0 || connection.waiting.length > 0) {
      // The actor cancels what is in flight; what waits for its turn was never forwarded and is dropped here.
      log.info('client left', { client: connection.clientIp, cancelled: connection.admitted, dropped: connection.waiting.length });
      connection.waiting.length = 0;
    }
    clientLeft(connection.actor);
    deps.router.unregister(connection.address);
  }

  // A socket's inactivity timer ran out (armed by its connection actor). Listening here also keeps
  // Node from destroying the socket itself: the actor decides what the silence means.
  server.on('timeout', (socket: Socket) => {
    connectionOf(socket)?.actor.send({ type: 'client.silent' });
  });

  /**
   * 503 at once rather than leaving the socket in the kernel's backlog (server.maxConnections would
   * close it with no answer): a client or its load balancer learns to go elsewhere. No actor is
   * started; the socket lives at most REFUSED_LINGER_MS more, so a flood costs bounded memory.
   */
  function refuseConnection(socket: Socket): void {
    (socket as TrackedSocket)[REFUSED] = true;
    log.warn('refused connection', { client: clientIpOf(socket), reason: `over --max-connections ${limits.maxConnections}` });
    socket.end(cannedResponse(503));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  }

  /**
   * `expect`: how Node classified an `Expect` header on an HTTP/1.1 request. balancebeam answers it
   * itself (undici cannot send `Expect` upstream): `100-continue` gets its 100 when the body is first
   * needed (request-body.ts); any other expectation is answered 417 (RFC 9110 §10.1.1) and logged, by
   * the pipeline's expectation filter (src/pipeline/expectation.ts).
   */
  function handleRequest(req: IncomingMessage, res: ServerResponse, expect: 'continue' | 'unsupported' | null): void {
    takeRequest(req);
    if (isRefused(req.socket)) return;
    const connection = connectionOf(req.socket);
    if (connection === undefined) {
      res.destroy();
      return;
    }
    // The body is not read until an upstream attempt starts sending it (request-body.ts), so a request
    // the pipeline answers by itself never touches it; its 100 Continue is written then too.
    const body = requestHasBody(req) ? new DeferredRequestBody(req, limits.maxBodySize, expect === 'continue' ? res : null) : null;
    // One answer for the log, the limiter, consistent-hash and the WAF; the peer still gets x-forwarded-for.
    const peer = connection.clientIp;
    const clientIp = trustedProxies.isEmpty ? peer : trustedProxies.clientIpOf(peer, req.rawHeaders);
    const exchange = new Exchange(connection.nextExchangeId++, req, res, clientIp, performance.now(), body, peer);
    connection.latest = exchange;
    if (connection.admitted < maxPipelined) admit(connection, exchange);
    else connection.waiting.push(exchange);
    updateRequestGate(connection);
  }

  /** Hand an exchange to the actor: from now until its response closes it counts against the pipelining limit. */
  function admit(connection: ClientConnection, exchange: Exchange): void {
    // Destroyed, its 'close' still to come: what waits is dropped then, and must not be forwarded now.
    if (connection.socket.destroyed) return;
    connection.admitted++;
    const res = exchange.res as TrackedResponse;
    res[CONNECTION] = connection;
    res[EXCHANGE] = exchange;
    // 'close' comes once per response; `on` rather than `once` allocates no wrapper.
    res.on('close', responseClosed);
    connection.actor.send({ type: 'request.received', exchange });
  }

  /** A response handed to the actor has closed (finished or abandoned): its turn in the pipeline is over. */
  function responseClosed(this: TrackedResponse): void {
    const connection = this[CONNECTION];
    const exchange = this[EXCHANGE];
    if (connection === undefined || exchange === undefined) return;
    // An attempt still waiting for its answer is given up, instead of holding a pooled
    // connection until the response timeout; a finished one ignores this.
    exchange.upstreamCall?.discard();
    connection.admitted--;
    // An idle keep-alive connection keeps no exchange (its req, res and upstream call): 4.7 KB of heap
    // per idle connection (heap snapshot at 500, BENCHMARKS.md "Memory"). One whose body is still
    // being read stays `latest`: the read gate and the parse-error handling need it.
    if (connection.latest === exchange && exchange.req.complete) connection.latest = null;
    connection.ledger.finished(exchange);
    const next = connection.waiting.shift();
    if (next !== undefined) admit(connection, next);
    updateRequestGate(connection);
  }

  /**
   * Read the socket while under the limit, or while the newest request is one handed over whose body is
   * still to come (it could not be read otherwise); else stop, so further requests wait unparsed.
   */
  function updateRequestGate(connection: ClientConnection): void {
    const latest = connection.latest;
    const bodyToRead = latest !== null && connection.waiting.length === 0 && latest.body !== null && !latest.req.complete;
    if (connection.admitted < maxPipelined || bodyToRead) reopenRequestGate(connection.socket);
    else closeRequestGate(connection.socket);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => handleRequest(req, res, null));
  // Listening replaces Node's own handling: an immediate 100, and a 417 nobody would log.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handleRequest(req, res, 'continue'));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => handleRequest(req, res, 'unsupported'));

  // An Upgrade request leaves the request path for a tunnel (tunnel.ts). Without this listener Node would
  // drop the connection's later bytes silently. One pipelined behind responses still being written waits
  // for them: the socket is written in order.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // With the upgrade Node took its own 'error' and 'timeout' listeners off the socket: a reset must not
    // become an uncaught exception, and until a tunnel owns the socket its silence is still the actor's
    // (the send timeout of the response ahead of it).
    socket.on('error', () => socket.destroy());
    if (isRefused(socket)) return;
    const connection = connectionOf(socket);
    const pending = connection?.latest?.res;
    if (connection !== undefined && pending !== undefined && !pending.writableFinished && !pending.destroyed) {
      const silent = (): void => connection.actor.send({ type: 'client.silent' });
      socket.on('timeout', silent);
      pending.once('close', () => {
        socket.off('timeout', silent);
        acceptTunnel(req, socket, head);
      });
    } else {
      acceptTunnel(req, socket, head);
    }
  });

  function acceptTunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const peer = clientIpOf(socket);
    deps.tunnels.accept(req, socket, head, trustedProxies.clientIpOf(peer, req.rawHeaders), peer);
  }

  // balancebeam does not tunnel CONNECT: it is answered here (Node would otherwise drop the socket silently).
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    // Node hands the socket over without its error listener: a reset must not be an uncaught exception.
    socket.on('error', () => socket.destroy());
    log.warn('rejected request', { client: clientIpOf(socket), status: 501, reason: 'CONNECT is not supported' });
    socket.end(cannedResponse(501));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
    req.resume();
  });

  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    const code = error.code ?? 'UNKNOWN';
    if (code === 'ECONNRESET' || !socket.writable || isRefused(socket)) {
      socket.destroy();
      return;
    }
    const status = statusForParseError(code);
    log.warn('rejected malformed request', { client: clientIpOf(socket), code, status });
    const connection = connectionOf(socket);
    const busy = connection !== undefined && hasRequestsInFlight(connection.actor.getSnapshot());
    if (!busy) {
      socket.end(cannedResponse(status));
      return;
    }
    const receiving = connection?.latest;
    const waiting = receiving !== null && receiving !== undefined && connection?.waiting.includes(receiving) === true;
    if (waiting && !receiving.req.complete) {
      // The error is in the body of a request still waiting for its turn: its body fails now, so when its
      // turn comes it is answered 400 without being forwarded.
      receiving.body?.failWith('malformed');
      return;
    }
    if (receiving !== null && receiving !== undefined && !receiving.req.complete && !receiving.res.writableEnded) {
      // The error is in the body of a request already handed over: the actor aborts its upstream request
      // and answers 400 (or cuts the connection if a response has begun); the answer closes the connection.
      connection?.actor.send({ type: 'request.malformed', exchange: receiving });
      return;
    }
    // The error is in a later pipelined head while a response is being written: a status line of our own
    // would corrupt that response.
    socket.destroy();
  });

  const update = (next: ListenerSettings): void => {
    ({ limits, requestPolicy } = next);
    trustedProxies = next.trustedProxies ?? NO_TRUSTED_PROXIES;
    ports.pipeline = next.pipeline;
    ports.retries = next.retries;
    timeouts = connectionTimeouts(limits);
    maxPipelined = Math.max(1, limits.maxPipelinedRequests);
    // Node reads these per connection or per head; its header-timeout sweep keeps the interval it started with.
    server.headersTimeout = limits.headerTimeoutMs;
    // Not in @types/node, but Node keeps the option here and reads it for each new connection's parser.
    (server as Server & { maxHeaderSize: number }).maxHeaderSize = limits.maxHeaderSize;
    server.maxHeadersCount = limits.maxHeaders + 1;
  };
  return { server, update, openConnections: () => openConnections };
}
