/**
 * The connection actor, driven alone: scripted request, verdict and upstream
 * events in; what it asks of its ports (choose, forward, relay, respond) and
 * what it sends through the router, recorded. No sockets: exchanges carry stub
 * request and response objects, `forward` hands the test the settlement to
 * report the attempt's outcome to, and `finish` records a closed response in
 * the actor's ledger as the listener does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { clientLeft, connectionMachine, hasRequestsInFlight, ledgerOf, silencePeriodMs, type ConnectionPorts } from '../../src/actors/connection.js';
import { startActor } from '../../src/actors/inspection.js';
import { MailboxRouter } from '../../src/actors/router.js';
import type { LocalResponse, Pipeline, RequestFilter } from '../../src/pipeline/filter.js';
import { RateLimitFilter } from '../../src/pipeline/rate-limit.js';
import { PrimaryStore } from '../../src/rate-limit/primary-store.js';

const TEST_LIMIT = { algorithm: 'fixed-window', limit: 10, windowMs: 60_000 } as const;
const NO_EXTRA_LIMITS = { rules: [], store: { kind: 'memory' }, storeTimeoutMs: 5, storeFailure: 'local', ipv6Prefix: 64, headersWhenAllowed: false, bruteForce: null } as const;
import type {
  Address,
  ProxyFailure,
  ProxyFailureKind,
  RequestBodyFailure,
  RoutedMessage,
  UpstreamFailed,
} from '../../src/protocol/index.js';
import { Exchange, type UpstreamResponse } from '../../src/proxy/exchange.js';
import type { AttemptSettlement } from '../../src/proxy/upstream-call.js';
import type { DeferredRequestBody } from '../../src/proxy/request-body.js';

const SELF: Address = 'p/conn/x';
const CLIENT_IP = '10.0.0.7';

interface ForwardCall {
  readonly exchange: Exchange;
  readonly upstreamId: string;
  readonly settlement: AttemptSettlement;
}

interface Responded {
  readonly exchange: Exchange;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>> | undefined;
}

/** Ports that record every call; `live` is the balancer's answer (first live id not yet tried). */
class FakePorts implements ConnectionPorts {
  readonly router = new MailboxRouter('p');
  readonly chooseCalls: string[][] = [];
  readonly forwards: ForwardCall[] = [];
  readonly relayed: { exchange: Exchange; response: UpstreamResponse }[] = [];
  readonly responded: Responded[] = [];
  readonly served: { exchange: Exchange; response: LocalResponse }[] = [];
  readonly dropped: Exchange[] = [];
  readonly completed_: Exchange[] = [];
  /** Everything sent to mailboxes in the primary: the rate limiter and the upstream actors. */
  readonly sent: { to: Address; message: RoutedMessage }[] = [];

  readonly pipeline: Pipeline;

  constructor(
    rateLimited: boolean,
    public live: string[],
    readonly clock: SimulatedClock,
    readonly retries = 1,
    filters: readonly RequestFilter[] = [],
  ) {
    for (const name of ['rate-limiter', 'upstream/u1', 'upstream/u2', 'upstream/u3']) {
      const to: Address = `p/${name}`;
      this.router.register(name, { send: (message: RoutedMessage) => this.sent.push({ to, message }) });
    }
    this.pipeline = {
      requestFilters: rateLimited ? [...filters, new RateLimitFilter(new PrimaryStore(this.router), TEST_LIMIT, NO_EXTRA_LIMITS)] : filters,
      responseFilters: [],
      finishedHooks: [{ name: 'record', finished: (request) => this.completed_.push(request as Exchange) }],
    };
  }

  chooseUpstream(exchange: Exchange): string | undefined {
    const exclude = exchange.tried;
    this.chooseCalls.push([...exclude]);
    return this.live.find((id) => !exclude.includes(id));
  }

  forward(exchange: Exchange, upstreamId: string, settlement: AttemptSettlement): void {
    this.forwards.push({ exchange, upstreamId, settlement });
  }

  relay(exchange: Exchange, response: UpstreamResponse): void {
    this.relayed.push({ exchange, response });
  }

  respond(exchange: Exchange, status: number, headers?: Readonly<Record<string, string | number>>): void {
    this.responded.push({ exchange, status, headers });
  }

  serve(exchange: Exchange, response: LocalResponse): void {
    this.served.push({ exchange, response });
  }

  drop(exchange: Exchange): void {
    this.dropped.push(exchange);
  }

  now(): number {
    return this.clock.now();
  }

  forwardAt(index: number): ForwardCall {
    const call = this.forwards[index];
    if (call === undefined) throw new Error(`no forward #${index} (${this.forwards.length} so far)`);
    return call;
  }
}

const KEEP_ALIVE_MS = 5_000;
const BODY_IDLE_MS = 4_000;
const SEND_MS = 6_000;

/** The client socket as the actor's timer sees it: the silence periods it was armed with, and closes. */
class FakeClient {
  readonly armed: number[] = [];
  closed = 0;
  watchForSilence(ms: number): void {
    this.armed.push(ms);
  }
  close(): void {
    this.closed++;
  }
}

