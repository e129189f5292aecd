/**
 * The connection actor: one per client TCP connection, for its whole life.
 *
 * For each request the HTTP parser hands it, it runs the request pipeline
 * (src/pipeline/index.ts): the request filters in order — any of which may
 * answer by itself, or say PENDING and have its verdict arrive later as a
 * `request.verdict` — then picks an upstream, forwards, and on a failed
 * attempt either retries elsewhere or answers (src/proxy/retry-rule.ts). It
 * does not know which filters exist. It never sees a body chunk: bytes flow
 * client → DeferredRequestBody → undici → upstream, and back through the
 * attempt's dispatch handler (upstream-call.ts) into the response, with
 * backpressure.
 *
 *   open ──client.silent, nothing in flight for the keep-alive timeout──▶ closing
 *     └──── client.disconnected: the client left with requests in flight ────▶ closed (final)
 *
 * A client that leaves with nothing in flight — the usual end, and every
 * connection's with `Connection: close` — has nothing to cancel: its actor is
 * stopped (`clientLeft` below: xstate's `xstate.stop`, no transition, status
 * `stopped` in `open` or `closing`). The transition to `closed` is a full
 * microstep (exit and entry sets, a done snapshot and its output): 3–5 µs and
 * 8.5 KB of the 15–21 µs and 33 KB a connection actor's whole life cost
 * (bench/actor-cost.ts, BENCHMARKS.md). On the real listener a client
 * rarely leaves with anything in flight: Node closes each response before
 * the socket, and the listener books those closes first.
 *
 * Sharing one xstate system among the connection actors (`parent`) would
 * save the system each root actor builds, but its registry Map churns with
 * the connections and made V8 promote them (7× the promoted bytes, slower
 * under churn; BENCHMARKS.md): each stays a root actor. An action that
 * throws stops the actor with status `error`, told to the listener's error
 * observer (logged, the client disconnected), never rethrown.
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
 * When the client leaves with requests in flight (`closed`), every one is
 * cancelled (`cancelInFlight`): its upstream attempt is discarded — dropped
 * unsent if it is still queued in the pool — and a request body being read is
 * failed, so nothing the client held outlives it. Nothing is scheduled per request: an
 * xstate delayed transition per request cost about 5 µs and 6.5 KB of heap
 * per request (bench/actor-cost.ts, one request at a time).
 *
 * Several requests may be in flight at once (pipelining); Node's HTTP server
 * writes their responses in order. Per-request events name their exchange.
 *
 * One event per request on the success path: `request.received`. What
 * follows a pass through the filters is not a decision: a response head for
 * an exchange still in flight is relayed by the attempt itself
 * (`ConnectionContext.responded`, called from undici's parser), and the end
 * of a response is recorded by the listener (`ConnectionContext.finished`:
 * in-flight map, idle stamp, finished hooks). Both write this actor's
 * context outside its event loop: the measured exception to "no shared
 * mutable state outside actors" (ARCHITECTURE.md). They cost two of the
 * three xstate events a keep-alive request took, 14.6 % of the proxy's CPU
 * (BENCHMARKS.md). Every decision stays an event: a failed attempt
 * (`upstream.failed`: retry or answer), verdicts, malformed bodies,
 * silence, the client leaving.
 */
import { setup, type Actor } from 'xstate';
import type { Address, Answer, AnswerOutcome, ConnectionEvent, ProxyFailure, RequestMalformed, RequestVerdict, UpstreamFailed } from '../protocol/index.js';
import { reportToUpstream } from '../health/passive.js';
import { PENDING, type LocalResponse, type Pipeline } from '../pipeline/filter.js';
import type { Exchange, UpstreamResponse } from '../proxy/exchange.js';
import type { AttemptSettlement } from '../proxy/upstream-call.js';
import { closesConnection, outcomeOfBodyFailure, outcomeOfFailure, statusFor } from '../proxy/outcome.js';
import { afterFailure } from '../proxy/retry-rule.js';
import type { MailboxRouter } from './router.js';

