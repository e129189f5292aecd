/**
 * One measured row, as every A/B bench counts it: warm-up load (unmeasured),
 * then the measured load while the proxy's process tree's CPU time and peak
 * RSS are read from /proc. Shared by `npm run bench` (bench/run.ts) and
 * bench/ab.ts, so their figures mean the same thing.
 */
import { samplePeakRss, treeCpuSeconds } from './proc-stats.js';
import type { RunningProduct } from './products.js';
import { runWrk, type WrkResult, type WrkRun } from './wrk.js';

export interface RowFigures {
  result: WrkResult;
  /** Null for the direct row (no proxy process) and for a row that served nothing. */
  cpuUsPerRequest: number | null;
  peakRssMb: number | null;
}

export async function measureRow(running: RunningProduct, load: Omit<WrkRun, 'seconds'>, warmupSeconds: number, seconds: number): Promise<RowFigures> {
  if (warmupSeconds > 0) await runWrk({ ...load, seconds: warmupSeconds });
  const pid = running.pid;
  const cpuBefore = pid === null ? 0 : treeCpuSeconds(pid);
  const memory = pid === null ? null : samplePeakRss(pid);
  const result = await runWrk({ ...load, seconds });
  const peakRss = memory === null ? null : memory.stop();
  const cpuSeconds = pid === null ? null : treeCpuSeconds(pid) - cpuBefore;
  return {
    result,
    cpuUsPerRequest: cpuSeconds === null || result.requests === 0 ? null : (cpuSeconds * 1e6) / result.requests,
    peakRssMb: peakRss === null ? null : peakRss / 2 ** 20,
  };
}