/** min(keep-alive, body timeout / 4) for the timeouts above. */
const SILENCE_MS = 1_000;

type ConnectionActor = ReturnType<typeof startConnection>['actor'];
/** Open with requests between head and response end. */
const busy = (actor: ConnectionActor): boolean => actor.getSnapshot().matches('open') && hasRequestsInFlight(actor.getSnapshot());
/** Open with nothing in flight. */
const idle = (actor: ConnectionActor): boolean => actor.getSnapshot().matches('open') && !hasRequestsInFlight(actor.getSnapshot());

function startConnection(
  options: { rateLimited?: boolean; live?: string[]; retries?: number; filters?: readonly RequestFilter[] } = {},
) {
  const clock = new SimulatedClock();
  const ports = new FakePorts(options.rateLimited ?? false, options.live ?? ['u1', 'u2'], clock, options.retries, options.filters);
  const client = new FakeClient();
  const timeouts = { keepAliveMs: KEEP_ALIVE_MS, bodyIdleMs: BODY_IDLE_MS, sendMs: SEND_MS };
  const actor = startActor(connectionMachine, { input: { address: SELF, ports, client, timeouts }, clock });
  return { ports, actor, clock, client };
}

interface StubBody {
  started: boolean;
  readonly replays: StubBody[];
  failure: RequestBodyFailure | null;
  awaitingClientSince: number | null;
  destroyed: boolean;
}

function stubBody(started = false): StubBody & DeferredRequestBody {
  const body = {
    started,
    replays: [] as StubBody[],
    failure: null as RequestBodyFailure | null,
    awaitingClientSince: null as number | null,
    destroyed: false,
    replay(): StubBody {
      const fresh = stubBody();
      body.replays.push(fresh);
      return fresh;
    },
    failWith(failure: RequestBodyFailure): void {
      body.failure = failure;
      body.destroyed = true;
    },
  };
  return body as unknown as StubBody & DeferredRequestBody;
}

function exchange(id: number, options: { method?: string; body?: DeferredRequestBody } = {}): Exchange {
  const req = { method: options.method ?? 'GET', url: '/' } as unknown as IncomingMessage;
  const res = {} as unknown as ServerResponse;
  return new Exchange(id, req, res, CLIENT_IP, 0, options.body ?? null);
}

/** An upstream response head whose body records being destroyed. */
function upstreamResponse(): { response: UpstreamResponse; destroyed: () => boolean } {
  let destroyed = false;
  const response: UpstreamResponse = {
    statusCode: 200,
    pipeTo: () => undefined,
    discard: () => {
      destroyed = true;
    },
  };
  return { response, destroyed: () => destroyed };
}

/** An attempt's response head, as the test scripts it (no event: the settlement relays it). */
interface UpstreamResponded {
  readonly type: 'upstream.responded';
  readonly exchange: Exchange;
  readonly response: UpstreamResponse;
}
type AttemptOutcome = UpstreamResponded | UpstreamFailed<Exchange>;

const responded = (forExchange: Exchange, response: UpstreamResponse): UpstreamResponded => ({
  type: 'upstream.responded',
  exchange: forExchange,
  response,
});

const failure = (kind: ProxyFailureKind, upstreamId: string, connectFailed: boolean, message: string = kind): ProxyFailure => ({
  kind,
  upstreamId,
  message,
  connectFailed,
});

const failed = (forExchange: Exchange, proxyFailure: ProxyFailure): UpstreamFailed<Exchange> => ({
  type: 'upstream.failed',
  exchange: forExchange,
  failure: proxyFailure,
});

/** Settle a forward and let the actor see the outcome (its `.then` runs before this await returns). */
async function settle(call: ForwardCall, outcome: AttemptOutcome): Promise<void> {
  if (outcome.type === 'upstream.responded') call.settlement.responded(outcome.exchange, outcome.response);
  else call.settlement.failed(outcome.exchange, outcome.failure);
  await Promise.resolve();
}

/** The client's response closed: the listener records it in the actor's ledger (no event). */
function finish(actor: ConnectionActor, finished: Exchange): void {
  ledgerOf(actor).finished(finished);
}

test('without rate limiting, a request goes straight to the chosen upstream', async (t) => {
  const { ports, actor } = startConnection();
  const first = exchange(1);
  actor.send({ type: 'request.received', exchange: first });
  t.deepEqual(ports.chooseCalls, [[]]);
  t.is(ports.forwards.length, 1);
  t.is(ports.forwardAt(0).exchange, first);
  t.is(ports.forwardAt(0).upstreamId, 'u1');
  t.deepEqual(first.tried, ['u1']);
  t.is(first.upstreamId, 'u1');
  t.deepEqual(ports.sent, [], 'no rate-limit check');
  t.true(busy(actor));

  const { response } = upstreamResponse();
  await settle(ports.forwardAt(0), responded(first, response));
  t.deepEqual(ports.relayed, [{ exchange: first, response }]);
  t.deepEqual(ports.responded, []);
});