/** What a connection actor acts on: the byte path and its neighbours, injected so tests can script them. */
export interface ConnectionPorts {
  readonly router: MailboxRouter;
  /** The pipeline of the current settings version (replaced on reload); a request keeps the one it started with. */
  readonly pipeline: Pipeline;
  /** `--retries`: resends allowed per request after a failure past the connect (src/proxy/retry-rule.ts). */
  readonly retries: number;
  /** An upstream this exchange has not tried yet (`exchange.tried`), or undefined when none is left. */
  chooseUpstream(exchange: Exchange): string | undefined;
  /** Starts an attempt; `settlement` is told its outcome once (possibly before this returns). */
  forward(exchange: Exchange, upstreamId: string, settlement: AttemptSettlement): void;
  relay(exchange: Exchange, response: UpstreamResponse): void;
  respond(exchange: Exchange, status: number, headers?: Readonly<Record<string, string | number>>, body?: string): void;
  /** Send a response balancebeam holds (a stored one) instead of an upstream's. */
  serve(exchange: Exchange, response: LocalResponse): void;
  /** Never answer this request: it closes the connection once the responses before it are out. */
  drop(exchange: Exchange): void;
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
  return Math.max(MIN_SILENCE_MS, Math.min(timeouts.keepAliveMs, quarter));
}

/**
 * The shortest silence period: timeouts may be set as low as 1 ms, but a busy connection's timer firing
 * every millisecond would cost more than the timeouts protect; they are then noticed within 10 ms.
 */
const MIN_SILENCE_MS = 10;

/** Whether some response in flight has waited on the client for the send timeout. */
function waitedOnClientTooLong(context: ConnectionContext, exchange: Exchange, now: number): boolean {
  // An upstream's response being relayed stamps its refused writes; an answer of our own (a few hundred
  // bytes) counts from when it was given: not finished a send timeout later, the client is not reading.
  const since = exchange.upstreamCall?.awaitingClientSince ?? (exchange.outcome === 'proxied' ? null : exchange.answeredAt);
  return since !== null && now - since >= context.timeouts.sendMs;
}

/** Answers after which the connection cannot be reused (src/proxy/outcome.ts says which). */
const CLOSE = { connection: 'close' } as const;

interface ConnectionContext {
  readonly address: Address;
  readonly ports: ConnectionPorts;
  readonly client: ClientSocket;
  readonly timeouts: ConnectionTimeouts;
  /**
   * When the last request in flight finished (or the connection opened).
   * Written in place, like inFlight: an assign per request costs a context
   * copy for one number.
   */
  idleSince: number;
  /**
   * Exchanges between request head and response end, by id. A Map mutated in
   * place: copying it per event would cost more than the decision itself.
   */
  readonly inFlight: Map<number, Exchange>;
  /**
   * An answer that closes the connection (a rejected head, a failed body) has
   * been given: requests the parser finds pipelined behind it are never
   * forwarded, since the framing the client chose is what was rejected.
   */
  answeredWithClose: boolean;
  /** Where the byte path reports what needs no decision (below). */
  readonly ledger: ConnectionLedger;
}

interface Self {
  send(event: ConnectionEvent<Exchange>): void;
  getSnapshot(): { status: string; context: ConnectionContext };
}

/**
 * The connection's ledger: what the byte path reports that decides nothing,
 * booked straight into the actor's context without an event. Every attempt
 * reports here (one object per connection: no callback per dispatch), and so
 * does the listener when a response closes. It writes `inFlight` and
 * `idleSince` outside the actor's event loop: the hot path's measured
 * exception to "no shared mutable state outside actors" (two xstate events
 * per request, most of the 14.6 % of CPU xstate took; BENCHMARKS.md). It
 * only books (relay a live exchange's response, strike off a finished one),
 * in this process's one thread and never inside an action, and forwards
 * every decision to the actor as an event.
 */
class ConnectionLedger implements AttemptSettlement {
  constructor(private readonly self: Self) {}

  /**
   * An attempt's response head (from undici's parser): relayed at once while
   * its exchange is in flight, released otherwise (finished, or the client
   * gone). Relaying a response is not a decision, so it is no event.
   */
  responded(exchange: Exchange, response: UpstreamResponse): void {
    const context = this.self.getSnapshot().context;
    if (context.inFlight.get(exchange.id) === exchange) {
      exchange.outcome = 'proxied';
      context.ports.relay(exchange, response);
    } else {
      response.discard();
    }
  }

  /** An attempt failed before any response head: retry or answer is the actor's decision. */
  failed(exchange: Exchange, failure: ProxyFailure): void {
    // Closed: nobody is left to retry for (and, as ever, its upstream is not told).
    if (this.self.getSnapshot().status === 'active') this.self.send({ type: 'upstream.failed', exchange, failure });
  }

