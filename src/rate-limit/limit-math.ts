/**
 * The arithmetic of every limit, on one key's state, kept free of actors,
 * clocks and stores so it can be tested alone. The memory store (the
 * primary's actor, and a worker's local fall-back) runs it in JavaScript; the
 * Redis store runs the same steps in Lua (redis-script.ts), and
 * test/unit/limit-math.test.ts holds both to the same answers.
 *
 * - fixed-window: windows anchored at a key's first request; admitted while
 *   the window's count is below the limit.
 * - sliding-window: the previous window's count is weighted by how much of it
 *   still overlaps the window ending now, `previous × (1 − elapsed/size) + current`.
 * - gcra (generic cell rate algorithm): one timestamp per key, the
 *   theoretical arrival time (TAT). Each request moves it one emission
 *   interval T = window / limit later; a request is admitted while
 *   TAT − now ≤ burst × T, so `burst` requests pass at once from idle and then
 *   one per T. Retry-After is exact: TAT + T − burst × T − now.
 *
 * Denied requests are never counted.
 */
import type { BruteForcePolicy, LimitCheck, RateLimitAlgorithm, RateLimitSettings } from '../protocol/index.js';

export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = ['fixed-window', 'sliding-window', 'gcra'];

/** One key's state; which fields mean what depends on the algorithm (see `step`). */
interface KeyState {
  a: number;
  b: number;
  c: number;
  /** The state means nothing after this (ms); swept then. */
  expiresAt: number;
}

/** One check's answer. Times in ms. */
export interface CheckResult {
  readonly allowed: boolean;
  /** Denied: how long until this check would admit. */
  readonly retryAfterMs: number;
  /** Requests left now (after this one if admitted); -1 for a lock-out check. */
  readonly remaining: number;
  /** Until the quota is whole again (the window's end; gcra: the bucket refilled). */
  readonly resetMs: number;
}

/** A lease the engine granted: what the holder is told, and `mark`, what taking its unspent permits back needs. */
export interface LeaseTerms {
  readonly permits: number;
  /** How long it may be spent (Infinity: as long as the holder likes; gcra). */
  readonly validMs: number;
  readonly remaining: number;
  readonly resetMs: number;
  /** Windows: the start of the window it was counted in; gcra: when it was granted. */
  readonly mark: number;
}

export interface Decision {
  readonly allowed: boolean;
  /** Denied: the longest wait of the checks that denied. */
  readonly retryAfterMs: number;
  readonly results: readonly CheckResult[];
}

/** The counter's name: the algorithm is in it so a reload that changes it starts afresh (and Redis never sees a key of the wrong type). */
export function counterKeyOf(check: LimitCheck): string {
  return check.limit === null ? lockKeyOf(check.key) : `rl:${check.rule}:${check.limit.algorithm}:${check.key}`;
}

/** Brute-force protection's keys for one client. */
export const lockKeyOf = (key: string): string => `bf:lock:${key}`;
export const failuresKeyOf = (key: string): string => `bf:fail:${key}`;
export const strikesKeyOf = (key: string): string => `bf:strikes:${key}`;

/** How long a client's lock-outs are remembered, so the next one doubles (then it starts again at the base). */
export const STRIKE_MEMORY_MS = 24 * 3_600_000;

export function burstOf(limit: RateLimitSettings): number {
  return limit.burst !== undefined && limit.burst > 0 ? limit.burst : limit.limit;
}

/** The estimated number of requests in the sliding window ending at `now`. */
export function slidingWindowCount(previous: number, current: number, elapsedMs: number, windowMs: number): number {
  return previous * Math.max(0, 1 - elapsedMs / windowMs) + current;
}

/**
 * One limit on one key at `now`: the answer, and, when `commit` and admitted,
 * the state updated (created if `state` is null: the caller stores it).
 */
