/**
 * The connection actor: one per client TCP connection, for its whole life.
 *
 * It decides, for each request the HTTP parser hands it: ask the rate limiter
 * (if limiting is on), pick an upstream, forward, and on a failed attempt
 * either retry elsewhere or answer with an error status (the rule is
 * `afterFailure` below). It never sees a body chunk: bytes flow client →
 * DeferredRequestBody → undici → upstream, and back through the attempt's
 * dispatch handler (upstream-call.ts) into the response, with backpressure.
 *
 *   open ──client.silent, nothing in flight for the keep-alive timeout──▶ closing
 *     └──────────── client.disconnected (from any state) ────────────▶ closed (final)
 *
 * `open` is one state whether requests are in flight or not: the in-flight
 * map in the context says which. Separate `idle` and `busy` states cost a
 * state change at each end of every request on a keep-alive connection:
 * 9 KB of heap and, in most runs, 3 µs per request in bench/actor-cost.ts,
 * a third of the actor path (see BENCHMARKS.md).
 *
 * One timer per connection: the socket's inactivity timer, armed here with the
 * silence period (the shorter of the keep-alive timeout and a quarter of the
 * body and send timeouts). Node re-arms it on traffic without allocating; when it runs
 * out, `client.silent` arrives and this actor decides what silence means:
 * - nothing in flight: closed once it has been so for the keep-alive timeout.
 * - a response has waited on the client for the send timeout (a write it
 *   refused and has not drained, or a pipelined response whose turn has not
 *   come): the client is disconnected (`clientStoppedReading`). A client that
 *   reads nothing sends nothing either, so the socket does fall silent.
 * - requests in flight: a request body the balancer has waited on for the
 *   body timeout fails as stalled (408 or, once a response has begun, the
 *   connection is closed). The body records when it started waiting, the
 *   response's attempt likewise (upstream-call.ts).
 * Otherwise the timer is armed again.
 *
 * When the client leaves (`closed`), every request still in flight is
 * cancelled (`cancelInFlight`): its upstream attempt is discarded — dropped
 * unsent if it is still queued in the pool — and a request body being read is
 * failed, so nothing the client held outlives it. Nothing is scheduled per request: an
 * xstate delayed transition per request cost about 5 µs and 6.5 KB of heap
 * per request (bench/actor-cost.ts, one request at a time).
 *
 * Several requests may be in flight at once (pipelining); Node's HTTP server
 * writes their responses in order. Per-request events name their exchange.
 */
import { setup } from 'xstate';
import type {
  Address,
  ConnectionEvent,
  RateLimitVerdict,
  RequestMalformed,
  UpstreamFailed,
  UpstreamResponded,
} from '../protocol/index.js';
import { RATE_LIMITER, upstreamAddress } from '../protocol/index.js';
import type { Exchange, ProxyFailure, ProxyFailureKind, UpstreamResponse } from '../proxy/exchange.js';
import { statusForFailure } from '../proxy/failure.js';
import type { ForwardOutcome } from '../proxy/forward.js';
import { statusForBodyFailure } from '../proxy/request-body.js';
import type { MailboxRouter } from './router.js';

/** What a connection actor acts on: the byte path and its neighbours, injected so tests can script them. */
export interface ConnectionPorts {
  readonly router: MailboxRouter;
  /** Ask the rate limiter about every request (false: limiting is off). */
  readonly rateLimited: boolean;
  /** `--retries`: resends allowed per request after a failure past the connect (see afterFailure). */
  readonly retries: number;
  chooseUpstream(exclude: readonly string[]): string | undefined;
  /** Starts an attempt; `settled` is called once, with its outcome (possibly before this returns). */
  forward(exchange: Exchange, upstreamId: string, settled: (outcome: ForwardOutcome) => void): void;
  relay(exchange: Exchange, response: UpstreamResponse): void;
  respond(exchange: Exchange, status: number, headers?: Record<string, string | number>): void;
  completed(exchange: Exchange): void;
  /** The clock request bodies stamp their waits with (performance.now()). */
  now(): number;
}

