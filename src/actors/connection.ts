/**
 * The connection actor: one per client TCP connection, for its whole life.
 *
 * It decides, for each request the HTTP parser hands it: ask the rate limiter
 * (if limiting is on), pick an upstream, forward, and on a failed attempt
 * either retry elsewhere or answer with an error status. It never sees a body
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
import type { Exchange, ProxyFailure, UpstreamResponse } from '../proxy/exchange.js';
import { statusForFailure } from '../proxy/failure.js';
import type { ForwardOutcome } from '../proxy/forward.js';
import type { MailboxRouter } from './router.js';

/** What a connection actor acts on: the byte path and its neighbours, injected so tests can script them. */
export interface ConnectionPorts {
  readonly router: MailboxRouter;
  /** Ask the rate limiter about every request (false: limiting is off). */
  readonly rateLimited: boolean;
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

function dispatch(context: ConnectionContext, exchange: Exchange, self: Self): void {
  const upstreamId = context.ports.chooseUpstream(exchange.tried);
  if (upstreamId === undefined) {
    exchange.outcome = 'no live upstream';
    context.ports.respond(exchange, 502);
    return;
  }
  exchange.tried.push(upstreamId);
  exchange.upstreamId = upstreamId;
  void context.ports.forward(exchange, upstreamId).then((outcome) => deliver(self, outcome));
}

/** An attempt settled: tell the actor, or, if it has closed, release what the attempt holds. */
function deliver(self: Self, outcome: ForwardOutcome): void {
  if (self.getSnapshot().status === 'active') self.send(outcome);
  else if (outcome.type === 'upstream.responded') {
    // undici's body emits an AbortError when destroyed unread, and nobody listens any more:
    // without this listener a client leaving mid-request crashed the process.
    outcome.response.body.on('error', ignoreDiscardedBodyError).destroy();
  }
}

function ignoreDiscardedBodyError(): void {}

/**
 * A failed attempt may go to another upstream when nothing of it can have had
 * an effect: the connection was never made, or an idempotent request without a
 * consumed body lost a reused keep-alive connection before any response byte.
 */
function isRetryable(exchange: Exchange, failure: ProxyFailure): boolean {
  const bodyUntouched = exchange.body === null || !exchange.body.started;
  if (!bodyUntouched) return false;
  if (failure.connectFailed) return true;
  return failure.kind === 'upstream-reset' && IDEMPOTENT.has(exchange.req.method ?? '');
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
      if (failure.connectFailed) {
        context.ports.router.send(upstreamAddress(failure.upstreamId), {
          type: 'upstream.connect-failed',
          upstreamId: failure.upstreamId,
          reason: failure.message,
        });
      }
      if (!context.inFlight.has(exchange.id)) return;
      if (isRetryable(exchange, failure)) {
        exchange.body = exchange.body?.replay() ?? null;
        dispatch(context, exchange, self);
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