export function stepLimit(state: KeyState | undefined, limit: RateLimitSettings, now: number, commit: boolean): { result: CheckResult; state: KeyState } {
  const w = limit.windowMs;
  const L = limit.limit;
  const s: KeyState = state ?? { a: now, b: 0, c: 0, expiresAt: 0 };
  if (limit.algorithm === 'gcra') {
    const T = w / L;
    const tau = burstOf(limit) * T;
    const tat = Math.max(s.a, now);
    const next = tat + T;
    // A microsecond of slack: T is a fraction, and the burst's last request must not be lost to rounding.
    if (next - now <= tau + 1e-3) {
      if (commit) {
        noteFull(s, now);
        s.a = next;
        s.expiresAt = next;
      }
      return { result: { allowed: true, retryAfterMs: 0, remaining: Math.floor((tau - (next - now)) / T + 1e-6), resetMs: next - now }, state: s };
    }
    return { result: { allowed: false, retryAfterMs: next - tau - now, remaining: 0, resetMs: tat - now }, state: s };
  }
  const { start, current, previous } = windowAt(s, w, now);
  const elapsed = now - start;
  const resetMs = start + w - now;
  if (limit.algorithm === 'fixed-window') {
    if (current < L) {
      if (commit) write(s, start, current + 1, previous, start + w);
      return { result: { allowed: true, retryAfterMs: 0, remaining: L - current - 1, resetMs }, state: s };
    }
    return { result: { allowed: false, retryAfterMs: resetMs, remaining: 0, resetMs }, state: s };
  }
  const estimate = slidingWindowCount(previous, current, elapsed, w);
  if (estimate + 1 <= L) {
    if (commit) write(s, start, current + 1, previous, start + 2 * w);
    return { result: { allowed: true, retryAfterMs: 0, remaining: Math.max(0, Math.floor(L - estimate - 1)), resetMs }, state: s };
  }
  return { result: { allowed: false, retryAfterMs: slidingWaitMs(current, previous, elapsed, L, w), remaining: 0, resetMs }, state: s };
}

/** A window counter as it stands at `now`, read without writing it. */
interface WindowAt {
  readonly start: number;
  readonly current: number;
  readonly previous: number;
}

/**
 * Windows: a = start, b = current count, c = previous window's count. Rolled forward over the windows
 * that have passed since `a`: one passed makes the current count the previous one, more leave none.
 */
function windowAt(s: KeyState, windowMs: number, now: number): WindowAt {
  const passed = Math.floor((now - s.a) / windowMs);
  if (passed <= 0) return { start: s.a, current: s.b, previous: s.c };
  return { start: s.a + passed * windowMs, current: 0, previous: passed === 1 ? s.b : 0 };
}

/** gcra: `b` keeps the last time the bucket was full (TAT ≤ now), which decides whether a lease's unspent permits can go back. */
function noteFull(s: KeyState, now: number): void {
  if (s.a <= now && s.a > s.b) s.b = s.a;
}

function write(s: KeyState, start: number, current: number, previous: number, expiresAt: number): void {
  s.a = start;
  s.b = current;
  s.c = previous;
  s.expiresAt = expiresAt;
}

/** How long until the sliding estimate leaves room for one more request. */
export function slidingWaitMs(current: number, previous: number, elapsed: number, limit: number, windowMs: number): number {
  const room = limit - 1 - current;
  if (room >= 0 && previous > 0) {
    // previous × (1 − t/size) ≤ room  ⇔  t ≥ size × (1 − room/previous)
    return windowMs * (1 - room / previous) - elapsed;
  }
  // Not even an empty previous window helps: wait for this one to end, then for it to slide out enough.
  const untilNextWindow = windowMs - elapsed;
  const afterwards = current > 0 ? windowMs * (1 - (limit - 1) / current) : 0;
  return untilNextWindow + Math.max(0, afterwards);
}

const NO_LIMIT_RESULT = { allowed: true, retryAfterMs: 0, remaining: -1, resetMs: 0 } as const;

/**
 * The memory store: every key's state in one Map, checked and counted in one
 * step per request (so exact within the process that holds it).
 */
export class LimitEngine {
  private readonly keys = new Map<string, KeyState>();