  /**
   * The client's response closed (finished or abandoned), told by the listener: struck off the
   * ledger, its finished hooks run (the access log). A no-op once the actor has cancelled it.
   */
  finished(exchange: Exchange): void {
    const context = this.self.getSnapshot().context;
    if (!context.inFlight.delete(exchange.id)) return;
    if (context.inFlight.size === 0) context.idleSince = context.ports.now();
    runFinishedHooks(context, exchange);
  }
}

/** balancebeam answers the request itself: the status comes from the outcome, never from the caller. */
function answer(context: ConnectionContext, exchange: Exchange, outcome: AnswerOutcome, verdict?: Answer): void {
  exchange.outcome = outcome;
  exchange.answeredAt = context.ports.now();
  exchange.reason = verdict?.reason ?? null;
  const extra = verdict?.headers;
  const closing = closesConnection(outcome);
  if (closing) context.answeredWithClose = true;
  const headers = closing ? (extra === undefined ? CLOSE : { ...extra, ...CLOSE }) : extra;
  context.ports.respond(exchange, statusFor(outcome), headers, verdict?.body);
}

/** A filter answered with a response it holds (the cache: a stored response, or a stale one for a failure). */
function serveLocal(context: ConnectionContext, exchange: Exchange, response: LocalResponse): void {
  exchange.outcome = 'cache-hit';
  exchange.answeredAt = context.ports.now();
  context.ports.serve(exchange, response);
}

/**
 * A failure to get an upstream response, answered: by what a filter offered in its place (stale-if-error),
 * or with the failure's status. The fallback is asked only here, off the path of requests that succeed.
 */
function answerFailure(context: ConnectionContext, exchange: Exchange, outcome: AnswerOutcome): void {
  if (exchange.fallback !== null && !outcome.startsWith('request-body-')) {
    const stale = exchange.fallback.responseForFailure();
    if (stale !== null) {
      exchange.reason = outcome;
      serveLocal(context, exchange, stale);
      return;
    }
  }
  answer(context, exchange, outcome);
}

/**
 * The request filters of the exchange's pipeline, from where it stopped: the
 * first answer ends the request, PENDING waits for a request.verdict, and a
 * request every filter passed goes upstream. A loop over an array: no closure,
 * Promise or state change per request.
 */
function runRequestFilters(context: ConnectionContext, exchange: Exchange): void {
  const filters = (exchange.pipeline as Pipeline).requestFilters;
  while (exchange.nextFilter < filters.length) {
    const verdict = (filters[exchange.nextFilter++] as Pipeline['requestFilters'][number]).check(exchange, context.address);
    if (verdict === null) continue;
    if (verdict === PENDING) {
      exchange.awaitingVerdict = true;
      return;
    }
    if ('outcome' in verdict) answer(context, exchange, verdict.outcome, verdict);
    else serveLocal(context, exchange, verdict);
    return;
  }
  dispatch(context, exchange);
}

/**
 * Picks an upstream not yet tried and forwards to it. When none is left, the
 * client gets the previous attempt's status (a reset or garbage: 502), or 502
 * "no live upstream" when every upstream is dead or refused.
 */
function dispatch(context: ConnectionContext, exchange: Exchange, previous?: ProxyFailure): void {
  // The client's body already failed (malformed while the request waited for its pipelining turn).
  const bodyFailure = exchange.body?.failure ?? null;
  if (bodyFailure !== null && previous === undefined) {
    answer(context, exchange, outcomeOfBodyFailure(bodyFailure));
    return;
  }
  const upstreamId = context.ports.chooseUpstream(exchange);
  if (upstreamId === undefined) {
    const outcome = previous !== undefined && !previous.connectFailed ? outcomeOfFailure(previous, null) : 'no-live-upstream';
    answerFailure(context, exchange, outcome);
    return;
  }
  exchange.tried.push(upstreamId);
  exchange.upstreamId = upstreamId;
  context.ports.forward(exchange, upstreamId, context.ledger);
}