/** The one client socket a connection actor owns, as far as its timer needs it. */
export interface ClientSocket {
  /** (Re)arm the socket's inactivity timer: `client.silent` follows `ms` without traffic. */
  watchForSilence(ms: number): void;
  /** Close it now: with nothing in flight, or to disconnect a client that reads no response. */
  close(): void;
}

export interface ConnectionTimeouts {
  readonly keepAliveMs: number;
  readonly bodyIdleMs: number;
  /** A response waiting this long on a client that takes no byte of it disconnects the client. */
  readonly sendMs: number;
}

export interface ConnectionInput {
  readonly address: Address;
  readonly ports: ConnectionPorts;
  readonly client: ClientSocket;
  readonly timeouts: ConnectionTimeouts;
}

/** How long the socket may be silent before the actor looks: fine enough for every timeout it watches. */
export function silencePeriodMs(timeouts: ConnectionTimeouts): number {
  const quarter = Math.floor(Math.min(timeouts.bodyIdleMs, timeouts.sendMs) / 4);
  return Math.max(1, Math.min(timeouts.keepAliveMs, quarter));
}

/** Whether some response in flight has waited on the client for the send timeout. */
function waitedOnClientTooLong(context: ConnectionContext, exchange: Exchange, now: number): boolean {
  const since = exchange.upstreamCall?.awaitingClientSince ?? null;
  return since !== null && now - since >= context.timeouts.sendMs;
}

/** Answers after which the connection cannot be reused: the request's body was not read to its end. */
const CLOSE = { connection: 'close' } as const;

interface ConnectionContext {
  readonly address: Address;
  readonly ports: ConnectionPorts;
  readonly client: ClientSocket;
  readonly timeouts: ConnectionTimeouts;
  /**
   * When the last request in flight finished (or the connection opened).
   * Written in place by this actor's actions, like inFlight: an assign per
   * request costs a context copy for one number.
   */
  idleSince: number;
  /**
   * Exchanges between request head and response end, by id. A Map mutated in
   * place by this actor's actions only: copying it per event would cost more
   * than the decision itself.
   */
  readonly inFlight: Map<number, Exchange>;
}

interface Self {
  send(event: ConnectionEvent): void;
  getSnapshot(): { status: string };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Failures after the connect that leave no trace at the client (no response
 * byte has been relayed) and say nothing about the request itself: worth
 * another upstream for an idempotent request. A response timeout is not among
 * them: the client has already waited the whole timeout, and the upstream may
 * still be working on the request.
 */
const RESENDABLE: ReadonlySet<ProxyFailureKind> = new Set(['upstream-reset', 'upstream-protocol-error']);

/** What a failed attempt leads to. */
export type AfterFailure =
  /** The connection was never made: try another live upstream (any method, as often as there are upstreams). */
  | 'fail-over'
  /** The request reached an upstream that broke off before answering: resend it elsewhere, using up one retry. */
  | 'resend'
  /** Answer the client with the failure's status. */
  | 'answer';

/**
 * The retry rule. Nothing is resent once a byte of the request body has been
 * read from the client (it cannot be replayed), and a failure only reaches this
 * point before any response byte was relayed (later ones cut the client's
 * connection in relay.ts), so no client ever sees two responses.
 */
export function afterFailure(exchange: Exchange, failure: ProxyFailure, retries: number): AfterFailure {
  // The client's body failed (malformed, too large, stalled, aborted): the fault is the client's, not the upstream's.
  if (exchange.body?.failure != null) return 'answer';
  const bodyUntouched = exchange.body === null || !exchange.body.started;
  if (!bodyUntouched) return 'answer';
  if (failure.connectFailed) return 'fail-over';
  if (!RESENDABLE.has(failure.kind) || !IDEMPOTENT.has(exchange.req.method ?? '')) return 'answer';
  return exchange.retries < retries ? 'resend' : 'answer';
}

/**
 * Picks an upstream not yet tried and forwards to it. When none is left, the
 * client gets the previous attempt's status (a reset or garbage: 502), or 502
 * "no live upstream" when every upstream is dead or refused.
 */
function dispatch(context: ConnectionContext, exchange: Exchange, self: Self, previous?: ProxyFailure): void {
  const upstreamId = context.ports.chooseUpstream(exchange.tried);
  if (upstreamId === undefined) {
    if (previous !== undefined && !previous.connectFailed) {
      exchange.outcome = previous.kind;
      context.ports.respond(exchange, statusForFailure(previous.kind));
    } else {
      exchange.outcome = 'no live upstream';
      context.ports.respond(exchange, 502);
    }
    return;
  }
  exchange.tried.push(upstreamId);
  exchange.upstreamId = upstreamId;
  context.ports.forward(exchange, upstreamId, (outcome) => deliver(self, outcome));
}

/** An attempt settled: tell the actor, or, if it has closed, release what the attempt holds. */
function deliver(self: Self, outcome: ForwardOutcome): void {
  if (self.getSnapshot().status === 'active') self.send(outcome);
  else if (outcome.type === 'upstream.responded') outcome.response.discard();
}

/**
 * Passive health: a refused or timed-out connect, and a reply that is not
 * HTTP, tell the upstream's actor, which takes the upstream out everywhere.
 * Resets and response timeouts do not: a keep-alive connection the upstream
 * closed as it was reused, or one slow request, is no sign of a dead upstream
 * (a hung one fails its active health checks).
 */
function reportToUpstream(context: ConnectionContext, failure: ProxyFailure): void {
  const to = upstreamAddress(failure.upstreamId);
  if (failure.connectFailed) {
    context.ports.router.send(to, { type: 'upstream.connect-failed', upstreamId: failure.upstreamId, reason: failure.message });
  } else if (failure.kind === 'upstream-protocol-error') {
    context.ports.router.send(to, { type: 'upstream.misbehaved', upstreamId: failure.upstreamId, reason: failure.message });
  }
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },

