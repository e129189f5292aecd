/**
 * The connection actor: one per client TCP connection, for its whole life.
 *
 * It decides, for each request the HTTP parser hands it: ask the rate limiter
 * (if limiting is on), pick an upstream, forward, and on a failed attempt
 * either retry elsewhere or answer with an error status (the rule is
 * `afterFailure` below). It never sees a body
 * chunk: bytes flow client → DeferredRequestBody → undici → upstream and back
 * through a stream pipeline, with backpressure.
 *
 *   idle ──request.received──▶ busy ──response.finished (last one)──▶ idle
 *     └──────────── client.disconnected ────────────▶ closed (final)
 *
 * Several requests may be in flight at once (pipelining); Node's HTTP server
 * writes their responses in order. Per-request events name their exchange.
 */
import { setup } from 'xstate';
import type { Address, ConnectionEvent, RateLimitVerdict, UpstreamFailed, UpstreamResponded } from '../protocol/index.js';
import { RATE_LIMITER, upstreamAddress } from '../protocol/index.js';
import type { Exchange, ProxyFailure, ProxyFailureKind, UpstreamResponse } from '../proxy/exchange.js';
import { statusForFailure } from '../proxy/failure.js';
import type { ForwardOutcome } from '../proxy/forward.js';
import type { MailboxRouter } from './router.js';

/** What a connection actor acts on: the byte path and its neighbours, injected so tests can script them. */
export interface ConnectionPorts {
  readonly router: MailboxRouter;
  /** Ask the rate limiter about every request (false: limiting is off). */
  readonly rateLimited: boolean;
  /** `--retries`: resends allowed per request after a failure past the connect (see afterFailure). */
  readonly retries: number;
  chooseUpstream(exclude: readonly string[]): string | undefined;
  forward(exchange: Exchange, upstreamId: string): Promise<ForwardOutcome>;
  relay(exchange: Exchange, response: UpstreamResponse): void;
  respond(exchange: Exchange, status: number, headers?: Record<string, string | number>): void;
  completed(exchange: Exchange): void;
}

export interface ConnectionInput {
  readonly address: Address;
  readonly ports: ConnectionPorts;
}

interface ConnectionContext {
  readonly address: Address;
  readonly ports: ConnectionPorts;
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
  void context.ports.forward(exchange, upstreamId).then((outcome) => deliver(self, outcome));
}

/** An attempt settled: tell the actor, or, if it has closed, release what the attempt holds. */
function deliver(self: Self, outcome: ForwardOutcome): void {
  if (self.getSnapshot().status === 'active') self.send(outcome);
  else if (outcome.type === 'upstream.responded') outcome.response.body.destroy();
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
      if (context.ports.rateLimited) {
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
      else response.body.destroy();
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
      exchange.outcome = failure.kind;
      context.ports.respond(exchange, statusForFailure(failure.kind));
    },
    completeRequest: ({ context, event }) => {
      if (event.type !== 'response.finished') return;
      if (context.inFlight.delete(event.exchange.id)) context.ports.completed(event.exchange);
    },
    forgetInFlight: ({ context }) => {
      context.inFlight.clear();
    },
  },
  guards: {
    isLastInFlight: ({ context, event }) =>
      event.type === 'response.finished' && context.inFlight.size === 1 && context.inFlight.has(event.exchange.id),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ address: input.address, ports: input.ports, inFlight: new Map() }),
  initial: 'idle',
  on: {
    'rate-limit.verdict': { actions: 'applyVerdict' },
    'upstream.responded': { actions: 'relayResponse' },
    'upstream.failed': { actions: 'retryOrFail' },
    'response.finished': { actions: 'completeRequest' },
    'client.disconnected': { target: '.closed' },
  },
  states: {
    idle: {
      on: { 'request.received': { target: 'busy', actions: 'admitRequest' } },
    },
    busy: {
      on: {
        'request.received': { actions: 'admitRequest' },
        'response.finished': [
          { guard: 'isLastInFlight', target: 'idle', actions: 'completeRequest' },
          { actions: 'completeRequest' },
        ],
      },
    },
    closed: { type: 'final', entry: 'forgetInFlight' },
  },
});
