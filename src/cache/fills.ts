/**
 * Request coalescing: while one request for a URL is on its way to the
 * upstream (its "fill"), later GETs for the URL wait for it rather than go
 * upstream too. When the fill ends — stored, found uncacheable, failed, or
 * after the lock timeout, whichever comes first — every waiter is woken and
 * looks again: it finds the stored response, or goes upstream itself. One
 * timer per fill, none per waiter; a waiter is woken exactly once (a verdict
 * for a request that has gone finds no mailbox and is dropped).
 */
import type { Address } from '../protocol/index.js';

export type Wake = (replyTo: Address, requestId: number) => void;

export interface Fill {
  readonly primaryKey: string;
  readonly waiters: { readonly replyTo: Address; readonly requestId: number }[];
  readonly timer: NodeJS.Timeout;
}

export class CacheFills {
  private readonly fills = new Map<string, Fill>();

  constructor(
    private readonly lockTimeoutMs: number,
    private readonly wake: Wake,
  ) {}

  get size(): number {
    return this.fills.size;
  }

  /** Starts a fill for the URL; null when one is already under way (the caller just goes upstream). */
  start(primaryKey: string): Fill | null {
    if (this.fills.has(primaryKey)) return null;
    const fill: Fill = { primaryKey, waiters: [], timer: setTimeout(() => this.finish(fill), this.lockTimeoutMs) };
    fill.timer.unref();
    this.fills.set(primaryKey, fill);
    return fill;
  }

  /** Waits for the URL's fill, if there is one. */
  join(primaryKey: string, replyTo: Address, requestId: number): boolean {
    const fill = this.fills.get(primaryKey);
    if (fill === undefined) return false;
    fill.waiters.push({ replyTo, requestId });
    return true;
  }

  /** Ends a fill (no-op if it already ended: the lock timeout came first, and another may have started since). */
  finish(fill: Fill): void {
    if (this.fills.get(fill.primaryKey) !== fill) return;
    this.fills.delete(fill.primaryKey);
    clearTimeout(fill.timer);
    for (const waiter of fill.waiters) this.wake(waiter.replyTo, waiter.requestId);
  }
}