  actions: {
    admitRequest: ({ context, event, self }) => {
      if (event.type !== 'request.received') return;
      const { exchange } = event;
      context.inFlight.set(exchange.id, exchange);
      if (exchange.rejection !== null) {
        exchange.outcome = `rejected: ${exchange.rejection.reason}`;
        context.ports.respond(exchange, exchange.rejection.status, CLOSE);
      } else if (context.ports.rateLimited) {
        context.ports.router.send(RATE_LIMITER, {
          type: 'rate-limit.check',
          requestId: exchange.id,
          clientIp: exchange.clientIp,
          replyTo: context.address,
        });
      } else {
        dispatch(context, exchange, self);
      }
    },
    applyVerdict: ({ context, event, self }) => {
      const verdict = event as RateLimitVerdict;
      const exchange = context.inFlight.get(verdict.requestId);
      if (exchange === undefined) return;
      if (verdict.allowed) {
        dispatch(context, exchange, self);
      } else {
        exchange.outcome = 'rate limited';
        context.ports.respond(exchange, 429, { 'retry-after': verdict.retryAfterSeconds });
      }
    },
    relayResponse: ({ context, event }) => {
      const { exchange, response } = event as UpstreamResponded;
      if (context.inFlight.has(exchange.id)) context.ports.relay(exchange, response);
      else response.discard();
    },
    retryOrFail: ({ context, event, self }) => {
      const { exchange, failure } = event as UpstreamFailed;
      reportToUpstream(context, failure);
      if (!context.inFlight.has(exchange.id)) return;
      const next = afterFailure(exchange, failure, context.ports.retries);
      if (next !== 'answer') {
        if (next === 'resend') exchange.retries++;
        exchange.body = exchange.body?.replay() ?? null;
        dispatch(context, exchange, self, failure);
        return;
      }
      const bodyFailure = exchange.body?.failure ?? null;
      if (bodyFailure !== null) {
        exchange.outcome = `request body ${bodyFailure}`;
        context.ports.respond(exchange, statusForBodyFailure(bodyFailure), CLOSE);
        return;
      }
      exchange.outcome = failure.kind;
      context.ports.respond(exchange, statusForFailure(failure.kind));
    },
    /**
     * The body fails and so aborts the upstream request; its failure comes back
     * as upstream.failed and is answered there. A request without a body (or
     * one already answered) has nothing to abort: answer or cut it here.
     */
    failMalformedRequest: ({ context, event }) => {
      const { exchange } = event as RequestMalformed;
      if (!context.inFlight.has(exchange.id)) return;
      if (exchange.body !== null && exchange.body.failure === null && !exchange.body.destroyed) {
        exchange.body.failWith('malformed');
        return;
      }
      exchange.outcome ??= 'request body malformed';
      context.ports.respond(exchange, 400, CLOSE);
    },
    failStalledBodies: ({ context }) => {
      const now = context.ports.now();
      for (const exchange of context.inFlight.values()) {
        const since = exchange.body?.awaitingClientSince ?? null;
        if (since !== null && now - since >= context.timeouts.bodyIdleMs) exchange.body?.failWith('stalled');
      }
    },
    watchForSilence: ({ context }) => {
      context.client.watchForSilence(silencePeriodMs(context.timeouts));
    },
    closeClient: ({ context }) => {
      context.client.close();
    },
    /** The send timeout: the client takes no response byte. Closing it cancels what it holds (cancelInFlight). */
    disconnectStuckClient: ({ context }) => {
      const now = context.ports.now();
      for (const exchange of context.inFlight.values()) {
        if (waitedOnClientTooLong(context, exchange, now)) exchange.outcome ??= 'client send timeout';
      }
      context.client.close();
    },
    completeRequest: ({ context, event }) => {
      if (event.type !== 'response.finished') return;
      if (!context.inFlight.delete(event.exchange.id)) return;
      if (context.inFlight.size === 0) context.idleSince = context.ports.now();
      context.ports.completed(event.exchange);
    },
    /**
     * The client has gone: nothing it asked for is worth finishing. Each attempt
     * is discarded (one still queued in the pool is dropped unsent); a request
     * body being read is failed, releasing the client's stream. A body not yet
     * started is left alone: failing it would make undici destroy the pooled
     * connection the request is eventually handed, instead of dropping it.
     * Requests waiting for a rate-limit verdict are simply forgotten (the
     * verdict finds no mailbox). Each is logged as it ends.
     */
    cancelInFlight: ({ context }) => {
      for (const exchange of context.inFlight.values()) {
        if (exchange.res.writableFinished !== true) exchange.outcome ??= 'client closed';
        exchange.upstreamCall?.discard();
        if (exchange.body?.started === true) exchange.body.failWith('client-aborted');
        context.ports.completed(exchange);
      }
      context.inFlight.clear();
    },
  },
  guards: {
    idleForKeepAlive: ({ context }) =>
      context.inFlight.size === 0 && context.ports.now() - context.idleSince >= context.timeouts.keepAliveMs,
    clientStoppedReading: ({ context }) => {
      const now = context.ports.now();
      for (const exchange of context.inFlight.values()) {
        if (waitedOnClientTooLong(context, exchange, now)) return true;
      }
      return false;
    },
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    address: input.address,
    ports: input.ports,
    client: input.client,
    timeouts: input.timeouts,
    idleSince: input.ports.now(),
    inFlight: new Map(),
  }),
  initial: 'open',
  entry: 'watchForSilence',
  on: {
    'request.malformed': { actions: 'failMalformedRequest' },
    'rate-limit.verdict': { actions: 'applyVerdict' },
    'upstream.responded': { actions: 'relayResponse' },
    'upstream.failed': { actions: 'retryOrFail' },
    'response.finished': { actions: 'completeRequest' },
    'client.disconnected': { target: '.closed' },
  },
  states: {
    open: {
      on: {
        'request.received': { actions: 'admitRequest' },
        'client.silent': [
          { guard: 'idleForKeepAlive', target: 'closing', actions: 'closeClient' },
          { guard: 'clientStoppedReading', target: 'closing', actions: 'disconnectStuckClient' },
          { actions: ['failStalledBodies', 'watchForSilence'] },
        ],
      },
    },
    /** The socket is being closed (idle, or not reading its responses); client.disconnected follows. */
    closing: {},
    closed: { type: 'final', entry: 'cancelInFlight' },
  },
});

/** Whether a connection has requests between head and response end (a parse error then cannot get a clean answer). */
export function hasRequestsInFlight(snapshot: { context: { inFlight: ReadonlyMap<number, Exchange> } }): boolean {
  return snapshot.context.inFlight.size > 0;
}
