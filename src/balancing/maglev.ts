/**
 * Maglev's lookup table (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, section 3.4): a prime number of
 * slots, each naming a member; a key's slot is `hash(key) mod size`.
 *
 * Each member has its own permutation of the slots, `offset + j × skip (mod
 * size)` with offset and skip from hashes of its id (a prime size makes every
 * skip visit every slot). Members take turns claiming their next preferred
 * slot still empty until the table is full, so each gets the same share, and
 * a member's slots depend on which members exist, not on their order.
 *
 * Weights: in each turn a member claims `weight` slots instead of one
 * (weights divided by their greatest common divisor first, so 2,2 builds the
 * same table as 1,1). A member of weight w thus holds w times the slots of a
 * member of weight 1, give or take the last, unfinished turn.
 *
 * The table depends only on the members' ids and weights: built from the
 * same upstream list it is the same in every worker process and every run.
 */
import { hashKey } from './key-hash.js';

export interface MaglevMember {
  readonly id: string;
  readonly weight: number;
}

/** Google's default (a prime); larger when there are more than 655 members. */
export const DEFAULT_TABLE_SIZE = 65_537;
/** Slots per member at least, so that each member's share is even to about 1 %. */
export const SLOTS_PER_MEMBER = 100;

function isPrime(value: number): boolean {
  if (value < 2) return false;
  if (value % 2 === 0) return value === 2;
  for (let divisor = 3; divisor * divisor <= value; divisor += 2) if (value % divisor === 0) return false;
  return true;
}

/** The smallest prime at or above max(65,537, 100 × members). */
export function tableSizeFor(memberCount: number): number {
  let size = Math.max(DEFAULT_TABLE_SIZE, SLOTS_PER_MEMBER * memberCount);
  while (!isPrime(size)) size++;
  return size;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The seed text of a member's skip: a second hash of its id, independent of the offset's. */
const skipSeedOf = (id: string): string => `${id}\u0000skip`;

/**
 * `table[slot]` is an index into `members`. The caller passes the members in
 * a fixed order (sorted by id), so that a worker and its neighbour agree.
 */
export function maglevTable(members: readonly MaglevMember[], size: number = tableSizeFor(members.length)): Uint32Array {
  const table = new Uint32Array(size);
  const count = members.length;
  if (count === 0) return table;
  const divisor = members.reduce((common, member) => gcd(common, member.weight), 0);
  const turns = members.map((member) => member.weight / divisor);
  const skip = members.map((member) => (hashKey(skipSeedOf(member.id)) % (size - 1)) + 1);
  const position = members.map((member) => hashKey(member.id) % size);

  const EMPTY = 0xffffffff;
  table.fill(EMPTY);
  let filled = 0;
  for (;;) {
    for (let member = 0; member < count; member++) {
      for (let turn = turns[member] as number; turn > 0; turn--) {
        let slot = position[member] as number;
        const step = skip[member] as number;
        while (table[slot] !== EMPTY) slot = (slot + step) % size;
        table[slot] = member;
        position[member] = (slot + step) % size;
        if (++filled === size) return table;
      }
    }
  }
}
