/**
 * A process's leases of rate-limit quota (the memory store's local part):
 * permits the rate limiter in the primary has already counted as admitted,
 * spent here one per request without a message, so a request whose every
 * limit has a lease is decided in the process that received it.
 *
 * Exactness: a permit is counted in the primary before it exists here, so
 * the processes together never admit more than the limit. A lease is spent
 * only until `askedAt + validMs`, measured on this process's clock from
 * before the ask left, which is never later than the primary's own end of it
 * (a window's end): no permit of one window is spent in the next.
 *
 * What is not exact: a client may be refused by the primary while permits
 * of its limit sit unspent in another process's lease, at most `1 / share`
 * of the room left per lease and for at most the lease's life (they are
 * given back then); and the RateLimit fields of a locally admitted request
 * count other processes' unspent permits as spent.
 *
 * Owned by the lease holder actor (src/actors/lease-holder.ts), which takes
 * the grants and sweeps; the store spends from it synchronously on the
 * request path, like the balancer's candidates (one thread, one writer per field).
 */
import type { MailboxRouter } from '../actors/router.js';
import { RATE_LIMITER, type Address, type LeaseGrant, type LimitCheck, type RateLimitSettings } from '../protocol/index.js';
import type { CheckResult, Decision } from './limit-math.js';

/**
 * Ask for the next lease once the current one is down to half its permits, or to a quarter of its
 * life. By count alone (it was a quarter of the permits), a process spending under 3/4 of a lease in
 * its life (768 requests a second for 1,024 permits and 1 s) saw every lease end unasked, and each
 * request of the round trip that followed went to the limiter; and at 4,000 a second a quarter lasted
 * 64 ms, less than a round trip to a primary sharing a busy core. Half the permits leaves the next
 * lease 128 ms at that rate; a quarter of the life, 250 ms, and a lease is spent for 3/4 of its life.
 */
const RENEW_AT_PERMITS = 0.5;
const RENEW_AT_LIFE = 0.25;

class Lease {
  left: number;

  constructor(
    readonly id: number,
    readonly permits: number,
    /** This process's clock: no spending at or after it. */
    readonly validUntil: number,
    /** This process's clock: from here on, a request spending from it asks for the next lease. */
    readonly renewAt: number,
    /** RateLimit's r once every permit is spent, and the reset time (this process's clock). */
    readonly remaining: number,
    readonly resetAt: number,
  ) {
    this.left = permits;
  }
}

/** One limit on one key: the lease being spent, the next one (asked for ahead), and whether an ask is out. */
class LeaseEntry {
  current: Lease | null = null;
  next: Lease | null = null;
  askedAt = -Infinity;
  asking = false;

  constructor(public limit: RateLimitSettings) {}
}

function sameLimit(a: RateLimitSettings, b: RateLimitSettings): boolean {
  return a === b || (a.algorithm === b.algorithm && a.limit === b.limit && a.windowMs === b.windowMs && (a.burst ?? 0) === (b.burst ?? 0));
}

export class LeaseBook {
  /** rule → key → entry: no counter name is built per request. */
  private readonly rules = new Map<string, Map<string, LeaseEntry>>();

  constructor(
    private readonly router: MailboxRouter,
    /** Where the limiter sends this book's grants: the lease holder's mailbox. */
    readonly holder: Address,
  ) {}

