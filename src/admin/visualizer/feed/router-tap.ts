/**
 * The feed's router tap: every message this process sends goes into the
 * ring; in the primary, the upstream actors' health reports become timeline
 * points and rate-limit checks and verdicts are tallied per client. Messages
 * of the feed and of inspection are not recorded (they would record themselves).
 */
import type { RouterTap } from '../../../actors/router.js';
import type { Address, NodeId, RateLimitFigures, RoutedMessage, UpstreamHealthPoint } from '../../../protocol/index.js';
import { MessageRing } from './message-ring.js';
import { senderOf } from './sender.js';

/** Clients tallied per batch at most; more are counted in the totals only. */
const MAX_CLIENTS_PER_BATCH = 2_000;
const TOP_CLIENTS = 10;

class ClientTally {
  checks = 0;
  denials = 0;
}

export class FeedTap implements RouterTap {
  readonly ring: MessageRing;
  private readonly connections: string;
  private readonly proxyNode: string;
  private readonly primary: boolean;
  private health: UpstreamHealthPoint[] = [];
  /** Last health published per upstream: each actor republishes to every subscriber. */
  private readonly lastHealth = new Map<string, boolean>();
  private readonly clients = new Map<string, ClientTally>();
  private checks = 0;
  private denials = 0;
  /**
   * The client of the check being answered: the rate limiter answers a check synchronously, inside
   * the router's delivery of it, so the next verdict it sends is that client's.
   */
  private checking: ClientTally | null = null;

  constructor(
    private readonly node: NodeId,
    ring: MessageRing,
    private readonly now: () => number = Date.now,
  ) {
    this.ring = ring;
    this.connections = `${node}/conn/*`;
    this.proxyNode = `${node}/proxy`;
    this.primary = node === 'p';
  }

  sent(to: Address, message: RoutedMessage): void {
    const type = message.type;
    const first = type.charCodeAt(0);
    // f, i: only then the prefix tests (most types start otherwise).
    if ((first === 102 && type.startsWith('feed.')) || (first === 105 && type.startsWith('inspection.'))) return;
    const time = this.now();
    this.ring.record(time, senderOf(message, this.node, this.connections, this.proxyNode), to, type);
    if (this.primary) this.observe(time, message);
  }

  /** A worker's message reaching the primary: its worker recorded it, the primary tallies rate-limit checks. */
  arrived(_to: Address, message: RoutedMessage): void {
    if (this.primary && message.type === 'rate-limit.check') this.observe(this.now(), message);
  }

  private observe(time: number, message: RoutedMessage): void {
    const type = message.type;
    if (type === 'upstream.health-changed') {
      if (this.lastHealth.get(message.upstreamId) !== message.healthy) {
        this.lastHealth.set(message.upstreamId, message.healthy);
        this.health.push({ time, upstreamId: message.upstreamId, healthy: message.healthy, reason: message.reason });
      }
    } else if (type === 'rate-limit.check') {
      this.checks++;
      // The first check's key is the client (its IP, or its /64) whenever a default limit applies.
      const client = message.checks[0]?.key ?? '';
      let tally = this.clients.get(client);
      if (tally === undefined && this.clients.size < MAX_CLIENTS_PER_BATCH) {
        tally = new ClientTally();
        this.clients.set(client, tally);
      }
      if (tally !== undefined) tally.checks++;
      this.checking = tally ?? null;
    } else if (type === 'request.verdict') {
      if (message.answer !== null) {
        this.denials++;
        if (this.checking !== null) this.checking.denials++;
      }
      this.checking = null;
    }
  }

  /** A new upstream actor's first report is news again (a reload restarted it). */
  forgetHealth(upstreamId: string): void {
    this.lastHealth.delete(upstreamId);
  }

  drainHealth(): UpstreamHealthPoint[] {
    const points = this.health;
    this.health = [];
    return points;
  }

  drainRateLimit(): RateLimitFigures | null {
    if (!this.primary) return null;
    const top = [...this.clients.entries()]
      .sort((a, b) => b[1].denials - a[1].denials || b[1].checks - a[1].checks)
      .slice(0, TOP_CLIENTS)
      .map(([client, tally]) => [client, tally.checks, tally.denials] as const);
    const figures = { checks: this.checks, denials: this.denials, top };
    this.clients.clear();
    this.checks = 0;
    this.denials = 0;
    this.checking = null;
    return figures;
  }
}
