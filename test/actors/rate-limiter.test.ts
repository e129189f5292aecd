/**
 * The rate limiter actor (the memory store), driven alone: `rate-limit.check`
 * messages in, `request.verdict`s out to recording mailboxes, time on a
 * SimulatedClock. Each check carries its limit, as the pipeline's filter sends it.
 */
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { startActor } from '../../src/actors/inspection.js';
import { rateLimiterMachine, SWEEP_INTERVAL_MS } from '../../src/actors/rate-limiter.js';
import { MailboxRouter } from '../../src/actors/router.js';
import { RATE_LIMITER, type Address, type BruteForcePolicy, type LimitCheck, type RateLimitSettings, type RoutedMessage } from '../../src/protocol/index.js';

const CONNECTION: Address = 'p/conn/a';

/** A verdict as these tests read it: admitted or not, and the Retry-After of a 429. */
interface Decision {
  readonly requestId: number;
  readonly allowed: boolean;
  readonly retryAfterSeconds: number;
}

function startLimiter(initial: RateLimitSettings) {
  let policy = initial;
  const clock = new SimulatedClock();
  const router = new MailboxRouter('p');
  const inbox: RoutedMessage[] = [];
  router.register('conn/a', { send: (message: RoutedMessage) => inbox.push(message) });
  const actor = startActor(rateLimiterMachine, { input: { router, now: () => clock.now() }, clock });
  router.register('rate-limiter', actor);
  let nextRequestId = 1;
  const checksOf = (clientIp: string): LimitCheck[] => [{ rule: 'default', key: clientIp, limit: policy }];
  /** The verdict for one request with these checks (default: the policy's, from `clientIp`). */
  const verdictFor = (checks: readonly LimitCheck[], headersWhenAllowed = false) => {
    const requestId = nextRequestId++;
    router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId, checks, headersWhenAllowed, replyTo: CONNECTION });
    const replies = inbox.splice(0);
    const verdict = replies[0];
    if (replies.length !== 1 || verdict?.type !== 'request.verdict' || verdict.requestId !== requestId) {
      throw new Error(`expected one verdict for request ${requestId}, got ${JSON.stringify(replies)}`);
    }
    return verdict;
  };
  /** One request from `clientIp`, checked through the router as a connection would; returns its verdict. */
  const check = (clientIp = '10.0.0.1'): Decision => {
    const verdict = verdictFor(checksOf(clientIp));
    const requestId = verdict.requestId;
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
  /** Advance time in steps no longer than a window, so every periodic sweep runs at its own moment. */
  const advance = (ms: number): void => {
    const step = Math.min(policy.windowMs, SWEEP_INTERVAL_MS);
    for (let left = ms; left > 0; left -= step) clock.increment(Math.min(step, left));
  };
  const setPolicy = (next: RateLimitSettings): void => {
    policy = next;
  };
  const trackedClients = (): number => actor.getSnapshot().context.engine.trackedKeys;
  const loginFailed = (key: string, failurePolicy: BruteForcePolicy): void => router.send(RATE_LIMITER, { type: 'rate-limit.login-failed', key, policy: failurePolicy });
  return { clock, router, actor, inbox, check, admitted, advance, trackedClients, setPolicy, verdictFor, loginFailed };
}

