/**
 * Upgrade tunnels: a WebSocket handshake, or any request with `Connection:
 * upgrade` and `Upgrade:`, sent to an upstream; if it answers `101`, the two
 * sockets are spliced and bytes flow both ways untouched until either side
 * closes. Node's server hands such a request over as an 'upgrade' event with
 * the raw socket (its parser is done with it), so a tunnel leaves the
 * actor-driven request path: from the 'upgrade' event on, the sockets are
 * owned here, and the connection actor only hears the socket close.
 *
 * Why node:http's client for the upstream side, not undici's `upgrade()` nor
 * a bare net.Socket: undici's upgrade handler throws ('bad upgrade') on any
 * answer but 101, so a refusal (a 200, a 401, a 426) could not be relayed;
 * a bare socket would need a response parser of our own for that case. The
 * node:http client parses the upstream's answer with llhttp in strict mode,
 * gives a non-101 answer as an ordinary response with its body framed, and
 * hands over the socket on 101 (with the bytes that came after its head).
 *
 * Bytes the client sent after the upgrade request's head (Node's `head`)
 * belong to the tunnel: written to the upstream first, after its 101. If
 * the upstream refuses, they are requests the client pipelined and nobody
 * will process: the refusal goes out with `connection: close` (RFC 9112
 * §9.3.2 tells the client to send them again) and a warn line says so.
 */
import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { MailboxRouter } from '../actors/router.js';
import { reportToUpstream } from '../health/passive.js';
import { log } from '../log.js';
import { PENDING, type Pipeline, type RequestView } from '../pipeline/filter.js';
import type { Address, Answer, AnswerOutcome, Outcome, RequestVerdict, UpstreamTarget } from '../protocol/index.js';
import { classifyUpstreamError } from './failure.js';
import { stripHopByHop, upstreamRequestHeaders, type RequestHeaderPolicy } from './headers.js';
import { outcomeOfFailure, statusFor } from './outcome.js';
import { requestHasBody } from './request-body.js';

/** What tunnels are set up with; read at each upgrade request, so a reload reaches the next one. */
export interface TunnelSettings {
  readonly router: MailboxRouter;
  /** The request pipeline of the current settings: an upgrade request passes the same request filters. */
  readonly pipeline: Pipeline;
  readonly requestPolicy: RequestHeaderPolicy;
  readonly connectTimeoutMs: number;
  /** The upstream's answer to the upgrade request must come within this (→ 504). */
  readonly responseTimeoutMs: number;
  /**
   * A spliced tunnel with no byte either way for this long is closed. The listener passes
   * `--client-body-timeout`: a tunnel is a body in both directions, and that flag already says how
   * long a body may stand still (60 s by default, nginx's proxy_read_timeout for WebSockets).
   */
  readonly idleMs: number;
  /** Where an upstream id is (the current configuration's). */
  targetOf(upstreamId: string): UpstreamTarget | undefined;
  /** The same choice requests get (the balancer's), excluding upstreams already tried. */
  chooseUpstream(request: TunnelRequest): string | undefined;
}

/** An upgrade request as the pipeline's filters and the balancer see it. */
export interface TunnelRequest extends RequestView {
  readonly tried: readonly string[];
}

/** How long a client socket may linger after balancebeam's own answer before it is destroyed. */
const ANSWERED_LINGER_MS = 1_000;

function connectTimeoutError(): Error {
  return Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
}

