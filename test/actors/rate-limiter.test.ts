/**
 * The rate limiter actor, driven alone: `rate-limit.check` messages in,
 * `request.verdict`s out to recording mailboxes, time on a SimulatedClock.
 */
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { startActor } from '../../src/actors/inspection.js';
import { rateLimiterMachine } from '../../src/actors/rate-limiter.js';
import { MailboxRouter } from '../../src/actors/router.js';
import { RATE_LIMITER, type Address, type RoutedMessage } from '../../src/protocol/index.js';
import type { RateLimitPolicy } from '../../src/rate-limit/window-counter.js';

const CONNECTION: Address = 'p/conn/a';

/** A verdict as these tests read it: admitted or not, and the Retry-After of a 429. */
interface Decision {
  readonly requestId: number;
  readonly allowed: boolean;
  readonly retryAfterSeconds: number;
}

function startLimiter(policy: RateLimitPolicy, initial: RateLimitPolicy | null = policy) {
  const clock = new SimulatedClock();
  const router = new MailboxRouter('p');
  const inbox: RoutedMessage[] = [];
  router.register('conn/a', { send: (message: RoutedMessage) => inbox.push(message) });
  const actor = startActor(rateLimiterMachine, { input: { policy: initial, router, now: () => clock.now() }, clock });
  router.register('rate-limiter', actor);
  let nextRequestId = 1;
  /** One request from `clientIp`, checked through the router as a connection would; returns its verdict. */
  const check = (clientIp = '10.0.0.1'): Decision => {
    const requestId = nextRequestId++;
    router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId, clientIp, replyTo: CONNECTION });
    const replies = inbox.splice(0);
    const verdict = replies[0];
    if (replies.length !== 1 || verdict?.type !== 'request.verdict' || verdict.requestId !== requestId) {
      throw new Error(`expected one verdict for request ${requestId}, got ${JSON.stringify(replies)}`);
    }
    if (verdict.answer === null) return { requestId, allowed: true, retryAfterSeconds: 0 };
    if (verdict.answer.outcome !== 'rate-limited') throw new Error(`unexpected answer ${JSON.stringify(verdict.answer)}`);
    return { requestId, allowed: false, retryAfterSeconds: Number(verdict.answer.headers?.['retry-after']) };
  };
  /** How many of `count` requests from `clientIp` are admitted now. */
  const admitted = (count: number, clientIp = '10.0.0.1'): number => {
    let allowed = 0;
    for (let i = 0; i < count; i++) if (check(clientIp).allowed) allowed++;
    return allowed;
  };
  /** Advance time in sweep-sized steps, so every periodic sweep runs at its own moment. */
  const advance = (ms: number): void => {
    const step = policy.windowMs;
    for (let left = ms; left > 0; left -= step) clock.increment(Math.min(step, left));
  };
  const trackedClients = (): number => actor.getSnapshot().context.counter.trackedClients;
  return { clock, router, actor, inbox, check, admitted, advance, trackedClients };
}

test('a verdict answers the check it was asked for, at the reply address', (t) => {
  const { router, inbox } = startLimiter({ algorithm: 'fixed-window', limit: 5, windowMs: 1_000 });
  const other: RoutedMessage[] = [];
  router.register('conn/b', { send: (message: RoutedMessage) => other.push(message) });
  router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId: 41, clientIp: '10.0.0.1', replyTo: 'p/conn/b' });
  t.deepEqual(inbox, []);
  t.deepEqual(other, [{ type: 'request.verdict', requestId: 41, answer: null }]);
});

test('fixed window: the limit is admitted, the next is rejected with a retry-after, the next window admits again', (t) => {
  const { check, admitted, advance } = startLimiter({ algorithm: 'fixed-window', limit: 3, windowMs: 10_000 });
  t.is(admitted(3), 3);
  advance(2_500);
  t.deepEqual(check(), { requestId: 4, allowed: false, retryAfterSeconds: 8 });
  advance(7_499);
  const late = check();
  t.false(late.allowed);
  t.is(late.retryAfterSeconds, 1, 'never 0 while rejecting');
  advance(1);
  t.is(admitted(4), 3, 'a fresh window of 3');
});

test('fixed window: the window is anchored at the client’s first request', (t) => {
  const { admitted, advance } = startLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1_000 });
  advance(300);
  t.is(admitted(1), 1);
  advance(999);
  t.is(admitted(1), 0, 'the window began at 300, not at 0');
  advance(1);
  t.is(admitted(1), 1);
});

test('sliding window: the previous window counts in proportion to its overlap', (t) => {
  const { check, admitted, advance } = startLimiter({ algorithm: 'sliding-window', limit: 10, windowMs: 60_000 });
  t.is(admitted(10), 10);
  t.false(check().allowed);
  advance(90_000); // half way through the second window
  t.is(admitted(5), 5, '10 × 50% = 5 still count');
  const rejected = check();
  t.false(rejected.allowed);
  // 10 × (1 − t) + 5 + 1 ≤ 10 once t ≥ 60%: 6 s from now.
  t.is(rejected.retryAfterSeconds, 6);
  advance(5_999);
  t.false(check().allowed);
  advance(1);
  t.true(check().allowed);
});