test('a request is in flight from its head to the end of its response', async (t) => {
  const { ports, actor } = startConnection();
  t.true(idle(actor));
  const first = exchange(1);
  actor.send({ type: 'request.received', exchange: first });
  t.true(busy(actor));
  await settle(ports.forwardAt(0), responded(first, upstreamResponse().response));
  t.true(busy(actor), 'busy while the response streams');
  finish(actor, first);
  t.true(idle(actor));
  t.deepEqual(ports.completed_, [first]);
});

test('with pipelined requests, the connection is idle only when the last one finishes', async (t) => {
  const { ports, actor } = startConnection();
  const first = exchange(1);
  const second = exchange(2);
  actor.send({ type: 'request.received', exchange: first });
  actor.send({ type: 'request.received', exchange: second });
  t.is(ports.forwards.length, 2);
  t.deepEqual(
    ports.forwards.map((call) => call.upstreamId),
    ['u1', 'u1'],
    'each request is chosen for on its own',
  );
  await settle(ports.forwardAt(0), responded(first, upstreamResponse().response));
  await settle(ports.forwardAt(1), responded(second, upstreamResponse().response));
  finish(actor, first);
  t.true(busy(actor));
  finish(actor, first);
  t.true(busy(actor), 'a repeated finish of the same exchange does not end the second one');
  finish(actor, second);
  t.true(idle(actor));
  t.deepEqual(ports.completed_, [first, second], 'each exchange completed exactly once');
});

test('with rate limiting, the limiter is asked first, with this connection as the reply address', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'request.received', exchange: exchange(7) });
  t.deepEqual(ports.sent, [
    {
      to: 'p/rate-limiter',
      message: { type: 'rate-limit.check', requestId: 7, checks: [{ rule: 'default', key: CLIENT_IP, limit: TEST_LIMIT }], headersWhenAllowed: false, replyTo: SELF },
    },
  ]);
  t.deepEqual(ports.chooseCalls, [], 'nothing is chosen before the verdict');
  t.deepEqual(ports.forwards, []);
});

test('a denied verdict is answered with 429 and Retry-After, and nothing is forwarded', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const limited = exchange(1);
  actor.send({ type: 'request.received', exchange: limited });
  actor.send({ type: 'request.verdict', requestId: 1, answer: { outcome: 'rate-limited', headers: { 'retry-after': 12 } } });
  t.deepEqual(ports.responded, [{ exchange: limited, status: 429, headers: { 'retry-after': 12 } }]);
  t.is(limited.outcome, 'rate-limited');
  t.deepEqual(ports.forwards, []);
  finish(actor, limited);
  t.true(idle(actor));
});

test('an allowed verdict forwards the request it names', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const first = exchange(1);
  const second = exchange(2);
  actor.send({ type: 'request.received', exchange: first });
  actor.send({ type: 'request.received', exchange: second });
  actor.send({ type: 'request.verdict', requestId: 2, answer: null });
  t.is(ports.forwards.length, 1);
  t.is(ports.forwardAt(0).exchange, second);
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  t.is(ports.forwardAt(1).exchange, first);
});

test('a verdict for a request this connection does not have is ignored', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'request.received', exchange: exchange(1) });
  actor.send({ type: 'request.verdict', requestId: 99, answer: null });
  actor.send({ type: 'request.verdict', requestId: 98, answer: { outcome: 'rate-limited', headers: { 'retry-after': 3 } } });
  t.deepEqual(ports.forwards, []);
  t.deepEqual(ports.responded, []);
});

test('a connect failure is reported to that upstream and the request is retried elsewhere', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-refused', 'u1', true, 'ECONNREFUSED')));
  t.deepEqual(ports.sent, [
    {
      to: 'p/upstream/u1',
      message: { type: 'upstream.connect-failed', upstreamId: 'u1', reason: 'ECONNREFUSED' },
    },
  ]);
  t.deepEqual(ports.chooseCalls, [[], ['u1']], 'the retry excludes the failed upstream');
  t.is(ports.forwardAt(1).upstreamId, 'u2');
  t.is(ports.forwardAt(1).exchange, request);
  t.deepEqual(request.tried, ['u1', 'u2']);
  t.deepEqual(ports.responded, []);
  const { response } = upstreamResponse();
  await settle(ports.forwardAt(1), responded(request, response));
  t.deepEqual(ports.relayed, [{ exchange: request, response }]);
});

test('a retried request gets a fresh copy of its untouched body', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const body = stubBody();
  const request = exchange(1, { method: 'POST', body });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-connect-timeout', 'u1', true)));
  t.is(body.replays.length, 1);
  t.is(request.body, body.replays[0] as unknown as DeferredRequestBody);
  t.is(ports.forwardAt(1).upstreamId, 'u2');
});

