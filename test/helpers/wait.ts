/**
 * Waiting without fixed sleeps: poll a condition until it holds or a deadline
 * passes, and bound any promise by a deadline. Timeouts throw with a message
 * that says what was being waited for.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up (throw) after this long. */
  readonly timeoutMs: number;
  /** Time between polls (default 20 ms). */
  readonly intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  readonly what?: string;
}

/**
 * Polls `condition` until it returns a value other than `false`, `null` or
 * `undefined`, and resolves with that value. Throws once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  condition: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitOptions,
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 20;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== null && value !== undefined) return value;
    if (performance.now() >= deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what ?? 'a condition'}`);
    }
    await delay(interval);
  }
}

/** `promise`, or a rejection naming `what` if it has not settled within `timeoutMs`. */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
