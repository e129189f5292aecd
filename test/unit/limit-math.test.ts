/** The rate limiter's arithmetic (the memory store's engine), without actors or clocks. */
import test from 'ava';
import fc from 'fast-check';
import type { RateLimitSettings } from '../../src/protocol/index.js';
import { LimitEngine, slidingWindowCount } from '../../src/rate-limit/limit-math.js';

type RateLimitPolicy = RateLimitSettings;

/** One limit per client over the engine, as the default rule is checked. */
class WindowCounter {
  readonly engine = new LimitEngine();
  constructor(private readonly policy: RateLimitPolicy) {}
  admit(client: string, now: number): { allowed: boolean; retryAfterSeconds: number } {
    const decision = this.engine.decide([{ rule: 'default', key: client, limit: this.policy }], now);
    return { allowed: decision.allowed, retryAfterSeconds: decision.allowed ? 0 : Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) };
  }
  expireIdle(now: number): number {
    return this.engine.expireIdle(now);
  }
  get trackedClients(): number {
    return this.engine.trackedKeys;
  }
}

const fixed = (limit: number, windowMs = 1_000): RateLimitPolicy => ({ algorithm: 'fixed-window', limit, windowMs });
const sliding = (limit: number, windowMs = 1_000): RateLimitPolicy => ({ algorithm: 'sliding-window', limit, windowMs });

function admittedOf(counter: WindowCounter, client: string, now: number, count: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (counter.admit(client, now).allowed) allowed++;
  return allowed;
}

test('slidingWindowCount weights the previous window by its remaining overlap', (t) => {
  t.is(slidingWindowCount(10, 0, 0, 1_000), 10);
  t.is(slidingWindowCount(10, 0, 500, 1_000), 5);
  t.is(slidingWindowCount(10, 3, 750, 1_000), 5.5);
  t.is(slidingWindowCount(10, 3, 1_000, 1_000), 3);
  t.is(slidingWindowCount(10, 3, 5_000, 1_000), 3, 'a window long past counts nothing, never negatively');
  t.is(slidingWindowCount(0, 7, 123, 1_000), 7);
});

test('fixed window: admits the limit, then rejects until the window ends', (t) => {
  const counter = new WindowCounter(fixed(3, 10_000));
  t.is(admittedOf(counter, 'a', 0, 3), 3);
  t.deepEqual(counter.admit('a', 1_000), { allowed: false, retryAfterSeconds: 9 });
  t.deepEqual(counter.admit('a', 9_999), { allowed: false, retryAfterSeconds: 1 });
  t.deepEqual(counter.admit('a', 10_000), { allowed: true, retryAfterSeconds: 0 });
});

test('fixed window: rejected requests are not counted', (t) => {
  const counter = new WindowCounter(fixed(2));
  t.is(admittedOf(counter, 'a', 0, 50), 2);
  t.is(admittedOf(counter, 'a', 1_000, 50), 2);
});

test('sliding window: 10 in the first window leaves room for 5 half way through the second', (t) => {
  const counter = new WindowCounter(sliding(10, 60_000));
  t.is(admittedOf(counter, 'a', 0, 11), 10);
  t.is(admittedOf(counter, 'a', 90_000, 6), 5);
  t.deepEqual(counter.admit('a', 90_000), { allowed: false, retryAfterSeconds: 6 });
  t.true(counter.admit('a', 96_000).allowed);
});

test('sliding window: a full current window waits for the next one and for the slide', (t) => {
  const counter = new WindowCounter(sliding(4, 10_000));
  t.is(admittedOf(counter, 'a', 0, 4), 4);
  // The window ends in 10 s; then 4 × (1 − t) + 1 ≤ 4 needs t ≥ 25%: 2.5 s more.
  t.deepEqual(counter.admit('a', 0), { allowed: false, retryAfterSeconds: 13 });
  t.false(counter.admit('a', 12_499).allowed);
  t.true(counter.admit('a', 12_500).allowed);
});

test('each client’s windows are anchored at its own first request', (t) => {
  const counter = new WindowCounter(fixed(1));
  t.true(counter.admit('a', 0).allowed);
  t.true(counter.admit('b', 500).allowed);
  t.true(counter.admit('a', 1_000).allowed);
  t.false(counter.admit('b', 1_000).allowed);
  t.true(counter.admit('b', 1_500).allowed);
});

test('expireIdle forgets clients with nothing counted in the last two windows', (t) => {
  const counter = new WindowCounter(sliding(10));
  counter.admit('idle', 0);
  counter.admit('recent', 0);
  counter.admit('recent', 1_500);
  t.is(counter.trackedClients, 2);
  t.is(counter.expireIdle(1_999), 0);
  t.is(counter.expireIdle(2_000), 1);
  t.is(counter.trackedClients, 1);
  t.is(counter.expireIdle(3_000), 1);
  t.is(counter.trackedClients, 0);
});

test('forgetting an idle client loses nothing that still counts', (t) => {
  // Whatever a client did, a burst at the moment expireIdle drops it gets the verdicts it would have had anyway.
  const requestTimes = fc.array(fc.integer({ min: 0, max: 2_500 }), { minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(fc.constantFrom(fixed(3), sliding(3)), requestTimes, fc.integer({ min: 0, max: 5_000 }), (policy, gaps, idle) => {
      const swept = new WindowCounter(policy);
      const kept = new WindowCounter(policy);
      let now = 0;
      for (const gap of gaps) {
        now += gap;
        const a = swept.admit('c', now);
        const b = kept.admit('c', now);
        if (a.allowed !== b.allowed) return false;
      }
      now += idle;
      swept.expireIdle(now);
      for (let i = 0; i < 5; i++) {
        if (swept.admit('c', now).allowed !== kept.admit('c', now).allowed) return false;
      }
      return true;
    }),
  );
  t.pass();
});

test('no client window ever admits more than the limit', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom<RateLimitPolicy['algorithm']>('fixed-window', 'sliding-window'),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
      (algorithm, limit, gaps) => {
        const windowMs = 1_000;
        const counter = new WindowCounter({ algorithm, limit, windowMs });
        // The client's first request anchors its windows.
        const anchor = gaps[0] ?? 0;
        const perWindow = new Map<number, number>();
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          if (counter.admit('c', now).allowed) {
            const window = Math.floor((now - anchor) / windowMs);
            perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
          }
        }
        return [...perWindow.values()].every((count) => count <= limit);
      },
    ),
  );
  t.pass();
});

test('a request sent when Retry-After says is admitted', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom<RateLimitPolicy['algorithm']>('fixed-window', 'sliding-window'),
      fc.integer({ min: 1, max: 20 }),
      fc.constantFrom(1_000, 10_000, 60_000),
      fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 80 }),
      (algorithm, limit, windowMs, gaps) => {
        const policy: RateLimitPolicy = { algorithm, limit, windowMs };
        const history: number[] = [];
        const counter = new WindowCounter(policy);
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          const admission = counter.admit('c', now);
          history.push(now);
          if (admission.allowed) {
            if (admission.retryAfterSeconds !== 0) return false;
            continue;
          }
          if (admission.retryAfterSeconds < 1 || !Number.isInteger(admission.retryAfterSeconds)) return false;
          // Replay what happened so far into a fresh counter and try again when told to.
          const replay = new WindowCounter(policy);
          for (const time of history) replay.admit('c', time);
          if (!replay.admit('c', now + admission.retryAfterSeconds * 1_000).allowed) return false;
        }
        return true;
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});