test('when every upstream has failed to connect, the client gets 502', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-refused', 'u1', true)));
  await settle(ports.forwardAt(1), failed(request, failure('upstream-unreachable', 'u2', true)));
  t.deepEqual(
    ports.sent.map(({ to, message }) => [to, message.type]),
    [
      ['p/upstream/u1', 'upstream.connect-failed'],
      ['p/upstream/u2', 'upstream.connect-failed'],
    ],
  );
  t.is(ports.forwards.length, 2);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
  t.is(request.outcome, 'no-live-upstream');
});

test('with no live upstream at all, the client gets 502 without any attempt', (t) => {
  const { ports, actor } = startConnection({ live: [] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  t.deepEqual(ports.forwards, []);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
  t.is(request.outcome, 'no-live-upstream');
  finish(actor, request);
  t.true(idle(actor));
});

test('a response timeout is answered with 504 and not retried', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-response-timeout', 'u1', false)));
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.sent, [], 'the upstream connected, so its health is not in question');
  t.deepEqual(ports.responded, [{ exchange: request, status: 504, headers: undefined }]);
  t.is(request.outcome, 'upstream-response-timeout');
});

test('a reset before any response byte is retried for an idempotent request without a body', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  t.deepEqual(ports.sent, [], 'a reset is not a connect failure');
  t.is(ports.forwardAt(1).upstreamId, 'u2');
  t.deepEqual(ports.responded, []);
});

test('a reset is not retried for a non-idempotent request', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1, { method: 'POST' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
});

test('a reset is not retried once the request body has started to flow', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const body = stubBody(true);
  const request = exchange(1, { method: 'PUT', body });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  t.is(ports.forwards.length, 1);
  t.is(body.replays.length, 0);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
});

test('a failed request body is answered with 400 and the connection closed (its framing is lost)', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1, { method: 'POST', body: stubBody(true) });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('request-body-failed', 'u1', false)));
  t.deepEqual(ports.responded, [{ exchange: request, status: 400, headers: { connection: 'close' } }]);
  t.is(request.outcome, 'request-body-client-aborted');
});

test('a response for an exchange that has already finished is released, not relayed', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  finish(actor, request); // the client gave up on it
  const late = upstreamResponse();
  await settle(ports.forwardAt(0), responded(request, late.response));
  t.deepEqual(ports.relayed, []);
  t.true(late.destroyed());
});

test('a connect failure of a finished exchange is still reported, but not retried', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  finish(actor, request);
  await settle(ports.forwardAt(0), failed(request, failure('upstream-refused', 'u1', true, 'ECONNREFUSED')));
  t.deepEqual(ports.sent, [
    { to: 'p/upstream/u1', message: { type: 'upstream.connect-failed', upstreamId: 'u1', reason: 'ECONNREFUSED' } },
  ]);
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.responded, []);
});

test('client.disconnected ends the actor; a later upstream response is released', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  actor.send({ type: 'client.disconnected' });
  t.is(actor.getSnapshot().status, 'done');
  t.true(actor.getSnapshot().matches('closed'));
  const late = upstreamResponse();
  await settle(ports.forwardAt(0), responded(request, late.response));
  t.deepEqual(ports.relayed, []);
  t.true(late.destroyed());
  t.deepEqual(ports.completed_, [request], 'the cancelled request is logged once');
  t.is(request.outcome, 'client-closed');
});

test('a local resource error (out of ports or descriptors) is answered 503, never reported against the upstream nor failed over', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('local-resources-exhausted', 'u1', false, 'EADDRNOTAVAIL')));
  t.deepEqual(ports.sent, [], 'no health mark');
  t.is(ports.forwards.length, 1, 'not sent elsewhere');
  t.deepEqual(ports.responded.map((r) => r.status), [503]);
});

/** An attempt as the actor sees it: whether it was discarded, and since when it has waited on the client. */
function stubCall(awaitingClientSince: number | null = null): { discarded: number; awaitingClientSince: number | null; discard(): void } {
  return {
    discarded: 0,
    awaitingClientSince,
    discard() {
      this.discarded++;
    },
  };
}

test('cancel on disconnect: every attempt in flight is discarded, a body being read failed, a verdict still awaited forgotten', async (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const streaming = exchange(1);
  const uploading = exchange(2, { method: 'POST', body: stubBody(true) });
  const queued = exchange(3, { method: 'POST', body: stubBody(false) });
  const awaitingVerdict = exchange(4);
  for (const each of [streaming, uploading, queued, awaitingVerdict]) actor.send({ type: 'request.received', exchange: each });
  for (const id of [1, 2, 3]) actor.send({ type: 'request.verdict', requestId: id, answer: null });
  t.is(ports.forwards.length, 3);
  const calls = [stubCall(), stubCall(), stubCall()];
  [streaming, uploading, queued].forEach((each, i) => (each.upstreamCall = calls[i] ?? null));
  await settle(ports.forwardAt(0), responded(streaming, upstreamResponse().response));

  actor.send({ type: 'client.disconnected' });
  t.true(actor.getSnapshot().matches('closed'));
  t.deepEqual(
    calls.map((call) => call.discarded),
    [1, 1, 1],
    'each attempt discarded once (a queued one is then dropped unsent)',
  );
  t.is(uploading.body?.failure, 'client-aborted', 'the body being read is failed');
  t.is(queued.body?.failure, null, 'a body not yet started is left alone (failing it would cost undici a connection)');
  t.deepEqual(ports.completed_, [streaming, uploading, queued, awaitingVerdict], 'each logged once');
  t.true([streaming, uploading, queued, awaitingVerdict].every((each) => each.outcome === 'client-closed'));

  actor.send({ type: 'request.verdict', requestId: 4, answer: null });
  t.is(ports.forwards.length, 3, 'a late verdict sends nothing');
});

