/**
 * The connection actor, driven alone: scripted request, verdict and upstream
 * events in; what it asks of its ports (choose, forward, relay, respond) and
 * what it sends through the router, recorded. No sockets: exchanges carry stub
 * request and response objects, and `forward` returns a promise the test settles.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import test from 'ava';
import { connectionMachine, type ConnectionPorts } from '../../src/actors/connection.js';
import { startActor } from '../../src/actors/inspection.js';
import { MailboxRouter } from '../../src/actors/router.js';
import type { Address, RoutedMessage, UpstreamFailed, UpstreamResponded } from '../../src/protocol/index.js';
import { Exchange, type ProxyFailure, type ProxyFailureKind, type UpstreamResponse } from '../../src/proxy/exchange.js';
import type { ForwardOutcome } from '../../src/proxy/forward.js';
import type { DeferredRequestBody } from '../../src/proxy/request-body.js';

const SELF: Address = 'p/conn/x';
const CLIENT_IP = '10.0.0.7';

interface ForwardCall {
  readonly exchange: Exchange;
  readonly upstreamId: string;
  readonly promise: Promise<ForwardOutcome>;
  readonly settle: (outcome: ForwardOutcome) => void;
}

interface Responded {
  readonly exchange: Exchange;
  readonly status: number;
  readonly headers: Record<string, string | number> | undefined;
}

/** Ports that record every call; `live` is the balancer's answer (first live id not yet tried). */
class FakePorts implements ConnectionPorts {
  readonly router = new MailboxRouter('p');
  readonly chooseCalls: string[][] = [];
  readonly forwards: ForwardCall[] = [];
  readonly relayed: { exchange: Exchange; response: UpstreamResponse }[] = [];
  readonly responded: Responded[] = [];
  readonly completed_: Exchange[] = [];
  /** Everything sent to mailboxes in the primary: the rate limiter and the upstream actors. */
  readonly sent: { to: Address; message: RoutedMessage }[] = [];

  constructor(
    readonly rateLimited: boolean,
    public live: string[],
  ) {
    for (const name of ['rate-limiter', 'upstream/u1', 'upstream/u2', 'upstream/u3']) {
      const to: Address = `p/${name}`;
      this.router.register(name, { send: (message: RoutedMessage) => this.sent.push({ to, message }) });
    }
  }

  chooseUpstream(exclude: readonly string[]): string | undefined {
    this.chooseCalls.push([...exclude]);
    return this.live.find((id) => !exclude.includes(id));
  }

  forward(exchange: Exchange, upstreamId: string): Promise<ForwardOutcome> {
    let settle: (outcome: ForwardOutcome) => void = () => undefined;
    const promise = new Promise<ForwardOutcome>((resolve) => {
      settle = resolve;
    });
    this.forwards.push({ exchange, upstreamId, promise, settle });
    return promise;
  }

  relay(exchange: Exchange, response: UpstreamResponse): void {
    this.relayed.push({ exchange, response });
  }

  respond(exchange: Exchange, status: number, headers?: Record<string, string | number>): void {
    this.responded.push({ exchange, status, headers });
  }

  completed(exchange: Exchange): void {
    this.completed_.push(exchange);
  }

  forwardAt(index: number): ForwardCall {
    const call = this.forwards[index];
    if (call === undefined) throw new Error(`no forward #${index} (${this.forwards.length} so far)`);
    return call;
  }
}

function startConnection(options: { rateLimited?: boolean; live?: string[] } = {}) {
  const ports = new FakePorts(options.rateLimited ?? false, options.live ?? ['u1', 'u2']);
  const actor = startActor(connectionMachine, { input: { address: SELF, ports } });
  return { ports, actor };
}

interface StubBody {
  started: boolean;
  readonly replays: StubBody[];
}