test('a verdict answers the check it was asked for, at the reply address', (t) => {
  const { router, inbox } = startLimiter({ algorithm: 'fixed-window', limit: 5, windowMs: 1_000 });
  const other: RoutedMessage[] = [];
  router.register('conn/b', { send: (message: RoutedMessage) => other.push(message) });
  router.send(RATE_LIMITER, {
    type: 'rate-limit.check',
    requestId: 41,
    checks: [{ rule: 'default', key: '10.0.0.1', limit: { algorithm: 'fixed-window', limit: 5, windowMs: 1_000 } }],
    headersWhenAllowed: false,
    replyTo: 'p/conn/b',
  });
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

test('expired clients are forgotten by the periodic sweep; active ones are kept', (t) => {
  const { admitted, advance, trackedClients } = startLimiter({ algorithm: 'sliding-window', limit: 10, windowMs: 4_000 });
  admitted(1, '10.0.0.1');
  admitted(1, '10.0.0.2');
  t.is(trackedClients(), 2);
  advance(4_000);
  admitted(1, '10.0.0.2');
  advance(SWEEP_INTERVAL_MS - 4_000);
  t.is(trackedClients(), 1, 'the client idle for two windows is gone at the sweep');
  advance(SWEEP_INTERVAL_MS);
  t.is(trackedClients(), 0);
});

test('a forgotten client starts afresh', (t) => {
  const { admitted, advance, trackedClients } = startLimiter({ algorithm: 'fixed-window', limit: 2, windowMs: 1_000 });
  t.is(admitted(2), 2);
  advance(SWEEP_INTERVAL_MS);
  t.is(trackedClients(), 0);
  t.is(admitted(3), 2);
});

test('a new limit (a reload) keeps the counts: nobody gets a fresh window out of it', (t) => {
  const { admitted, setPolicy } = startLimiter({ algorithm: 'fixed-window', limit: 3, windowMs: 60_000 });
  t.is(admitted(3), 3);
  setPolicy({ algorithm: 'fixed-window', limit: 5, windowMs: 60_000 });
  t.is(admitted(5), 2, 'two more up to the new limit');
  setPolicy({ algorithm: 'fixed-window', limit: 2, windowMs: 60_000 });
  t.is(admitted(1), 0, 'a lower limit applies at once');
});

test('a new algorithm starts the counts afresh', (t) => {
  const { admitted, setPolicy } = startLimiter({ algorithm: 'fixed-window', limit: 2, windowMs: 60_000 });
  t.is(admitted(3), 2);
  setPolicy({ algorithm: 'sliding-window', limit: 2, windowMs: 60_000 });
  t.is(admitted(3), 2);
});

test('gcra: a burst at once, then one per emission interval, with an exact Retry-After', (t) => {
  // 10 per 10 s: one every second; a burst of 3.
  const { check, admitted, advance } = startLimiter({ algorithm: 'gcra', limit: 10, windowMs: 10_000, burst: 3 });
  t.is(admitted(3), 3, 'the burst');
  t.deepEqual(check(), { requestId: 4, allowed: false, retryAfterSeconds: 1 });
  advance(999);
  t.false(check().allowed, 'one ms short of the emission interval');
  advance(1);
  t.true(check().allowed, 'exactly one interval later');
  t.false(check().allowed);
  advance(3_000);
  t.is(admitted(5), 3, 'idle for three intervals refills the burst, no more');
});

test('gcra: Retry-After is the wait until the theoretical arrival time leaves room', (t) => {
  // 2 per minute: one every 30 s, burst 1.
  const { check, advance } = startLimiter({ algorithm: 'gcra', limit: 2, windowMs: 60_000, burst: 1 });
  t.true(check().allowed);
  advance(10_000);
  t.is(check().retryAfterSeconds, 20);
  advance(19_001);
  t.is(check().retryAfterSeconds, 1, 'rounded up, never 0');
  advance(999);
  t.true(check().allowed);
});

test('gcra: a burst of 0 means the limit', (t) => {
  const { admitted } = startLimiter({ algorithm: 'gcra', limit: 5, windowMs: 60_000 });
  t.is(admitted(7), 5);
});

test('several checks: admitted only if each admits, and then counted against each', (t) => {
  const { verdictFor } = startLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1_000 });
  const wide = { algorithm: 'fixed-window', limit: 3, windowMs: 60_000 } as const;
  const login = { algorithm: 'fixed-window', limit: 1, windowMs: 60_000 } as const;
  const both: LimitCheck[] = [
    { rule: 'default', key: '10.0.0.1', limit: wide },
    { rule: 'login', key: '10.0.0.1', limit: login },
  ];
  t.is(verdictFor(both).answer, null);
  const denied = verdictFor(both);
  t.is(denied.answer?.outcome, 'rate-limited');
  t.deepEqual(denied.answer?.headers, {
    'retry-after': 60,
    'ratelimit-policy': '"default";q=3;w=60, "login";q=1;w=60',
    ratelimit: '"default";r=1;t=60, "login";r=0;t=60',
  });
  // The denied request was not counted against the wide limit: two more fit.
  const wideOnly: LimitCheck[] = [{ rule: 'default', key: '10.0.0.1', limit: wide }];
  t.is(verdictFor(wideOnly).answer, null);
  t.is(verdictFor(wideOnly).answer, null);
  t.not(verdictFor(wideOnly).answer, null);
});

test('RateLimit fields on an admitted request when asked', (t) => {
  const { verdictFor } = startLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1_000 });
  const checks: LimitCheck[] = [{ rule: 'default', key: '10.0.0.1', limit: { algorithm: 'fixed-window', limit: 5, windowMs: 60_000 } }];
  t.deepEqual(verdictFor(checks, true), {
    type: 'request.verdict',
    requestId: 1,
    answer: null,
    headers: { 'ratelimit-policy': '"default";q=5;w=60', ratelimit: '"default";r=4;t=60' },
  });
});

test('brute force: failures up to the threshold lock the client out, and the lock-out doubles on repeat', (t) => {
  const { verdictFor, loginFailed, advance } = startLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1_000 });
  const policy: BruteForcePolicy = { maxFailures: 3, windowMs: 60_000, lockoutMs: 10_000, maxLockoutMs: 640_000 };
  const lockCheck: LimitCheck[] = [{ rule: 'login', key: '10.0.0.1', limit: null }];
  loginFailed('10.0.0.1', policy);
  loginFailed('10.0.0.1', policy);
  t.is(verdictFor(lockCheck).answer, null, 'two failures: not yet');
  loginFailed('10.0.0.1', policy);
  const locked = verdictFor(lockCheck).answer;
  t.is(locked?.outcome, 'rate-limited');
  t.is(locked?.headers?.['retry-after'], 10);
  t.is(locked?.reason, 'locked out after failed logins');
  t.is(verdictFor([{ rule: 'login', key: '10.0.0.2', limit: null }]).answer, null, 'another client is not locked');
  advance(10_000);
  t.is(verdictFor(lockCheck).answer, null, 'the lock-out is over');
  for (let i = 0; i < 3; i++) loginFailed('10.0.0.1', policy);
  t.is(verdictFor(lockCheck).answer?.headers?.['retry-after'], 20, 'the second lock-out is twice as long');
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
