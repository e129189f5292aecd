/**
 * What the upstreams do during a cell: "one slow" (u4 is 10× slower all
 * along) and "degrades" (all fast, u4 turns 10× slower halfway through).
 */
export const FAST_MS = 10;
export const SLOW_MS = 100;
export const UPSTREAM_COUNT = 4;
/** The upstream that is (or becomes) slow. */
export const SLOW_UPSTREAM = 'u4';

export interface LatencyScenario {
  name: string;
  description: string;
  /** Delays at the start of the cell, u1 … u4. */
  initialMs: readonly number[];
  /** u4's delay from the middle of the cell on; null: no change. */
  halfwayMs: number | null;
}

export const LATENCY_SCENARIOS: readonly LatencyScenario[] = [
  {
    name: 'one slow',
    description: `u1–u3 answer in ${FAST_MS} ms, u4 in ${SLOW_MS} ms`,
    initialMs: [FAST_MS, FAST_MS, FAST_MS, SLOW_MS],
    halfwayMs: null,
  },
  {
    name: 'degrades',
    description: `all answer in ${FAST_MS} ms; u4 turns to ${SLOW_MS} ms halfway through`,
    initialMs: [FAST_MS, FAST_MS, FAST_MS, FAST_MS],
    halfwayMs: SLOW_MS,
  },
];

export type LoadKind = 'open' | 'closed';