test('send timeout: a response waiting on the client that long disconnects it, not a moment before', async (t) => {
  const { ports, actor, clock, client } = startConnection();
  const stuck = exchange(1);
  const behind = exchange(2);
  actor.send({ type: 'request.received', exchange: stuck });
  actor.send({ type: 'request.received', exchange: behind });
  await settle(ports.forwardAt(0), responded(stuck, upstreamResponse().response));
  const stuckCall = stubCall(clock.now());
  const behindCall = stubCall();
  stuck.upstreamCall = stuckCall;
  behind.upstreamCall = behindCall;

  clock.increment(SEND_MS - 1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 0);
  t.true(busy(actor));
  t.deepEqual(client.armed, [SILENCE_MS, SILENCE_MS], 'the timer is armed again');

  clock.increment(1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 1, 'disconnected');
  t.true(actor.getSnapshot().matches('closing'));
  t.is(stuck.outcome, 'client-send-timeout');
  t.is(behind.outcome, null);

  actor.send({ type: 'client.disconnected' });
  t.deepEqual([stuckCall.discarded, behindCall.discarded], [1, 1], 'both upstream requests released');
  t.is(behind.outcome, 'client-closed');
});

test('send timeout: any response stamped as waiting on the client counts, wherever it is in the pipeline', async (t) => {
  const { ports, actor, clock, client } = startConnection();
  const first = exchange(1);
  const second = exchange(2);
  actor.send({ type: 'request.received', exchange: first });
  actor.send({ type: 'request.received', exchange: second });
  await settle(ports.forwardAt(0), responded(first, upstreamResponse().response));
  await settle(ports.forwardAt(1), responded(second, upstreamResponse().response));
  first.upstreamCall = stubCall();
  second.upstreamCall = stubCall(clock.now());
  clock.increment(SEND_MS);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 1);
  t.is(second.outcome, 'client-send-timeout');
});

test('send timeout: a client that takes its responses, however slowly, is not disconnected', async (t) => {
  const { ports, actor, clock, client } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), responded(request, upstreamResponse().response));
  const call = stubCall();
  request.upstreamCall = call;
  for (let i = 0; i < 10; i++) {
    clock.increment(SEND_MS / 2);
    call.awaitingClientSince = clock.now() - SEND_MS / 2 + 1; // refused, then drained, then refused again
    actor.send({ type: 'client.silent' });
  }
  t.is(client.closed, 0);
  t.true(busy(actor));
  t.is(call.discarded, 0);
});

test('client.disconnected while idle ends the actor; nothing is done after', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'client.disconnected' });
  t.is(actor.getSnapshot().status, 'done');
  actor.send({ type: 'request.received', exchange: exchange(1) });
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  t.deepEqual(ports.sent, []);
  t.deepEqual(ports.forwards, []);
});

test('the client leaving with nothing in flight stops the actor: no transition, nothing cancelled, nothing done after', async (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  await settle(ports.forwardAt(0), responded(request, upstreamResponse().response));
  finish(actor, request);
  clientLeft(actor);
  t.is(actor.getSnapshot().status, 'stopped');
  t.true(actor.getSnapshot().matches('open'), 'left where it was: xstate.stop takes no transition');
  t.deepEqual(ports.completed_, [request], 'the finished request logged once, not again as cancelled');
  t.is(request.outcome, 'proxied');
  actor.send({ type: 'request.received', exchange: exchange(2) });
  t.is(ports.forwards.length, 1, 'a stopped actor takes nothing more');
});

test('the client leaving with requests in flight is told to the actor, which cancels them (closed)', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), responded(request, upstreamResponse().response));
  const call = stubCall();
  request.upstreamCall = call;
  clientLeft(actor);
  t.is(actor.getSnapshot().status, 'done');
  t.true(actor.getSnapshot().matches('closed'));
  t.is(call.discarded, 1);
  t.is(request.outcome, 'client-closed');
  t.deepEqual(ports.completed_, [request]);
});