/** The request is over, whatever its outcome: the access log and whatever else its pipeline runs then. */
function runFinishedHooks(context: ConnectionContext, exchange: Exchange): void {
  for (const hook of (exchange.pipeline ?? context.ports.pipeline).finishedHooks) hook.finished(exchange);
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent<Exchange>,
    input: {} as ConnectionInput,
  },

  actions: {
    admitRequest: ({ context, event }) => {
      if (event.type !== 'request.received') return;
      const { exchange } = event;
      context.inFlight.set(exchange.id, exchange);
      exchange.pipeline = context.ports.pipeline;
      if (context.answeredWithClose) {
        exchange.reason = 'pipelined behind a request answered with connection: close';
        context.ports.drop(exchange);
        return;
      }
      runRequestFilters(context, exchange);
    },
    resumeRequestFilters: ({ context, event }) => {
      const verdict = event as RequestVerdict;
      const exchange = context.inFlight.get(verdict.requestId);
      if (exchange === undefined || !exchange.awaitingVerdict) return;
      exchange.awaitingVerdict = false;
      if (verdict.headers !== undefined) exchange.verdictHeaders = verdict.headers;
      if (verdict.answer === null) runRequestFilters(context, exchange);
      else answer(context, exchange, verdict.answer.outcome, verdict.answer);
    },
    retryOrFail: ({ context, event }) => {
      const { exchange, failure } = event as UpstreamFailed<Exchange>;
      reportToUpstream(context.ports.router, failure);
      if (!context.inFlight.has(exchange.id)) return;
      const next = afterFailure(exchange, failure, context.ports.retries);
      if (next !== 'answer') {
        if (next === 'resend') exchange.retries++;
        exchange.body = exchange.body?.replay() ?? null;
        dispatch(context, exchange, failure);
        return;
      }
      answerFailure(context, exchange, outcomeOfFailure(failure, exchange.body?.failure ?? null));
    },
    /**
     * The body fails and so aborts the upstream request; its failure comes back
     * as upstream.failed and is answered there. A request without a body (or
     * one already answered) has nothing to abort: answer or cut it here.
     */
    failMalformedRequest: ({ context, event }) => {
      const { exchange } = event as RequestMalformed<Exchange>;
      if (!context.inFlight.has(exchange.id)) return;
      if (exchange.body !== null && exchange.body.failure === null && !exchange.body.destroyed) {
        exchange.body.failWith('malformed');
        return;
      }
      // Already answered (its response may be under way): respond() cuts the connection then.
      if (exchange.outcome === null) answer(context, exchange, 'request-body-malformed');
      else context.ports.respond(exchange, statusFor('request-body-malformed'), CLOSE);
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
        // The upstream's response was being relayed ('proxied'): it ends as the client's timeout.
        if (waitedOnClientTooLong(context, exchange, now) && (exchange.outcome === null || exchange.outcome === 'proxied')) {
          exchange.outcome = 'client-send-timeout';
        }
      }
      context.client.close();
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
        // A relayed response cut short is the client's doing; an answer of our own keeps its outcome.
        if (exchange.res.writableFinished !== true && (exchange.outcome === null || exchange.outcome === 'proxied')) {
          exchange.outcome = 'client-closed';
        }
        exchange.upstreamCall?.discard();
        if (exchange.body?.started === true) exchange.body.failWith('client-aborted');
        runFinishedHooks(context, exchange);
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
  context: ({ input, self }) => ({
    address: input.address,
    ports: input.ports,
    client: input.client,
    timeouts: input.timeouts,
    idleSince: input.ports.now(),
    inFlight: new Map(),
    answeredWithClose: false,
    ledger: new ConnectionLedger(self),
  }),
  initial: 'open',
  entry: 'watchForSilence',
  on: {
    'request.malformed': { actions: 'failMalformedRequest' },
    'request.verdict': { actions: 'resumeRequestFilters' },
    'upstream.failed': { actions: 'retryOrFail' },
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

/** A running connection actor, as the listener holds it. */
export type ConnectionActor = Actor<typeof connectionMachine>;

/**
 * The client's socket has closed. With requests in flight the actor is told
 * (`client.disconnected`) and cancels them; with none there is nothing to
 * decide, and the actor is stopped without a transition (see the header).
 */
export function clientLeft(actor: ConnectionActor): void {
  if (hasRequestsInFlight(actor.getSnapshot())) actor.send({ type: 'client.disconnected' });
  else actor.stop();
}

/** What the listener may do with a connection actor's ledger: strike off a response that has closed. */
export interface ResponseLedger {
  finished(exchange: Exchange): void;
}

/** The ledger the listener records closed responses in (read once, when the connection opens). */
export function ledgerOf(actor: { getSnapshot(): { context: ConnectionContext } }): ResponseLedger {
  return actor.getSnapshot().context.ledger;
}

/** Whether a connection has requests between head and response end (a parse error then cannot get a clean answer). */
export function hasRequestsInFlight(snapshot: { context: { inFlight: ReadonlyMap<number, Exchange> } }): boolean {
  return snapshot.context.inFlight.size > 0;
}
