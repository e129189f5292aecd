/**
 * The memory store: the rate limiter actor in the primary
 * (src/actors/rate-limiter.ts), reached through the router (over IPC from a
 * worker, in process with `--workers 1`), with leases of quota held in this
 * process (lease-book.ts, owned by the lease holder actor): a request whose
 * every limit has a lease is admitted here, synchronously, with no message;
 * any other is sent to the limiter, which answers the connection itself and,
 * when asked, leases this process permits for the next requests.
 */
import { performance } from 'node:perf_hooks';
import type { Actor } from 'xstate';
import { leaseHolderMachine } from '../actors/lease-holder.js';
import { startActor, type Clock } from '../actors/inspection.js';
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import type { MetricSource } from '../metrics/families.js';
import { leaseHolderAddress, RATE_LIMITER, type Address, type BruteForcePolicy, type LimitCheck } from '../protocol/index.js';
import { decisionsFamily } from './decisions-metric.js';
import { LeaseBook } from './lease-book.js';
import { LocalDecisionTally } from './local-tally.js';
import type { RateLimitStore } from './store.js';
import { verdictFor } from './verdict.js';

export class LeasedStore implements RateLimitStore {
  private readonly book: LeaseBook;
  private readonly holder: Actor<typeof leaseHolderMachine>;
  private readonly address: Address;
  /** Requests admitted on a lease, for /metrics (a lease never refuses: denials are the limiter's). */
  private admitted = 0;
  private tally: LocalDecisionTally | null = null;
  readonly metrics: MetricSource = { families: () => [decisionsFamily(this.admitted, 0)] };

  constructor(
    private readonly router: MailboxRouter,
    private readonly now: () => number = () => performance.now(),
    /** Tests: the holder's sweep on a SimulatedClock. */
    clock?: Clock,
  ) {
    this.address = leaseHolderAddress(router.node);
    this.book = new LeaseBook(router, this.address);
    this.holder = startActor(leaseHolderMachine, { id: this.address, input: { book: this.book, now }, ...(clock === undefined ? {} : { clock }) });
    router.register(localNameOf(this.address), this.holder);
  }

  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): boolean {
    const now = this.now();
    if (this.book.admit(checks, now)) {
      this.admitted++;
      if (this.tally !== null) this.tally.record((checks[0] as LimitCheck).key);
      if (!headersWhenAllowed) return true;
      // The RateLimit fields ride on a verdict: one local message, still no hop to the primary.
      this.router.send(replyTo, verdictFor(requestId, checks, this.book.decisionOf(checks, now), true));
      return false;
    }
    if (this.book.wantsLease(checks, now)) {
      this.router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId, checks, headersWhenAllowed, replyTo, leaseFor: this.address });
    } else {
      this.router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId, checks, headersWhenAllowed, replyTo });
    }
    return false;
  }

  loginFailed(key: string, policy: BruteForcePolicy): void {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.login-failed', key, policy });
  }

  /** Leases held now (tests). */
  get leases(): number {
    return this.book.leases;
  }

  localFigures(): LocalDecisionTally {
    this.tally ??= new LocalDecisionTally();
    return this.tally;
  }

  /** Every lease given back, so the limiter (if still there) counts only what was spent. */
  close(): Promise<void> {
    this.book.endAll();
    this.router.unregister(this.address);
    this.holder.stop();
    return Promise.resolve();
  }
}
