/** Figures of one cell (product × scenario × load) and the markdown tables of the balancing bench. */
import type { HashingResult } from './hashing.js';
import type { LoadResult } from './load.js';
import { SLOW_UPSTREAM, UPSTREAM_COUNT, type LoadKind } from './scenarios.js';

export interface Cell {
  product: string;
  scenario: string;
  load: LoadKind;
  /** Per upstream u1 … u4, per cent of answered requests. */
  sharePercent: number[];
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  /** p99 of the answers from the fast upstreams alone (u1–u3): the "fast upstreams' own latency" through this proxy. */
  fastP99: number;
  requestsPerSecond: number;
  errors: number;
  /**
   * The proxy's CPU time (its process tree, user + system) over the measured
   * part: per answered request, and as a share of one CPU. What a request
   * costs the proxy, and whether it had the CPU it wanted on a shared core.
   */
  proxyCpuUsPerRequest: number;
  proxyCpuPercent: number;
  /** The bench process's own CPU (the load and the four upstreams) as a share of one CPU: is the client the bottleneck? */
  benchCpuPercent: number;
  /** Sorted latencies, ms, for the plot. */
  sortedMs: number[];
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

export function summarizeCell(
  product: string,
  scenario: string,
  load: LoadKind,
  result: LoadResult,
  cpuSeconds: { proxy: number; bench: number },
): Cell {
  const proxyCpuSeconds = cpuSeconds.proxy;
  const sortedMs = [...result.latenciesMs].sort((a, b) => a - b);
  const answered = sortedMs.length;
  const sharePercent = Array.from({ length: UPSTREAM_COUNT }, (_, index) => {
    const served = result.byUpstream.get(`u${index + 1}`)?.length ?? 0;
    return answered === 0 ? 0 : (100 * served) / answered;
  });
  const fast = [...result.byUpstream.entries()]
    .filter(([name]) => name !== SLOW_UPSTREAM)
    .flatMap(([, latencies]) => latencies)
    .sort((a, b) => a - b);
  const { status, failed, timeout, overCap } = result.errors;
  return {
    product,
    scenario,
    load,
    sharePercent,
    p50: percentile(sortedMs, 0.5),
    p90: percentile(sortedMs, 0.9),
    p99: percentile(sortedMs, 0.99),
    p999: percentile(sortedMs, 0.999),
    fastP99: percentile(fast, 0.99),
    requestsPerSecond: (1000 * answered) / result.durationMs,
    errors: status + failed + timeout + overCap,
    proxyCpuUsPerRequest: answered === 0 ? Number.NaN : (1e6 * proxyCpuSeconds) / answered,
    proxyCpuPercent: (100 * 1000 * proxyCpuSeconds) / result.durationMs,
    benchCpuPercent: (100 * 1000 * cpuSeconds.bench) / result.durationMs,
    sortedMs,
  };
}

const ms = (value: number): string => (Number.isNaN(value) ? '–' : value < 100 ? value.toFixed(1) : value.toFixed(0));

export function cellsTable(cells: readonly Cell[]): string {
  const lines = [
    '| scenario | load | product | u1 % | u2 % | u3 % | u4 % | p50 ms | p90 ms | p99 ms | p99.9 ms | fast p99 ms | req/s | errors | proxy CPU µs/req | proxy CPU % | load + upstreams CPU % |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const cell of cells) {
    const shares = cell.sharePercent.map((share) => share.toFixed(1));
    lines.push(
      `| ${cell.scenario} | ${cell.load} | ${cell.product} | ${shares.join(' | ')} | ${ms(cell.p50)} | ${ms(cell.p90)} | ${ms(cell.p99)} | ${ms(cell.p999)} | ${ms(cell.fastP99)} | ${cell.requestsPerSecond.toFixed(0)} | ${cell.errors} | ${cell.proxyCpuUsPerRequest.toFixed(0)} | ${cell.proxyCpuPercent.toFixed(0)} | ${cell.benchCpuPercent.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

export function hashingTable(result: HashingResult): string {
  const { bounded } = result;
  return [
    '| figure | value |',
    '|---|--:|',
    `| keys per upstream (u1–u4) | ${result.counts.join(' / ')} |`,
    `| balance max/min | ${result.maxOverMin.toFixed(3)} |`,
    `| u4 removed: keys moved (total) | ${result.movedOnRemoval} of ${result.keys} (${((100 * result.movedOnRemoval) / result.keys).toFixed(1)} %; u4 owned ${result.removedOwned}) |`,
    `| u4 removed: keys of u1–u3 moved | ${result.otherMovedOnRemoval} (${((100 * result.otherMovedOnRemoval) / result.keys).toFixed(2)} %) |`,
    `| u4 restored: keys back where they were | ${result.backOnRestore} of ${result.keys} (${((100 * result.backOnRestore) / result.keys).toFixed(1)} %) |`,
    `| bounded load (factor 1.25), ${bounded.requests} Zipf requests over ${bounded.distinctKeys} keys (hottest key ${(100 * bounded.hottestKeyShare).toFixed(1)} %), all in flight: most on one upstream | ${bounded.maxInFlight} (bound ${bounded.bound}; without bounded load ${bounded.unboundedMax}) |`,
  ].join('\n');
}