function responseTimeoutError(): Error {
  return Object.assign(new Error('no answer to the upgrade request'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
}

/** Raw header lines for a head written by hand; hop-by-hop headers left out. */
function headerLines(rawHeaders: readonly string[]): string {
  const filtered = [...rawHeaders];
  stripHopByHop(filtered);
  let lines = '';
  for (let i = 0; i < filtered.length; i += 2) lines += `${filtered[i]}: ${filtered[i + 1]}\r\n`;
  return lines;
}

/** Every tunnel of one listener, from its upgrade request to the close of both sockets. */
export class Tunnels {
  private readonly live = new Set<Tunnel>();
  /** This node's mailbox for the verdicts of request filters that said PENDING about an upgrade request. */
  readonly address: Address;
  private readonly awaitingVerdict = new Map<number, Tunnel>();
  private nextRequestId = 1;

  constructor(public settings: TunnelSettings) {
    this.address = settings.router.register<RequestVerdict>('tunnels', {
      // A filter deciding in this process (the rate limiter with --workers 1) answers inside its own
      // check(), before the tunnel has said it waits: deliver after the current step, as an actor's
      // mailbox would.
      send: (verdict) => queueMicrotask(() => this.deliver(verdict)),
    });
  }

  private deliver(verdict: RequestVerdict): void {
    const tunnel = this.awaitingVerdict.get(verdict.requestId);
    this.awaitingVerdict.delete(verdict.requestId);
    tunnel?.resume(verdict.answer);
  }

  /** An id for an upgrade request, unique on this node's tunnels mailbox. */
  requestId(): number {
    return this.nextRequestId++;
  }

  awaitVerdict(requestId: number, tunnel: Tunnel): void {
    this.awaitingVerdict.set(requestId, tunnel);
  }

  forgetVerdict(requestId: number): void {
    this.awaitingVerdict.delete(requestId);
  }

  /** Node's 'upgrade' event: `head` holds the bytes the client sent after the request head. */
  /** `clientIp` as src/node/client-ip.ts resolves it; `peerIp` (the TCP peer, appended to x-forwarded-for) when it differs. */
  accept(req: IncomingMessage, socket: Socket, head: Buffer, clientIp: string, peerIp: string = clientIp): void {
    if (socket.destroyed) return; // gone while earlier responses were still being written
    const tunnel = new Tunnel(this, req, socket, head, clientIp, peerIp);
    this.live.add(tunnel);
    socket.once('close', () => this.live.delete(tunnel));
    try {
      tunnel.start();
    } catch (error) {
      // Nothing a client sends may take the process down: whatever went wrong costs this connection only.
      log.error('tunnel failed', { reason: error instanceof Error ? error.message : String(error) });
      tunnel.destroy();
    }
  }

  /** Tunnels open now (spliced, or waiting for the upstream's answer). */
  get size(): number {
    return this.live.size;
  }

  /** Shutdown's deadline: every tunnel is closed, both sides. */
  closeAll(): void {
    for (const tunnel of this.live) tunnel.destroy();
  }
}

class Tunnel implements TunnelRequest {
  readonly id: number;
  readonly tried: string[] = [];
  /** An Upgrade request with a body is refused before the filters run: they never see one. */
  readonly body = null;
  private readonly startedAt = performance.now();
  /** The pipeline it started under, and the index of its next request filter. */
  private readonly pipeline: Pipeline;
  private nextFilter = 0;
  /** RequestView's amendments: no filter makes them for an upgrade (the cache passes those by). */
  upstreamHeaders: string[] | null = null;
  fallback: null = null;
  filterNote: object | null = null;
  private upstreamId: string | null = null;
  private upstreamRequest: ClientRequest | null = null;
  private upstreamSocket: Socket | null = null;
  /** Both sockets are spliced (after a 101). */
  private spliced = false;
  /** The client has its answer (or is gone): the upstream request's further events are ignored. */
  private answered = false;
  private toUpstreamFrom = 0;
  private toClientFrom = 0;
  /** A request filter said PENDING: its verdict is awaited on the tunnels mailbox. */
  private awaitingVerdict = false;

  constructor(
    private readonly tunnels: Tunnels,
    readonly req: IncomingMessage,
    private readonly client: Socket,
    private readonly head: Buffer,
    /** As the listener reports it (client-ip.ts), so logs and rate limits see one address form. */
    readonly clientIp: string,
    /** The TCP peer: what x-forwarded-for gets appended. */
    readonly peerIp: string,
  ) {
    this.id = tunnels.requestId();
    this.pipeline = tunnels.settings.pipeline;
    client.on('error', this.destroy);
    client.once('close', this.onClientClose);
  }

  start(): void {
    if (requestHasBody(this.req)) {
      const reason = 'an Upgrade request with a body is not supported';
      log.warn('rejected request', { client: this.clientIp, status: 400, reason });
      this.answerAndClose('bad-request', reason);
      return;
    }
    this.runRequestFilters();
  }

  /** The request filters every request passes (head checks, rate limit, ...), as the connection actor runs them. */
  private runRequestFilters(): void {
    const filters = this.pipeline.requestFilters;
    while (this.nextFilter < filters.length) {
      const verdict = (filters[this.nextFilter++] as Pipeline['requestFilters'][number]).check(this, this.tunnels.address);
      if (verdict === null) continue;
      if (verdict === PENDING) {
        this.awaitingVerdict = true;
        this.tunnels.awaitVerdict(this.id, this);
        return;
      }
      // A stored response is never an answer to an upgrade: the cache lets those pass.
      if (!('outcome' in verdict)) continue;
      this.answerWith(verdict);
      return;
    }
    this.tryNextUpstream();
  }

  /** A PENDING filter decided. */
  resume(answer: Answer | null): void {
    if (!this.awaitingVerdict || this.answered) return;
    this.awaitingVerdict = false;
    if (answer === null) this.runRequestFilters();
    else this.answerWith(answer);
  }

  private answerWith(answer: Answer): void {
    let extra = '';
    for (const [name, value] of Object.entries(answer.headers ?? {})) extra += `${name}: ${value}\r\n`;
    this.answerAndClose(answer.outcome, answer.reason ?? answer.outcome, extra, answer.body);
  }

  readonly destroy = (): void => {
    this.client.destroy();
    this.upstreamSocket?.destroy();
    this.upstreamRequest?.destroy();
  };

  // The upstream side ----------------------------------------------------------

  private tryNextUpstream(): void {
    const { settings } = this.tunnels;
    const upstreamId = settings.chooseUpstream(this);
    const target = upstreamId === undefined ? undefined : settings.targetOf(upstreamId);
    if (upstreamId === undefined || target === undefined) {
      this.answerAndClose('no-live-upstream', 'no live upstream');
      return;
    }
    this.tried.push(upstreamId);
    this.upstreamId = upstreamId;
    const headers = upstreamRequestHeaders(this.req.rawHeaders, this.peerIp, settings.requestPolicy);
    // Hop-by-hop everywhere else, these two are what the tunnel is for.
    headers.push('Connection', 'upgrade', 'Upgrade', this.req.headers.upgrade ?? '');
    let request: ClientRequest;
    try {
      request = httpRequest({ host: target.host, port: target.port, method: this.req.method, path: this.req.url, headers, agent: false });
    } catch (error) {
      // node:http's client validates what llhttp let through; a head it will not send is the client's fault.
      const reason = error instanceof Error ? error.message : String(error);
      log.warn('rejected request', { client: this.clientIp, status: 400, reason });
      this.answerAndClose('bad-request', reason);
      return;
    }
    this.upstreamRequest = request;
    request.setTimeout(settings.connectTimeoutMs);
    request.once('socket', (socket: Socket) => {
      socket.once('connect', () => request.setTimeout(settings.responseTimeoutMs));
    });
    request.on('timeout', () => {
      request.destroy(request.socket?.connecting === false ? responseTimeoutError() : connectTimeoutError());
    });
    request.on('error', (error: Error) => this.onUpstreamError(request, upstreamId, error));
    request.once('response', (response: IncomingMessage) => this.relayRefusal(request, response));
    request.once('upgrade', (response: IncomingMessage, socket: Socket, upstreamHead: Buffer) =>
      this.splice(request, response, socket, upstreamHead),
    );
    request.end();
  }

  private onUpstreamError(request: ClientRequest, upstreamId: string, error: Error): void {
    if (this.answered || request !== this.upstreamRequest) return;
    const failure = classifyUpstreamError(error, upstreamId, false);
    // Passive health, as for requests; a failed connect then tries another upstream, if any.
    reportToUpstream(this.tunnels.settings.router, failure);
    if (failure.connectFailed) {
      this.tryNextUpstream();
      return;
    }
    this.answerAndClose(outcomeOfFailure(failure, null), failure.message);
  }

  /** 101: the upstream's head to the client, the client's early bytes to the upstream, then both ways. */
  private splice(request: ClientRequest, response: IncomingMessage, upstream: Socket, upstreamHead: Buffer): void {
    if (this.answered || request !== this.upstreamRequest) {
      upstream.destroy();
      return;
    }
    this.answered = true;
    this.spliced = true;
    this.upstreamSocket = upstream;
    upstream.setTimeout(0);
    upstream.on('error', this.destroy);
    upstream.once('close', this.destroy);
    const { client } = this;
    client.write(
      `HTTP/1.1 101 ${response.statusMessage ?? 'Switching Protocols'}\r\n${headerLines(response.rawHeaders)}` +
        `Connection: upgrade\r\nUpgrade: ${response.headers.upgrade ?? this.req.headers.upgrade ?? ''}\r\n\r\n`,
    );
    this.toClientFrom = client.bytesWritten;
    this.toUpstreamFrom = upstream.bytesWritten;
    if (this.head.length > 0) upstream.write(this.head);
    if (upstreamHead.length > 0) client.write(upstreamHead);
    client.setTimeout(this.tunnels.settings.idleMs, this.destroy);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Anything but 101: relayed as it is, then the connection is closed. */
  private relayRefusal(request: ClientRequest, response: IncomingMessage): void {
    if (this.answered || request !== this.upstreamRequest) {
      response.resume();
      return;
    }
    this.answered = true;
    const status = response.statusCode ?? 502;
    this.warnUnprocessed(`the upstream answered ${status}, not 101`);
    this.client.write(
      `HTTP/1.1 ${status} ${response.statusMessage ?? STATUS_CODES[status] ?? ''}\r\n${headerLines(response.rawHeaders)}connection: close\r\n\r\n`,
    );
    // No Transfer-Encoding (hop-by-hop): a body without a Content-Length ends with the connection.
    response.pipe(this.client);
    response.once('end', () => {
      this.logRequest(status, 'proxied', 'upgrade refused');
      setTimeout(this.destroy, ANSWERED_LINGER_MS).unref();
    });
    response.once('error', this.destroy);
  }

  // The client side --------------------------------------------------------------

  /** balancebeam's own answer (a rejection, 429, 502, 504), then the connection is closed. */
  private answerAndClose(outcome: AnswerOutcome, reason: string, extraHeaderLines = '', text?: string): void {
    this.answered = true;
    const status = statusFor(outcome);
    this.warnUnprocessed(`answered ${status}`);
    const body = text ?? `${status} ${STATUS_CODES[status] ?? ''}\n`;
    this.client.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\n${extraHeaderLines}` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    setTimeout(this.destroy, ANSWERED_LINGER_MS).unref();
    this.logRequest(status, outcome, reason);
  }

  /** Bytes after the upgrade request that will not be processed are said so, never dropped silently. */
  private warnUnprocessed(why: string): void {
    if (this.head.length === 0) return;
    log.warn('pipelined bytes after an Upgrade request not processed', {
      client: this.clientIp,
      url: this.req.url,
      bytes: this.head.length,
      reason: `${why}; the connection is closed`,
    });
  }

  private readonly onClientClose = (): void => {
    if (this.awaitingVerdict) this.tunnels.forgetVerdict(this.id);
    if (this.spliced) {
      this.upstreamSocket?.destroy();
      this.logTunnel();
      return;
    }
    if (!this.answered) {
      this.answered = true;
      this.logRequest(0, 'client-closed', 'client gone before the upstream answered');
    }
    this.upstreamRequest?.destroy();
  };

  private logRequest(status: number, outcome: Outcome, reason: string): void {
    if (!log.enabled('info')) return;
    log.info('request', {
      client: this.clientIp,
      method: this.req.method,
      url: this.req.url,
      upstream: this.upstreamId,
      status,
      ms: Math.round((performance.now() - this.startedAt) * 100) / 100,
      outcome: outcome === 'proxied' ? undefined : outcome,
      reason,
      attempts: this.tried.length > 1 ? this.tried.length : undefined,
    });
  }

  /** One line when a tunnel closes: bytes each way after the 101, and how long it lived. */
  private logTunnel(): void {
    if (!log.enabled('info')) return;
    log.info('tunnel', {
      client: this.clientIp,
      url: this.req.url,
      upstream: this.upstreamId,
      upgrade: this.req.headers.upgrade,
      status: 101,
      toUpstreamBytes: (this.upstreamSocket?.bytesWritten ?? 0) - this.toUpstreamFrom,
      toClientBytes: this.client.bytesWritten - this.toClientFrom,
      ms: Math.round((performance.now() - this.startedAt) * 100) / 100,
    });
  }
}
