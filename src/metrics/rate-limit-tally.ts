/**
 * Rate-limit decisions counted in the process that makes them, for a store
 * that decides outside the primary's router (Redis: each worker asks it
 * directly, so the primary's limiter and the feed's tap there see nothing).
 * It wraps the store — a check is counted as it is asked, under its client
 * (the first check's key: the client's address, or its /64) — and is a
 * finished hook: a request that ended `rate-limited` (or
 * `rate-limit-unavailable`, the store failing closed) is a denial.
 * Admitted is checks minus denials. The memory store's decisions are still
 * counted where it decides, in the primary; this is not used with it.
 *
 * Per check: one Map lookup by client and two increments; per denial the
 * client's key made again from its address. The per-client table is the
 * feed's (top clients per batch), bounded and emptied by each batch.
 */
import type { FinishedHook, FinishedView } from '../pipeline/filter.js';
import type { Address, BruteForcePolicy, LimitCheck, MetricFamily, RateLimitFigures } from '../protocol/index.js';
import type { RateLimitStore } from '../rate-limit/store.js';
import { clientKeyOf } from '../node/client-ip.js';
import { decisionsFamily } from '../rate-limit/decisions-metric.js';
import type { MetricSource } from './families.js';

/** Clients tallied per batch at most (as the primary's tap); more are counted in the totals only. */
const MAX_CLIENTS_PER_BATCH = 2_000;
const TOP_CLIENTS = 10;

class ClientTally {
  checks = 0;
  denials = 0;
}

export class RateLimitTally implements FinishedHook, MetricSource, RateLimitStore {
  readonly name = 'rate-limit-tally';
  /** Since start, for /metrics. */
  private checks = 0;
  private denials = 0;
  /** Since the last batch, for the feed. */
  private batchChecks = 0;
  private batchDenials = 0;
  private readonly clients = new Map<string, ClientTally>();

  constructor(
    private readonly store: RateLimitStore,
    /** The client key's IPv6 prefix (--rate-limit-ipv6-prefix); set again on a reload. */
    public ipv6Prefix: number,
  ) {}

  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): boolean {
    this.checks++;
    this.batchChecks++;
    const tally = this.clientTally((checks[0] as LimitCheck).key);
    if (tally !== null) tally.checks++;
    return this.store.decide(requestId, checks, headersWhenAllowed, replyTo);
  }

  loginFailed(key: string, policy: BruteForcePolicy): void {
    this.store.loginFailed(key, policy);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  finished(request: FinishedView): void {
    const outcome = request.outcome;
    if (outcome !== 'rate-limited' && outcome !== 'rate-limit-unavailable') return;
    this.denials++;
    this.batchDenials++;
    // Its check may have been in the previous batch: the client is tallied again in this one.
    const tally = this.clientTally(clientKeyOf(request.clientIp, this.ipv6Prefix));
    if (tally !== null) tally.denials++;
  }

  private clientTally(client: string): ClientTally | null {
    let tally = this.clients.get(client);
    if (tally === undefined) {
      if (this.clients.size >= MAX_CLIENTS_PER_BATCH) return null;
      tally = new ClientTally();
      this.clients.set(client, tally);
    }
    return tally;
  }

  /** The feed's batch: checks and denials since the last one, the busiest clients. */
  drainFigures(): RateLimitFigures {
    const top = [...this.clients.entries()]
      .sort((a, b) => b[1].denials - a[1].denials || b[1].checks - a[1].checks)
      .slice(0, TOP_CLIENTS)
      .map(([client, tally]) => [client, tally.checks, tally.denials] as const);
    const figures = { checks: this.batchChecks, denials: this.batchDenials, top };
    this.clients.clear();
    this.batchChecks = 0;
    this.batchDenials = 0;
    return figures;
  }

  families(): MetricFamily[] {
    return [
      decisionsFamily(Math.max(0, this.checks - this.denials), this.denials),
    ];
  }
}
