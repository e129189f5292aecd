/**
 * `consistent-hash`: the same key goes to the same upstream, in every worker
 * process, and an upstream going away moves only its own keys.
 *
 * The Maglev table (`maglev.ts`) is built over every configured upstream,
 * dead ones included, and only when ids or weights change: a health flip
 * leaves it as it is. A key's slot is `hashKey(key) mod size`; when that
 * slot's upstream is dead, already tried or (with bounded load) over full,
 * the walk goes on to the next slots in order until one is usable. The
 * table's slots interleave the upstreams, so a dead upstream's keys spread
 * over the others, and the other upstreams' keys never move: their first
 * slot is still theirs. When it comes back, exactly its keys come back.
 *
 * Bounded load (`--hash-balance-factor F`, as Envoy's `hash_balance_factor`
 * and HAProxy's `hash-balance-factor`): an upstream is full when taking this
 * request would put it above `ceil(F × (in-flight of the usable upstreams +
 * 1) / usable upstreams)`. With F ≥ 1 the least loaded upstream is never
 * full, so the walk always ends on one. In-flight counts are this process's.
 *
 * A request without the key (`''`: no such header, cookie or query argument)
 * goes to the fallback strategy (`--hash-fallback`, round-robin by default).
 */
import { maglevTable, tableSizeFor } from './maglev.js';
import { hashKey } from './key-hash.js';
import { isUsable, type Candidate, type SelectionStrategy } from './strategy.js';

export interface ConsistentHashOptions {
  /** 0: off; else at least 1 (the mean itself). */
  readonly balanceFactor: number;
  /** Picks for requests with an empty key; rebuilt with the same candidates. */
  readonly fallback: SelectionStrategy;
}

const byId = (a: Candidate, b: Candidate): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** What the table depends on: ids and weights, in the table's order. */
const shapeOf = (members: readonly Candidate[]): string => members.map((member) => `${member.id}*${member.weight}`).join(' ');

export class ConsistentHash implements SelectionStrategy {
  readonly usesKey = true;
  /** Sorted by id, so every process builds the same table whatever the configuration order. */
  private members: readonly Candidate[] = [];
  private table: Uint32Array = new Uint32Array(0);
  private shape = '';
  /** Members that own at least one slot: a walk that has rejected this many has seen them all. */
  private present = 0;
  /** `rejectedAt[member] === serial`: rejected in the current pick (no allocation per pick). */
  private rejectedAt: Uint32Array = new Uint32Array(0);
  private serial = 0;
  /** The balance factor in hundredths (as HAProxy holds it), so the bound is integer arithmetic. */
  private readonly factorPercent: number;

  constructor(private readonly options: ConsistentHashOptions) {
    this.factorPercent = Math.round(options.balanceFactor * 100);
  }

  rebuild(candidates: readonly Candidate[]): void {
    this.options.fallback.rebuild(candidates);
    const members = [...candidates].sort(byId);
    this.members = members;
    const shape = shapeOf(members);
    if (shape === this.shape) return; // a health change: the same table
    this.shape = shape;
    this.table = maglevTable(members, tableSizeFor(members.length));
    const owners = new Set<number>();
    if (members.length > 0) for (const member of this.table) owners.add(member);
    this.present = owners.size;
    this.rejectedAt = new Uint32Array(members.length);
    this.serial = 0;
  }

  pick(key: string, exclude: readonly string[]): Candidate | undefined {
    if (key === '') return this.options.fallback.pick(key, exclude);
    const { members, table, rejectedAt } = this;
    if (members.length === 0) return undefined;
    let bound = Number.POSITIVE_INFINITY;
    if (this.factorPercent > 0) {
      bound = this.loadBound(exclude);
      if (bound === 0) return undefined; // nothing usable
    }
    const serial = this.nextSerial();
    const size = table.length;
    let slot = hashKey(key) % size;
    let rejected = 0;
    let firstFull: Candidate | undefined;
    for (let step = 0; step < size; step++) {
      const index = table[slot] as number;
      if (rejectedAt[index] !== serial) {
        const candidate = members[index] as Candidate;
        if (isUsable(candidate, exclude)) {
          if (candidate.load.inFlight < bound) return candidate;
          firstFull ??= candidate;
        }
        rejectedAt[index] = serial;
        if (++rejected === this.present) break;
      }
      slot = slot + 1 === size ? 0 : slot + 1;
    }
    // Only reached when every usable member is full, which F ≥ 1 rules out; better over the bound than no answer.
    return firstFull;
  }

  /** The most in-flight attempts a usable member may hold before this request; 0 when none is usable. */
  private loadBound(exclude: readonly string[]): number {
    let usable = 0;
    let inFlight = 0;
    for (const member of this.members) {
      if (!isUsable(member, exclude)) continue;
      usable++;
      inFlight += member.load.inFlight;
    }
    if (usable === 0) return 0;
    // ceil(F × (inFlight + 1) / usable) in integers, F in hundredths: 1.1 × 10 is 11.000000000000002 in doubles.
    const divisor = 100 * usable;
    return Math.floor((this.factorPercent * (inFlight + 1) + divisor - 1) / divisor);
  }

  private nextSerial(): number {
    if (this.serial === 0xffffffff) {
      this.rejectedAt.fill(0);
      this.serial = 0;
    }
    return ++this.serial;
  }
}