function stubBody(started = false): StubBody & DeferredRequestBody {
  const body = {
    started,
    replays: [] as StubBody[],
    replay(): StubBody {
      const fresh = stubBody();
      body.replays.push(fresh);
      return fresh;
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
  const body = {
    on() {
      return body;
    },
    destroy: () => {
      destroyed = true;
    },
  };
  return { response: { statusCode: 200, headers: {}, body } as unknown as UpstreamResponse, destroyed: () => destroyed };
}

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

const failed = (forExchange: Exchange, proxyFailure: ProxyFailure): UpstreamFailed => ({
  type: 'upstream.failed',
  exchange: forExchange,
  failure: proxyFailure,
});

/** Settle a forward and let the actor see the outcome (its `.then` runs before this await returns). */
async function settle(call: ForwardCall, outcome: ForwardOutcome): Promise<void> {
  call.settle(outcome);
  await call.promise;
  await Promise.resolve();
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
  t.true(actor.getSnapshot().matches('busy'));

  const { response } = upstreamResponse();
  await settle(ports.forwardAt(0), responded(first, response));
  t.deepEqual(ports.relayed, [{ exchange: first, response }]);
  t.deepEqual(ports.responded, []);
});

test('states go idle → busy → idle when the response finishes', async (t) => {
  const { ports, actor } = startConnection();
  t.true(actor.getSnapshot().matches('idle'));
  const first = exchange(1);
  actor.send({ type: 'request.received', exchange: first });
  t.true(actor.getSnapshot().matches('busy'));
  await settle(ports.forwardAt(0), responded(first, upstreamResponse().response));
  t.true(actor.getSnapshot().matches('busy'), 'busy while the response streams');
  actor.send({ type: 'response.finished', exchange: first });
  t.true(actor.getSnapshot().matches('idle'));
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
  actor.send({ type: 'response.finished', exchange: first });
  t.true(actor.getSnapshot().matches('busy'));
  actor.send({ type: 'response.finished', exchange: first });
  t.true(actor.getSnapshot().matches('busy'), 'a repeated finish of the same exchange does not end the second one');
  actor.send({ type: 'response.finished', exchange: second });
  t.true(actor.getSnapshot().matches('idle'));
  t.deepEqual(ports.completed_, [first, second], 'each exchange completed exactly once');
});

test('with rate limiting, the limiter is asked first, with this connection as the reply address', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'request.received', exchange: exchange(7) });
  t.deepEqual(ports.sent, [
    {
      to: 'p/rate-limiter',
      message: { type: 'rate-limit.check', requestId: 7, clientIp: CLIENT_IP, replyTo: SELF },
    },
  ]);
  t.deepEqual(ports.chooseCalls, [], 'nothing is chosen before the verdict');
  t.deepEqual(ports.forwards, []);
});

test('a denied verdict is answered with 429 and Retry-After, and nothing is forwarded', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const limited = exchange(1);
  actor.send({ type: 'request.received', exchange: limited });
  actor.send({ type: 'rate-limit.verdict', requestId: 1, allowed: false, retryAfterSeconds: 12 });
  t.deepEqual(ports.responded, [{ exchange: limited, status: 429, headers: { 'retry-after': 12 } }]);
  t.is(limited.outcome, 'rate limited');
  t.deepEqual(ports.forwards, []);
  actor.send({ type: 'response.finished', exchange: limited });
  t.true(actor.getSnapshot().matches('idle'));
});

test('an allowed verdict forwards the request it names', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  const first = exchange(1);
  const second = exchange(2);
  actor.send({ type: 'request.received', exchange: first });
  actor.send({ type: 'request.received', exchange: second });
  actor.send({ type: 'rate-limit.verdict', requestId: 2, allowed: true, retryAfterSeconds: 0 });
  t.is(ports.forwards.length, 1);
  t.is(ports.forwardAt(0).exchange, second);
  actor.send({ type: 'rate-limit.verdict', requestId: 1, allowed: true, retryAfterSeconds: 0 });
  t.is(ports.forwardAt(1).exchange, first);
});

test('a verdict for a request this connection does not have is ignored', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'request.received', exchange: exchange(1) });
  actor.send({ type: 'rate-limit.verdict', requestId: 99, allowed: true, retryAfterSeconds: 0 });
  actor.send({ type: 'rate-limit.verdict', requestId: 98, allowed: false, retryAfterSeconds: 3 });
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
  t.is(request.outcome, 'no live upstream');
});

test('with no live upstream at all, the client gets 502 without any attempt', (t) => {
  const { ports, actor } = startConnection({ live: [] });
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  t.deepEqual(ports.forwards, []);
  t.deepEqual(ports.responded, [{ exchange: request, status: 502, headers: undefined }]);
  t.is(request.outcome, 'no live upstream');
  actor.send({ type: 'response.finished', exchange: request });
  t.true(actor.getSnapshot().matches('idle'));
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

test('a failed request body is answered with 400', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1, { method: 'POST', body: stubBody(true) });
  actor.send({ type: 'request.received', exchange: request });
  await settle(ports.forwardAt(0), failed(request, failure('request-body-failed', 'u1', false)));
  t.deepEqual(ports.responded, [{ exchange: request, status: 400, headers: undefined }]);
});

test('a response for an exchange that has already finished is released, not relayed', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  actor.send({ type: 'response.finished', exchange: request }); // the client gave up on it
  const late = upstreamResponse();
  await settle(ports.forwardAt(0), responded(request, late.response));
  t.deepEqual(ports.relayed, []);
  t.true(late.destroyed());
});

test('a connect failure of a finished exchange is still reported, but not retried', async (t) => {
  const { ports, actor } = startConnection();
  const request = exchange(1);
  actor.send({ type: 'request.received', exchange: request });
  actor.send({ type: 'response.finished', exchange: request });
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
  t.deepEqual(ports.completed_, []);
});

test('client.disconnected while idle ends the actor; nothing is done after', (t) => {
  const { ports, actor } = startConnection({ rateLimited: true });
  actor.send({ type: 'client.disconnected' });
  t.is(actor.getSnapshot().status, 'done');
  actor.send({ type: 'request.received', exchange: exchange(1) });
  actor.send({ type: 'rate-limit.verdict', requestId: 1, allowed: true, retryAfterSeconds: 0 });
  t.deepEqual(ports.sent, []);
  t.deepEqual(ports.forwards, []);
});