test('sliding window: a burst at the end of one window does not buy a full window at the start of the next', (t) => {
  const sliding = startLimiter({ algorithm: 'sliding-window', limit: 10, windowMs: 1_000 });
  const fixed = startLimiter({ algorithm: 'fixed-window', limit: 10, windowMs: 1_000 });
  for (const limiter of [sliding, fixed]) {
    limiter.admitted(1); // anchors the window at 0
    limiter.advance(900);
    limiter.admitted(9);
    limiter.advance(200); // 100 ms into the next window
  }
  t.is(fixed.admitted(10), 10, 'fixed windows reset at the boundary');
  t.is(sliding.admitted(10), 1, '10 × 90% = 9 still count');
});

test('sliding window: after two idle windows nothing of the past counts', (t) => {
  const { admitted, advance } = startLimiter({ algorithm: 'sliding-window', limit: 4, windowMs: 1_000 });
  t.is(admitted(4), 4);
  advance(2_000);
  t.is(admitted(5), 4);
});

test('clients are counted separately', (t) => {
  for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
    const { admitted } = startLimiter({ algorithm, limit: 2, windowMs: 1_000 });
    t.is(admitted(3, '10.0.0.1'), 2, algorithm);
    t.is(admitted(3, '10.0.0.2'), 2, algorithm);
    t.is(admitted(1, '::1'), 1, algorithm);
    t.is(admitted(1, '10.0.0.1'), 0, algorithm);
  }
});

test('idle clients are forgotten by the periodic sweep; active ones are kept', (t) => {
  const { admitted, advance, trackedClients } = startLimiter({
    algorithm: 'sliding-window',
    limit: 10,
    windowMs: 1_000,
  });
  admitted(1, '10.0.0.1');
  admitted(1, '10.0.0.2');
  t.is(trackedClients(), 2);
  advance(1_000);
  t.is(trackedClients(), 2, 'the previous window still counts for both');
  admitted(1, '10.0.0.2');
  advance(1_000);
  t.is(trackedClients(), 1, 'the client idle for two windows is gone');
  advance(1_000);
  t.is(trackedClients(), 0);
});

test('a forgotten client starts afresh', (t) => {
  const { admitted, advance, trackedClients } = startLimiter({ algorithm: 'fixed-window', limit: 2, windowMs: 1_000 });
  t.is(admitted(2), 2);
  advance(2_000);
  t.is(trackedClients(), 0);
  t.is(admitted(3), 2);
});

test('reconfigure: a new limit keeps the counts (a reload buys nobody a fresh window)', (t) => {
  const { admitted, router } = startLimiter({ algorithm: 'fixed-window', limit: 3, windowMs: 60_000 });
  t.is(admitted(3), 3);
  router.send(RATE_LIMITER, { type: 'rate-limit.reconfigure', policy: { algorithm: 'fixed-window', limit: 5, windowMs: 60_000 } });
  t.is(admitted(5), 2, 'two more up to the new limit');
  router.send(RATE_LIMITER, { type: 'rate-limit.reconfigure', policy: { algorithm: 'fixed-window', limit: 2, windowMs: 60_000 } });
  t.is(admitted(1), 0, 'a lower limit applies at once');
});

test('reconfigure: a new window length or algorithm starts the counts afresh, and the sweep follows the new window', (t) => {
  const { admitted, router, advance, trackedClients } = startLimiter({ algorithm: 'fixed-window', limit: 2, windowMs: 60_000 });
  t.is(admitted(3), 2);
  router.send(RATE_LIMITER, { type: 'rate-limit.reconfigure', policy: { algorithm: 'fixed-window', limit: 2, windowMs: 1_000 } });
  t.is(admitted(3), 2, 'fresh counts in the new window');
  advance(2_000);
  t.is(trackedClients(), 0, 'idle clients swept on the new, shorter window');
});

test('reconfigure to off passes every check; back on, limiting resumes', (t) => {
  const policy: RateLimitPolicy = { algorithm: 'fixed-window', limit: 1, windowMs: 60_000 };
  const { admitted, router } = startLimiter(policy);
  t.is(admitted(2), 1);
  router.send(RATE_LIMITER, { type: 'rate-limit.reconfigure', policy: null });
  t.is(admitted(10), 10);
  router.send(RATE_LIMITER, { type: 'rate-limit.reconfigure', policy });
  t.is(admitted(2), 0, 'the counts from before are still there');
});

test('started with limiting off, every check passes', (t) => {
  const { admitted } = startLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1_000 }, null);
  t.is(admitted(50), 50);
});

test('120,000 client IPs are all forgotten once idle for two windows; a client still active is kept', (t) => {
  const { check, admitted, advance, trackedClients, inbox } = startLimiter({ algorithm: 'sliding-window', limit: 5, windowMs: 60_000 });
  const clients = 120_000;
  for (let i = 0; i < clients; i++) {
    // 10.0.0.0 – 10.1.212.191: distinct addresses, as many as the exercise sent.
    const verdict = check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (!verdict.allowed) t.fail(`client ${i} was limited on its first request`);
  }
  t.is(trackedClients(), clients);
  t.is(admitted(1, '192.0.2.1'), 1);
  advance(60_000);
  t.is(trackedClients(), clients + 1, 'after one window the previous one still counts for everyone');
  t.is(admitted(1, '192.0.2.1'), 1);
  advance(60_000);
  t.is(trackedClients(), 1, 'after two idle windows only the active client is left');
  advance(120_000);
  t.is(trackedClients(), 0);
  t.is(inbox.length, 0);
});
