/**
 * The rate limiter's record of the leases it has granted (the memory store
 * with leases; the holder's side is lease-book.ts). A grant is counted in
 * the engine at once as if every permit were admitted; the record is what it
 * takes to give back the permits a holder reports unspent, and to forget a
 * dead holder's leases (their permits stay counted: it may have spent them).
 */
import { nodeOf } from '../actors/router.js';
import type { Address, LeaseGrant, LimitCheck, NodeId, RateLimitSettings } from '../protocol/index.js';
import { counterKeyOf, type Decision, type LimitEngine } from './limit-math.js';

/** A lease's life at most (gcra has no window to end it): the bound on how long unspent permits are held. */
export const LEASE_MS = 1_000;
/** Permits per lease at most: at ten thousand requests a second, a lease a tenth of a second. */
export const MAX_LEASE_PERMITS = 1_024;
/** A record whose holder never reported it is dropped this long after its end. */
const RECORD_GRACE_MS = 10_000;
/** Fewer permits than this are not worth a lease (and small limits stay exact request by request). */
export const MIN_LEASE_PERMITS = 4;

interface LeaseRecord {
  readonly holder: Address;
  readonly node: NodeId;
  readonly counter: string;
  readonly rule: string;
  readonly key: string;
  readonly limit: RateLimitSettings;
  readonly permits: number;
  readonly mark: number;
  readonly forgetAt: number;
}

export class LeaseLedger {
  private readonly records = new Map<number, LeaseRecord>();
  /** counter name → the leases out on it: what a refusal recalls. */
  private readonly byCounter = new Map<string, Set<number>>();
  private nextId = 1;

  constructor(
    private readonly engine: LimitEngine,
    /**
     * Each lease takes at most 1 / share of the room left: twice the number of processes holding
     * leases, so that they can all hold one and half the room is still decided one request at a time.
     */
    private readonly share: number,
    private readonly maxPermits = MAX_LEASE_PERMITS,
  ) {}

  /** A lease for each limit of `checks` (lock-outs have none) to `holder`; permits 0 where there is too little room. */
  grant(checks: readonly LimitCheck[], holder: Address, now: number): LeaseGrant[] {
    const grants: LeaseGrant[] = [];
    const node = nodeOf(holder);
    for (const check of checks) {
      const limit = check.limit;
      if (limit === null) continue;
      const terms = this.engine.lease(check.rule, check.key, limit, now, this.share, MIN_LEASE_PERMITS, this.maxPermits);
      if (terms === null) {
        grants.push({ id: 0, rule: check.rule, key: check.key, limit, permits: 0, validMs: 0, remaining: 0, resetMs: 0 });
        continue;
      }
      const id = this.nextId++;
      const validMs = Math.min(LEASE_MS, terms.validMs);
      const counter = counterKeyOf(check);
      this.records.set(id, { holder, node, counter, rule: check.rule, key: check.key, limit, permits: terms.permits, mark: terms.mark, forgetAt: now + validMs + RECORD_GRACE_MS });
      let ids = this.byCounter.get(counter);
      if (ids === undefined) {
        ids = new Set();
        this.byCounter.set(counter, ids);
      }
      ids.add(id);
      grants.push({ id, rule: check.rule, key: check.key, limit, permits: terms.permits, validMs, remaining: terms.remaining, resetMs: terms.resetMs });
    }
    return grants;
  }

  /** A refusal for each limit of `checks`: the holder's ask is answered even when the request was denied. */
  static refusals(checks: readonly LimitCheck[]): LeaseGrant[] {
    const grants: LeaseGrant[] = [];
    for (const check of checks) {
      if (check.limit !== null) grants.push({ id: 0, rule: check.rule, key: check.key, limit: check.limit, permits: 0, validMs: 0, remaining: 0, resetMs: 0 });
    }
    return grants;
  }

  /** The holder is done with lease `id`: `unused` of its permits go back. */
  ended(id: number, unused: number, now: number): void {
    const record = this.records.get(id);
    if (record === undefined) return;
    this.drop(id, record);
    this.engine.returnLease(record.rule, record.key, record.limit, record.mark, Math.min(unused, record.permits), now);
  }

  /** A holder's process is gone: its leases are forgotten, their permits left counted. */
  holderGone(node: NodeId): number {
    let forgotten = 0;
    for (const [id, record] of this.records) {
      if (record.node === node) {
        this.drop(id, record);
        forgotten++;
      }
    }
    return forgotten;
  }

  expire(now: number): void {
    for (const [id, record] of this.records) if (record.forgetAt <= now) this.drop(id, record);
  }

  /** The leases out on the limits a decision refused, by holder: what to recall before refusing. */
  recallsFor(checks: readonly LimitCheck[], decision: Decision): Map<Address, number[]> {
    const recalls = new Map<Address, number[]>();
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i] as LimitCheck;
      if (check.limit === null || decision.results[i]?.allowed !== false) continue;
      const ids = this.byCounter.get(counterKeyOf(check));
      if (ids === undefined) continue;
      for (const id of ids) {
        const holder = (this.records.get(id) as LeaseRecord).holder;
        const list = recalls.get(holder);
        if (list === undefined) recalls.set(holder, [id]);
        else list.push(id);
      }
    }
    return recalls;
  }

  /** Whether lease `id` is still out. */
  has(id: number): boolean {
    return this.records.has(id);
  }

  private drop(id: number, record: LeaseRecord): void {
    this.records.delete(id);
    const ids = this.byCounter.get(record.counter);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.byCounter.delete(record.counter);
  }

  /** Leases out now. */
  get outstanding(): number {
    return this.records.size;
  }
}