test('an action that throws stops the actor with its error, told to the error observer and never rethrown', (t) => {
  const bug = new Error('a filter with a bug');
  const throwing: RequestFilter = {
    name: 'buggy',
    check: () => {
      throw bug;
    },
  };
  const clock = new SimulatedClock();
  const ports = new FakePorts(false, ['u1'], clock, 1, [throwing]);
  const errors: unknown[] = [];
  const timeouts = { keepAliveMs: KEEP_ALIVE_MS, bodyIdleMs: BODY_IDLE_MS, sendMs: SEND_MS };
  const actor = startActor(connectionMachine, {
    input: { address: SELF, ports, client: new FakeClient(), timeouts },
    clock,
    onError: { error: (error) => errors.push(error) },
  });
  actor.send({ type: 'request.received', exchange: exchange(1) });
  t.deepEqual(errors, [bug]);
  t.is(actor.getSnapshot().status, 'error');
  t.deepEqual(ports.forwards, []);
  // The listener still ends it when the socket closes: a no-op on an actor already stopped.
  t.notThrows(() => clientLeft(actor));
});

test('the socket’s inactivity timer is armed at start, with the shorter of keep-alive and a quarter of the body and send timeouts', (t) => {
  const { client } = startConnection();
  t.deepEqual(client.armed, [SILENCE_MS]);
  t.is(silencePeriodMs({ keepAliveMs: 5_000, bodyIdleMs: 60_000, sendMs: 60_000 }), 5_000);
  t.is(silencePeriodMs({ keepAliveMs: 75_000, bodyIdleMs: 8_000, sendMs: 60_000 }), 2_000);
  t.is(silencePeriodMs({ keepAliveMs: 75_000, bodyIdleMs: 60_000, sendMs: 2_000 }), 500);
  t.is(silencePeriodMs({ keepAliveMs: 1, bodyIdleMs: 1, sendMs: 1 }), 10, 'never below 10 ms, however short the timeouts');
});

test('keep-alive timeout: an idle connection gone silent is closed once idle that long, not a moment before', (t) => {
  const { actor, clock, client } = startConnection();
  clock.increment(KEEP_ALIVE_MS - 1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 0);
  t.deepEqual(client.armed, [SILENCE_MS, SILENCE_MS], 'armed again');
  clock.increment(1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 1);
  t.true(actor.getSnapshot().matches('closing'));
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 1, 'closing: silence means nothing more');
  actor.send({ type: 'client.disconnected' });
  t.is(actor.getSnapshot().status, 'done');
});

test('keep-alive timeout: counted from the end of the last response, not from the connection', async (t) => {
  const { ports, actor, clock, client } = startConnection();
  clock.increment(KEEP_ALIVE_MS - 100);
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  clock.increment(KEEP_ALIVE_MS * 3);
  actor.send({ type: 'client.silent' }); // a slow upstream: busy, so not closed
  t.is(client.closed, 0);
  await settle(ports.forwardAt(0), responded(request, upstreamResponse().response));
  finish(actor, request);
  t.true(idle(actor));
  clock.increment(KEEP_ALIVE_MS - 1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 0);
  clock.increment(1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 1);
});

test('body timeout: a body waited on for the timeout fails as stalled and is answered 408, connection closed', async (t) => {
  const { ports, actor, clock, client } = startConnection();
  const body = stubBody(true);
  const request = exchange(1, { method: 'POST', body });
  actor.send({ type: 'request.received', exchange: request });
  body.awaitingClientSince = clock.now();
  clock.increment(BODY_IDLE_MS - 1);
  actor.send({ type: 'client.silent' });
  t.is(body.failure, null);
  clock.increment(SILENCE_MS);
  actor.send({ type: 'client.silent' }); // the next silence period after the timeout has passed
  t.is(body.failure, 'stalled');
  t.is(client.closed, 0, 'busy: the keep-alive rule does not apply');
  t.deepEqual(ports.responded, [], 'answered once the aborted upstream attempt settles');
  await settle(ports.forwardAt(0), failed(request, failure('request-body-failed', 'u1', false)));
  t.is(ports.forwards.length, 1, 'never retried');
  t.deepEqual(ports.responded, [{ exchange: request, status: 408, headers: { connection: 'close' } }]);
});

test('body timeout: a body that keeps receiving bytes, or waits on the upstream, is left alone', (t) => {
  const { actor, clock, client } = startConnection();
  const moving = stubBody(true);
  const backpressured = stubBody(true);
  actor.send({ type: 'request.received', exchange: exchange(1, { method: 'POST', body: moving }) });
  actor.send({ type: 'request.received', exchange: exchange(2, { method: 'POST', body: backpressured }) });
  for (let step = 0; step < 20; step++) {
    moving.awaitingClientSince = clock.now(); // a chunk arrived
    clock.increment(BODY_IDLE_MS / 2);
    actor.send({ type: 'client.silent' });
  }
  t.is(moving.failure, null);
  t.is(backpressured.failure, null, 'awaitingClientSince null: the balancer is not waiting on the client');
  t.is(client.armed.length, 21, 'armed at start and after every silence');
});

test('a body over the size limit is answered 413 and the connection closed', async (t) => {
  const { ports, actor } = startConnection();
  const body = stubBody(true);
  const request = exchange(1, { method: 'POST', body });
  actor.send({ type: 'request.received', exchange: request });
  body.failWith('too-large');
  await settle(ports.forwardAt(0), failed(request, failure('request-body-failed', 'u1', false)));
  t.deepEqual(ports.responded, [{ exchange: request, status: 413, headers: { connection: 'close' } }]);
});

