/**
 * The visualizer's rate-limit panel (checks, denials, busiest clients) is
 * fed by the router tap, which sees every check sent to the rate limiter;
 * a request admitted on a lease sends none. The store tallies those here,
 * only while the feed runs, and the feed agent adds them to its batch.
 */
import type { RateLimitFigures } from '../protocol/index.js';

/** Clients tallied per batch at most, like the tap's; more are counted in the total only. */
const MAX_CLIENTS = 2_000;
const TOP_CLIENTS = 10;

/** Requests admitted in this process without a message (so no router tap sees them), per client, for the visualizer. */
export class LocalDecisionTally {
  private readonly clients = new Map<string, number>();
  private checks = 0;

  record(client: string): void {
    this.checks++;
    const count = this.clients.get(client);
    if (count !== undefined) this.clients.set(client, count + 1);
    else if (this.clients.size < MAX_CLIENTS) this.clients.set(client, 1);
  }

  /** Since the last drain: checks (all admitted: a lease never refuses) and the busiest clients. */
  drain(): RateLimitFigures | null {
    if (this.checks === 0) return null;
    const top = [...this.clients.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP_CLIENTS)
      .map(([client, checks]) => [client, checks, 0] as const);
    const figures = { checks: this.checks, denials: 0, top };
    this.clients.clear();
    this.checks = 0;
    return figures;
  }
}