  /** All checks of one request at `now`: admitted only if each admits, and then counted against each. */
  decide(checks: readonly LimitCheck[], now: number): Decision {
    const results: CheckResult[] = [];
    let allowed = true;
    let retryAfterMs = 0;
    for (const check of checks) {
      const result = this.evaluate(check, now, false);
      results.push(result);
      if (!result.allowed) {
        allowed = false;
        retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs);
      }
    }
    if (allowed) for (let i = 0; i < checks.length; i++) results[i] = this.evaluate(checks[i] as LimitCheck, now, true);
    return { allowed, retryAfterMs, results };
  }

  /**
   * A lease of `limit` on `rule`/`key` for another process: up to `maxPermits` admissions, but at most
   * `1 / share` of the room left, counted now as if admitted (so whatever the holder spends, the
   * limit holds). Null when that is under `minPermits`: those requests are decided here one by one.
   */
  lease(rule: string, key: string, limit: RateLimitSettings, now: number, share: number, minPermits: number, maxPermits: number): LeaseTerms | null {
    const counter = counterKeyOf({ rule, key, limit });
    const existing = this.live(counter, now);
    const s: KeyState = existing ?? { a: now, b: 0, c: 0, expiresAt: 0 };
    const w = limit.windowMs;
    const L = limit.limit;
    let terms: LeaseTerms | null;
    if (limit.algorithm === 'gcra') {
      const T = w / L;
      const tau = burstOf(limit) * T;
      const tat = Math.max(s.a, now);
      const permits = Math.min(maxPermits, Math.floor(Math.floor((tau - (tat - now)) / T + 1e-6) / share));
      if (permits < minPermits) return null;
      noteFull(s, now);
      s.a = tat + permits * T;
      s.expiresAt = s.a;
      terms = { permits, validMs: Infinity, remaining: Math.floor((tau - (s.a - now)) / T + 1e-6), resetMs: s.a - now, mark: now };
    } else {
      const { start, current, previous } = windowAt(s, w, now);
      const sliding = limit.algorithm === 'sliding-window';
      const used = sliding ? slidingWindowCount(previous, current, now - start, w) : current;
      const permits = Math.min(maxPermits, Math.floor(Math.floor(L - used + 1e-9) / share));
      if (permits < minPermits) return null;
      write(s, start, current + permits, previous, start + (sliding ? 2 : 1) * w);
      // A window's lease ends with its window: in the next, its permits would be counted as the previous window's.
      terms = { permits, validMs: start + w - now, remaining: Math.max(0, Math.floor(L - used - permits + 1e-9)), resetMs: start + w - now, mark: start };
    }
    if (existing === undefined) this.keys.set(counter, s);
    return terms;
  }

  /**
   * `unused` permits of a lease back: taken off the count of the window they were counted in (for a
   * sliding window, also once it has become the previous one), or, for gcra, off the TAT, unless the
   * bucket has been full since the grant (then the unspent permits changed nothing any more).
   */
  returnLease(rule: string, key: string, limit: RateLimitSettings, mark: number, unused: number, now: number): void {
    if (unused <= 0) return;
    const s = this.live(counterKeyOf({ rule, key, limit }), now);
    if (s === undefined) return;
    if (limit.algorithm === 'gcra') {
      noteFull(s, now);
      if (s.b > mark) return;
      s.a = Math.max(now, s.a - unused * (limit.windowMs / limit.limit));
      return;
    }
    if (s.a === mark) s.b = Math.max(0, s.b - unused);
    else if (limit.algorithm === 'sliding-window' && s.a === mark + limit.windowMs) s.c = Math.max(0, s.c - unused);
  }

  private evaluate(check: LimitCheck, now: number, commit: boolean): CheckResult {
    const key = counterKeyOf(check);
    const existing = this.live(key, now);
    if (check.limit === null) {
      if (existing === undefined) return NO_LIMIT_RESULT;
      return { allowed: false, retryAfterMs: existing.a - now, remaining: -1, resetMs: existing.a - now };
    }
    const { result, state } = stepLimit(existing, check.limit, now, commit);
    if (commit && existing === undefined) this.keys.set(key, state);
    return result;
  }

  private live(key: string, now: number): KeyState | undefined {
    const state = this.keys.get(key);
    if (state !== undefined && state.expiresAt <= now) {
      this.keys.delete(key);
      return undefined;
    }
    return state;
  }

  /**
   * A failed login from `key`: counted in a window that starts at the first
   * failure; at `maxFailures` the key is locked out for `lockoutMs`, doubled
   * for each earlier lock-out still remembered. Returns the lock-out (ms), 0 if none.
   */
  recordFailure(key: string, policy: BruteForcePolicy, now: number): number {
    const failuresKey = failuresKeyOf(key);
    let failures = this.live(failuresKey, now);
    if (failures === undefined) {
      failures = { a: now, b: 0, c: 0, expiresAt: now + policy.windowMs };
      this.keys.set(failuresKey, failures);
    }
    failures.b++;
    if (failures.b < policy.maxFailures) return 0;
    this.keys.delete(failuresKey);
    const strikesKey = strikesKeyOf(key);
    let strikes = this.live(strikesKey, now);
    if (strikes === undefined) {
      strikes = { a: 0, b: 0, c: 0, expiresAt: 0 };
      this.keys.set(strikesKey, strikes);
    }
    strikes.b++;
    strikes.expiresAt = now + STRIKE_MEMORY_MS;
    const lockoutMs = lockoutFor(strikes.b, policy);
    this.keys.set(lockKeyOf(key), { a: now + lockoutMs, b: 0, c: 0, expiresAt: now + lockoutMs });
    return lockoutMs;
  }

  /** Forget expired keys: memory stays bounded by the keys active lately. */
  expireIdle(now: number): number {
    let expired = 0;
    for (const [key, state] of this.keys) {
      if (state.expiresAt <= now) {
        this.keys.delete(key);
        expired++;
      }
    }
    return expired;
  }

  get trackedKeys(): number {
    return this.keys.size;
  }
}

/** The n-th lock-out in a row: the base, doubled n − 1 times, at most the maximum. */
export function lockoutFor(strikes: number, policy: BruteForcePolicy): number {
  return Math.min(policy.maxLockoutMs, policy.lockoutMs * 2 ** Math.min(30, strikes - 1));
}