  /**
   * Every check of one request, decided here if each has a live lease: true when admitted (one permit
   * of each spent), false when the limiter must decide. Lock-out checks are always the limiter's.
   */
  admit(checks: readonly LimitCheck[], now: number): boolean {
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i] as LimitCheck;
      if (check.limit === null) return false;
      const entry = this.rules.get(check.rule)?.get(check.key);
      if (entry === undefined || !sameLimit(entry.limit, check.limit) || this.usable(entry, now) === null) return false;
    }
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i] as LimitCheck;
      this.spend(this.rules.get(check.rule)?.get(check.key) as LeaseEntry, check, now);
    }
    return true;
  }

  /** The RateLimit figures of a request `admit` has just admitted (only for `--rate-limit-headers`). */
  decisionOf(checks: readonly LimitCheck[], now: number): Decision {
    const results: CheckResult[] = [];
    for (const check of checks) {
      const entry = this.rules.get(check.rule)?.get(check.key) as LeaseEntry;
      const newest = entry.next ?? entry.current;
      const left = (entry.current?.left ?? 0) + (entry.next?.left ?? 0);
      results.push({
        allowed: true,
        retryAfterMs: 0,
        remaining: newest === null ? 0 : newest.remaining + left,
        resetMs: newest === null ? 0 : Math.max(0, newest.resetAt - now),
      });
    }
    return { allowed: true, retryAfterMs: 0, results };
  }

  /**
   * The limiter will decide this request: should it lease this process permits too (`leaseFor`)?
   * Yes unless an ask for each of its limits is already out; a lock-out check means no (login paths
   * are always decided by the limiter). Marks the entries as asking.
   */
  wantsLease(checks: readonly LimitCheck[], now: number): boolean {
    let wanted = false;
    for (const check of checks) {
      if (check.limit === null) return false;
      const entry = this.entryFor(check.rule, check.key, check.limit);
      // An ask is always answered (permits 0 when none): the limiter's mailbox never goes away.
      if (!entry.asking) wanted = true;
    }
    if (!wanted) return false;
    for (const check of checks) this.markAsking(this.entryFor(check.rule, check.key, check.limit as RateLimitSettings), now);
    return true;
  }

  /** The limiter's answer to an ask: each lease is spent after the current one; permits 0: none this time. */
  grant(leases: readonly LeaseGrant[], now: number): void {
    for (const grant of leases) {
      const entry = this.entryFor(grant.rule, grant.key, grant.limit);
      const askedAt = entry.askedAt;
      entry.asking = false;
      if (grant.permits <= 0) continue;
      const validUntil = askedAt + grant.validMs;
      if (validUntil <= now) {
        this.ended(grant.id, grant.permits);
        continue;
      }
      const renewAt = validUntil - (validUntil - askedAt) * RENEW_AT_LIFE;
      const lease = new Lease(grant.id, grant.permits, validUntil, renewAt, grant.remaining, askedAt + grant.resetMs);
      if (entry.next !== null) this.end(entry.next);
      if (entry.current === null) entry.current = lease;
      else entry.next = lease;
    }
  }

  /** Leases past their end given back, and entries with nothing left forgotten (the holder's sweep). */
  expire(now: number): void {
    for (const [rule, keys] of this.rules) {
      for (const [key, entry] of keys) {
        this.usable(entry, now);
        if (entry.next !== null && entry.next.validUntil <= now) {
          this.end(entry.next);
          entry.next = null;
        }
        if (entry.current === null && !entry.asking) keys.delete(key);
      }
      if (keys.size === 0) this.rules.delete(rule);
    }
  }

  /**
   * The limiter recalls these leases (it is about to refuse a request of their limit): each still
   * held is ended now with what is left of it. One already ended has its report on the way.
   */
  recall(ids: readonly number[]): void {
    for (const keys of this.rules.values()) {
      for (const entry of keys.values()) {
        if (entry.next !== null && ids.includes(entry.next.id)) {
          this.end(entry.next);
          entry.next = null;
        }
        if (entry.current !== null && ids.includes(entry.current.id)) {
          this.end(entry.current);
          entry.current = entry.next;
          entry.next = null;
        }
      }
    }
  }

  /** Every lease given back (the process is stopping). */
  endAll(): void {
    for (const keys of this.rules.values()) {
      for (const entry of keys.values()) {
        if (entry.current !== null) this.end(entry.current);
        if (entry.next !== null) this.end(entry.next);
      }
    }
    this.rules.clear();
  }

  /** Leases held now (tests, inspection). */
  get leases(): number {
    let count = 0;
    for (const keys of this.rules.values()) for (const entry of keys.values()) count += (entry.current === null ? 0 : 1) + (entry.next === null ? 0 : 1);
    return count;
  }

  /** The lease to spend from now, moving past spent or expired ones; null if none. */
  private usable(entry: LeaseEntry, now: number): Lease | null {
    let lease = entry.current;
    while (lease !== null && (lease.left === 0 || lease.validUntil <= now)) {
      if (lease.left > 0) this.end(lease);
      lease = entry.current = entry.next;
      entry.next = null;
    }
    return lease;
  }

  private spend(entry: LeaseEntry, check: LimitCheck, now: number): void {
    const lease = entry.current as Lease;
    lease.left--;
    if (lease.left === 0) {
      this.ended(lease.id, 0);
      entry.current = entry.next;
      entry.next = null;
    }
    // Ask ahead, so that requests do not go to the limiter while the next lease is on its way.
    const current = entry.current;
    if (entry.next === null && !entry.asking && (current === null || current.left <= current.permits * RENEW_AT_PERMITS || now >= current.renewAt)) {
      this.markAsking(entry, now);
      this.router.send(RATE_LIMITER, { type: 'rate-limit.lease-wanted', checks: [check], leaseFor: this.holder });
    }
  }

  private entryFor(rule: string, key: string, limit: RateLimitSettings): LeaseEntry {
    let keys = this.rules.get(rule);
    if (keys === undefined) {
      keys = new Map();
      this.rules.set(rule, keys);
    }
    let entry = keys.get(key);
    if (entry === undefined) {
      entry = new LeaseEntry(limit);
      keys.set(key, entry);
    } else if (!sameLimit(entry.limit, limit)) {
      // A reload changed the limit: leases of the old one are given back, the new one starts afresh.
      if (entry.current !== null) this.end(entry.current);
      if (entry.next !== null) this.end(entry.next);
      entry.current = entry.next = null;
      entry.asking = false;
      entry.limit = limit;
    }
    return entry;
  }

  private markAsking(entry: LeaseEntry, now: number): void {
    entry.asking = true;
    entry.askedAt = now;
  }

  private end(lease: Lease): void {
    this.ended(lease.id, lease.left);
    lease.left = 0;
  }

  private ended(id: number, unused: number): void {
    this.router.send(RATE_LIMITER, { type: 'rate-limit.lease-ended', id, unused });
  }
}