test('request.malformed fails the body (aborting the upstream request), then 400 with the connection closed', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const body = stubBody(false);
  const request = exchange(1, { method: 'PUT', body });
  actor.send({ type: 'request.received', exchange: request });
  actor.send({ type: 'request.malformed', exchange: request });
  t.is(body.failure, 'malformed');
  await settle(ports.forwardAt(0), failed(request, failure('request-body-failed', 'u1', false)));
  t.is(ports.forwards.length, 1, 'not retried although no body byte was sent');
  t.deepEqual(ports.responded, [{ exchange: request, status: 400, headers: { connection: 'close' } }]);
});

/** A request filter that answers every request it sees with `outcome`, recording the ids it saw. */
function answeringFilter(outcome: 'uri-too-long' | 'method-not-allowed', seen: number[] = []): RequestFilter {
  return {
    name: `answers-${outcome}`,
    check: (request) => {
      seen.push(request.id);
      return { outcome, reason: 'scripted' };
    },
  };
}

/** A request filter that passes every request, recording the ids it saw. */
function passingFilter(seen: number[]): RequestFilter {
  return {
    name: 'passes',
    check: (request) => {
      seen.push(request.id);
      return null;
    },
  };
}

test('a head a filter rejects is answered with the outcome’s status, connection closed, never forwarded', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true, filters: [answeringFilter('uri-too-long')] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  t.deepEqual(ports.forwards, []);
  t.deepEqual(ports.sent, [], 'not even counted by the rate limiter, which comes later in the list');
  t.deepEqual(ports.responded, [{ exchange: request, status: 414, headers: { connection: 'close' } }]);
  t.is(request.outcome, 'uri-too-long');
  t.is(request.reason, 'scripted');
});

test('an answer that does not break framing keeps the connection open (405)', (t) => {
  const { ports, actor } = startConnection({ filters: [answeringFilter('method-not-allowed')] });
  actor.send({ type: 'request.received', exchange: exchange(1, { method: 'TRACE' }) });
  t.is(ports.responded[0]?.status, 405);
  t.is(ports.responded[0]?.headers, undefined);
});

test('request filters run in order; after a PENDING one the verdict resumes the list where it stopped', (t) => {
  const before: number[] = [];
  const after: number[] = [];
  const { ports, actor } = startConnection({ rateLimited: true, filters: [passingFilter(before)] });
  // The rate-limit filter is last in this pipeline; add one after it to see the list resume.
  (ports.pipeline.requestFilters as RequestFilter[]).push(passingFilter(after));
  actor.send({ type: 'request.received', exchange: exchange(1) });
  t.deepEqual(before, [1]);
  t.deepEqual(after, [], 'not run while the verdict is pending');
  t.is(ports.forwards.length, 0);
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  t.deepEqual(after, [1]);
  t.is(ports.forwards.length, 1);
  t.deepEqual(before, [1], 'the filters before the pending one are not run again');
});

test('a second verdict for the same request is ignored: one request, one dispatch', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'request.received', exchange: exchange(1) });
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  actor.send({ type: 'request.verdict', requestId: 1, answer: { outcome: 'rate-limited' } });
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.responded, []);
});

test('a request keeps the pipeline it started with when the settings change', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const first = exchange(1);
  actor.send({ type: 'request.received', exchange: first });
  const seen: number[] = [];
  // A reload replaces the ports' pipeline: the waiting request resumes in its own.
  (ports as { pipeline: Pipeline }).pipeline = { ...ports.pipeline, requestFilters: [passingFilter(seen)] };
  actor.send({ type: 'request.verdict', requestId: 1, answer: null });
  t.is(ports.forwards.length, 1);
  t.deepEqual(seen, []);
  actor.send({ type: 'request.received', exchange: exchange(2) });
  t.deepEqual(seen, [2], 'a new request gets the new pipeline');
});

test('--retries 0: a reset is answered with 502, not resent', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'], retries: 0 });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
  t.is(request.outcome, 'upstream-reset');
});

test('resends are bounded by --retries, each to an upstream not tried yet', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2', 'u3'], retries: 1 });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  t.is(ports.forwardAt(1).upstreamId, 'u2');
  await settle(ports.forwardAt(1), failed(request, failure('upstream-reset', 'u2', false)));
  t.is(ports.forwards.length, 2, 'the one retry is used up: u3 is not tried');
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
  t.is(request.retries, 1);
});

test('with --retries 2, a request is resent twice', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2', 'u3'], retries: 2 });
  const request = exchange(1, { method: 'HEAD' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  await settle(ports.forwardAt(1), failed(request, failure('upstream-protocol-error', 'u2', false)));
  t.deepEqual(
    ports.forwards.map((call) => call.upstreamId),
    ['u1', 'u2', 'u3'],
  );
  t.deepEqual(ports.responded, []);
});

test('a resend with no untried upstream left answers with the failure, not "no live upstream"', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1'], retries: 1 });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-reset', 'u1', false)));
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
  t.is(request.outcome, 'upstream-reset');
});

