/**
 * Which of a part kind's rules a value is offered: those whose required
 * characters (required-chars.ts) its masks (value-mask.ts) do not rule out.
 * Values of a request share a few character sets (letters and digits, a
 * cookie's base64...), so the answer is kept per mask pair: a value then costs
 * one hash lookup instead of a clause check per rule. The cache is bounded
 * (cleared when full), so values of ever new character sets cost what the
 * per-rule checks cost, not memory.
 */
import { someClauseUnmet } from './value-mask.js';

export interface Skippable {
  /** 4 words per clause; null: always offered. */
  readonly clauses: Int32Array | null;
  /** The offset of the mask the clauses are checked against: 0 the raw value's, 4 the decoded value's. */
  readonly maskOf: number;
}

/** Bit 0: the raw mask (words 0-3) exists; bit 1: the decoded mask (words 4-7) does. */
export const RAW_MASK = 1;
export const DECODED_MASK = 2;

const MAX_ENTRIES = 1024;

interface Entry<T> {
  readonly state: number;
  readonly masks: Int32Array;
  readonly offered: readonly T[];
}

export class CandidateLists<T extends Skippable> {
  private readonly cache = new Map<number, Entry<T>>();
  /** Some rule is checked against the decoded mask (else it need not be computed). */
  readonly usesDecoded: boolean;

  constructor(readonly all: readonly T[]) {
    this.usesDecoded = all.some((rule) => rule.clauses !== null && rule.maskOf === 4);
  }

  /** The rules offered a value with these masks (`masks`: 8 words, those of a missing mask zero). */
  offered(masks: Int32Array, state: number): readonly T[] {
    if (state === 0) return this.all;
    let hash = state;
    for (let i = 0; i < 8; i++) hash = Math.imul(hash ^ (masks[i] as number), 0x9e3779b1) ^ (hash >>> 15);
    const entry = this.cache.get(hash);
    if (entry !== undefined && entry.state === state && sameMasks(entry.masks, masks)) return entry.offered;
    const offered = this.all.filter((rule) => !skipped(rule, masks, state));
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(hash, { state, masks: Int32Array.from(masks), offered });
    return offered;
  }
}

function skipped(rule: Skippable, masks: Int32Array, state: number): boolean {
  if (rule.clauses === null) return false;
  if ((state & (rule.maskOf === 0 ? RAW_MASK : DECODED_MASK)) === 0) return false;
  return someClauseUnmet(rule.clauses, masks, rule.maskOf);
}

function sameMasks(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}
