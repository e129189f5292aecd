/**
 * Per-client request counting over time windows: the arithmetic of the rate
 * limiter, kept free of actors and clocks so it can be tested alone.
 *
 * Each client's windows are anchored at its first request (not at the wall
 * clock's minute), so clients do not all reset at once. A window holds the
 * count of requests admitted in it and in the window before.
 *
 * - fixed-window: admitted while `current < limit`; resets at the window's end.
 * - sliding-window: the previous window's count is weighted by how much of it
 *   still overlaps the sliding window ending now:
 *   `previous × (1 − elapsed/size) + current`, admitted while that plus one ≤ limit.
 */
import type { RateLimitSettings } from '../protocol/index.js';

/** The settings are plain data in the vocabulary, since a reload sends them to the limiter as a message. */
export type RateLimitPolicy = RateLimitSettings;
export type RateLimitAlgorithm = RateLimitPolicy['algorithm'];
export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = ['fixed-window', 'sliding-window'];

interface ClientWindow {
  windowStart: number;
  current: number;
  previous: number;
}

export interface Admission {
  readonly allowed: boolean;
  readonly retryAfterSeconds: number;
}

const ADMITTED: Admission = { allowed: true, retryAfterSeconds: 0 };

/** The estimated number of requests in the sliding window ending at `now`. */
export function slidingWindowCount(previous: number, current: number, elapsedMs: number, windowMs: number): number {
  return previous * Math.max(0, 1 - elapsedMs / windowMs) + current;
}

export class WindowCounter {
  private readonly clients = new Map<string, ClientWindow>();

  constructor(private policy: RateLimitPolicy) {}

  /**
   * New settings (a config reload). A new limit keeps every client's count,
   * so nobody gets a fresh window out of a reload; a new algorithm or window
   * length makes the old counts meaningless, and they are forgotten.
   */
  reconfigure(policy: RateLimitPolicy): void {
    if (policy.algorithm !== this.policy.algorithm || policy.windowMs !== this.policy.windowMs) this.clients.clear();
    this.policy = policy;
  }

  get windowMs(): number {
    return this.policy.windowMs;
  }

  /** Count one request from `client` at `now` (ms) if the policy admits it. */
  admit(client: string, now: number): Admission {
    const { limit, windowMs } = this.policy;
    let window = this.clients.get(client);
    if (window === undefined) {
      window = { windowStart: now, current: 0, previous: 0 };
      this.clients.set(client, window);
    } else {
      advance(window, now, windowMs);
    }
    const elapsed = now - window.windowStart;
    if (this.policy.algorithm === 'fixed-window') {
      if (window.current < limit) {
        window.current++;
        return ADMITTED;
      }
      return { allowed: false, retryAfterSeconds: toSeconds(windowMs - elapsed) };
    }
    if (slidingWindowCount(window.previous, window.current, elapsed, windowMs) + 1 <= limit) {
      window.current++;
      return ADMITTED;
    }
    return { allowed: false, retryAfterSeconds: toSeconds(slidingWaitMs(window, elapsed, limit, windowMs)) };
  }

  /** Forget clients with nothing counted in the last two windows: memory stays bounded by active clients. */
  expireIdle(now: number): number {
    const windowMs = this.policy.windowMs;
    let expired = 0;
    for (const [client, window] of this.clients) {
      if (now - window.windowStart >= 2 * windowMs) {
        this.clients.delete(client);
        expired++;
      }
    }
    return expired;
  }

  get trackedClients(): number {
    return this.clients.size;
  }
}

function advance(window: ClientWindow, now: number, windowMs: number): void {
  const windowsPassed = Math.floor((now - window.windowStart) / windowMs);
  if (windowsPassed <= 0) return;
  window.previous = windowsPassed === 1 ? window.current : 0;
  window.current = 0;
  window.windowStart += windowsPassed * windowMs;
}

/** How long until the sliding estimate leaves room for one more request. */
function slidingWaitMs(window: ClientWindow, elapsed: number, limit: number, windowMs: number): number {
  const room = limit - 1 - window.current;
  if (room >= 0 && window.previous > 0) {
    // previous × (1 − t/size) ≤ room  ⇔  t ≥ size × (1 − room/previous)
    return windowMs * (1 - room / window.previous) - elapsed;
  }
  // Not even an empty previous window helps: wait for this one to end, then for it to slide out enough.
  const untilNextWindow = windowMs - elapsed;
  const afterwards = window.current > 0 ? windowMs * (1 - (limit - 1) / window.current) : 0;
  return untilNextWindow + Math.max(0, afterwards);
}

function toSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