test('connect failures fail over without using up --retries', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2', 'u3'], retries: 0 });
  const request = exchange(1, { method: 'POST', body: stubBody() });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-refused', 'u1', true)));
  await settle(ports.forwardAt(1), failed(request, failure('upstream-connect-timeout', 'u2', true)));
  t.is(ports.forwardAt(2).upstreamId, 'u3');
  t.is(request.retries, 0);
  t.deepEqual(ports.responded, []);
});

test('after a fail-over, a reset may still be resent once', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2', 'u3'], retries: 1 });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-refused', 'u1', true)));
  await settle(ports.forwardAt(1), failed(request, failure('upstream-reset', 'u2', false)));
  t.is(ports.forwardAt(2).upstreamId, 'u3');
});

test('garbage instead of a response head is reported as misbehaviour and resent for an idempotent request', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-protocol-error', 'u1', false, 'HPE_INVALID_CONSTANT: Expected HTTP/')));
  t.deepEqual(ports.sent, [
    {
      to: 'p/upstream/u1',
      message: { type: 'upstream.misbehaved', upstreamId: 'u1', reason: 'HPE_INVALID_CONSTANT: Expected HTTP/' },
    },
  ]);
  t.is(ports.forwardAt(1).upstreamId, 'u2');
});

test('garbage for a POST is reported and answered with 502', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'] });
  const request = exchange(1, { method: 'POST' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-protocol-error', 'u1', false)));
  t.deepEqual(
    ports.sent.map(({ message }) => message.type),
    ['upstream.misbehaved'],
  );
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
});

test('a response timeout is not resent and not reported, even for an idempotent request', async (t) => {
  const { ports, actor } = startConnection({ live: ['u1', 'u2'], retries: 3 });
  const request = exchange(1, { method: 'GET' });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-response-timeout', 'u1', false)));
  t.is(ports.forwards.length, 1);
  t.deepEqual(ports.sent, []);
  t.deepEqual(ports.responded, [{ exchange: request, status: 504, headers: undefined }]);
});

test('after an answer that closes the connection, requests pipelined behind it are dropped, never forwarded', (t) => {
  const { ports, actor } = startConnection({ filters: [answeringFilter('uri-too-long')] });
  const rejected = exchange(1);
  actor.send({ type: 'request.received', exchange: rejected });
  (ports.pipeline.requestFilters as RequestFilter[]).length = 0;
  const behind = exchange(2);
  actor.send({ type: 'request.received', exchange: behind });
  t.deepEqual(ports.forwards, []);
  t.deepEqual(ports.dropped, [behind]);
  t.deepEqual(ports.responded.map((each) => each.status), [414]);
});

test('send timeout: an answer of our own that the client does not take is cut too', (t) => {
  const { actor, clock, client } = startConnection({ filters: [answeringFilter('method-not-allowed')] });
  const refused = exchange(1, { method: 'TRACE' });
  actor.send({ type: 'request.received', exchange: refused });
  clock.increment(SEND_MS - 1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 0, 'not a moment before');
  clock.increment(1);
  actor.send({ type: 'client.silent' });
  t.is(client.closed, 1, 'its 405 still unfinished after the send timeout: the client is not reading');
});

test('a filter that answers with a LocalResponse (a stored response) is served as a cache hit, never forwarded', (t) => {
  const stored: LocalResponse = { status: 200, headers: ['age', '3', 'cache-status', 'balancebeam; hit'], body: Buffer.from('stored') };
  const { ports, actor } = startConnection({ filters: [{ name: 'serves', check: () => stored }] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  t.deepEqual(ports.forwards, []);
  t.deepEqual(ports.served, [{ exchange: request, response: stored }]);
  t.is(request.outcome, 'cache-hit');
});

test("a failure to reach any upstream is answered by the request's fallback when it offers one (stale-if-error), else 502", async (t) => {
  const stale: LocalResponse = { status: 200, headers: [], body: Buffer.from('stale') };
  const { ports, actor } = startConnection({ live: ['u1'], filters: [{ name: 'offers', check: (request) => ((request.fallback = { responseForFailure: () => stale }), null) }] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('upstream-refused', 'u1', true)));
  t.deepEqual(ports.served, [{ exchange: request, response: stale }]);
  t.deepEqual(ports.responded, []);
  t.is(request.outcome, 'cache-hit');
  t.is(request.reason, 'no-live-upstream');
  const nothing = startConnection({ live: ['u1'], filters: [{ name: 'offers-nothing', check: (r) => ((r.fallback = { responseForFailure: () => null }), null) }] });
  const other = exchange(2);
  nothing.actor.send({ type: 'request.received', exchange: other });
  await settle(nothing.ports.forwardAt(0), failed(other, failure('upstream-refused', 'u1', true)));
  t.is(nothing.ports.responded[0]?.status, 502);
});
