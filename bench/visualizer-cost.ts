/**
 * What the visualizer's feed costs per request: the same build, one process
 * pinned to the proxy CPU, measured with the feed off, on with no page open,
 * on with a page open (an SSE client reading /feed), and on while tracing to
 * a file; rounds interleaved so the machine's drift hits every mode alike.
 * CPU per request is read from /proc; the ratios are against "off" in the
 * same round. Also reports a trace's size per 1,000 requests.
 *
 * Part of `npm run bench`; alone: `node dist/bench/visualizer-cost.js [--seconds S] [--rounds N]`.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrigins } from './origins.js';
import { freePort, waitUntilAnswering } from './ports.js';
import { treeCpuSeconds } from './proc-stats.js';
import { cleanUpOnExit, removeOnExit, startTracked, stopTracked } from './processes.js';
import { binNodeFlags } from './products.js';
import { SCENARIOS } from './scenarios.js';
import { chooseLoadTool, runWrk, writeWrkScript, type LoadTool } from './wrk.js';
import type { InstanceSpec } from './visualizer-instance.js';
import type { FeedMicroCost } from './visualizer-feed-micro.js';
import { execFile } from 'node:child_process';

export type FeedMode = 'off' | 'feed' | 'page' | 'trace';
const MODES: readonly FeedMode[] = ['off', 'feed', 'page', 'trace'];

export interface VisualizerCostRun {
  readonly directory: string;
  readonly repoRoot: string;
  readonly originPorts: readonly number[];
  readonly proxyCpu: string;
  readonly loadCpu: string;
  readonly tool: LoadTool;
  readonly seconds: number;
  readonly rounds: number;
}

export interface VisualizerCostRow {
  readonly mode: FeedMode;
  /** Median over rounds. */
  readonly cpuUsPerRequest: number;
  /** The least disturbed round: on a busy machine the intrinsic cost is nearer the minimum than the median. */
  readonly bestCpuUsPerRequest: number;
  readonly requestsPerS: number;
  /** Median of (this mode ÷ off) over rounds; 1 for off. */
  readonly ratio: number;
}

export interface VisualizerCost {
  readonly rows: readonly VisualizerCostRow[];
  /** Bytes of trace file per 1,000 requests, median over the trace rounds. */
  readonly traceBytesPer1000: number;
  readonly loadAverage: string;
  readonly scenario: string;
  /** The feed's own work per request and per second, timed alone (visualizer-feed-micro.ts). */
  readonly micro: { readonly recordingAll: FeedMicroCost; readonly defaultCap: FeedMicroCost } | null;
}

function measureMicro(repoRoot: string, cpu: string): Promise<VisualizerCost['micro']> {
  const args = ['-c', cpu, process.execPath, '--max-semi-space-size=32', '--no-allocation-site-pretenuring', join(repoRoot, 'dist/bench/visualizer-feed-micro.js')];
  return new Promise((resolve) => {
    execFile('taskset', args, { timeout: 120_000 }, (error, stdout) => {
      if (error !== null) return resolve(null);
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as VisualizerCost['micro']);
    });
  });
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** An SSE client like the page: reads every frame until stopped. */
function openPage(port: number): { close(): void; frames(): number } {
  let frames = 0;
  const call = request({ host: '127.0.0.1', port, path: '/feed', headers: { accept: 'text/event-stream' } }, (response) => {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (frames += chunk.split('\n\n').length - 1));
    response.on('error', () => {});
  });
  call.on('error', () => {});
  call.end();
  return { close: () => call.destroy(), frames: () => frames };
}

export async function measureVisualizerCost(run: VisualizerCostRun): Promise<VisualizerCost> {
  const scenario = SCENARIOS[0];
  if (scenario === undefined) throw new Error('no scenario');
  const script = writeWrkScript(run.directory, scenario);
  const bin = join(run.repoRoot, 'dist/src/cli/main.js');
  const entry = join(run.repoRoot, 'dist/bench/visualizer-instance.js');
  const cpu = new Map<FeedMode, number[]>(MODES.map((mode) => [mode, []]));
  const rates = new Map<FeedMode, number[]>(MODES.map((mode) => [mode, []]));
  const ratios = new Map<FeedMode, number[]>(MODES.map((mode) => [mode, []]));
  const traceSizes: number[] = [];
  for (let round = 1; round <= run.rounds; round++) {
    const perRequest = new Map<FeedMode, number>();
    // Rotated, so no mode always runs first in a round.
    const order = MODES.map((_, index) => MODES[(index + round - 1) % MODES.length] as FeedMode);
    for (const mode of order) {
      const port = await freePort();
      const vizPort = await freePort();
      const tracePath = join(run.directory, `trace-${round}.ndjson`);
      const spec: InstanceSpec = { mode: mode === 'page' ? 'feed' : mode, port, vizPort, upstreamPorts: run.originPorts, tracePath };
      const started = startTracked('taskset', ['-c', run.proxyCpu, process.execPath, ...binNodeFlags(bin), entry, JSON.stringify(spec)], join(run.directory, `viz-${mode}.log`), { cwd: run.repoRoot });
      try {
        // A busy shared machine can take more than the default 15 s to start a process.
        await waitUntilAnswering(port, `visualizer-cost ${mode}`, '/', 60_000);
        const page = mode === 'page' ? openPage(vizPort) : null;
        const load = { port, scenario, script, cpu: run.loadCpu, logPath: join(run.directory, 'viz-wrk.log'), tool: run.tool };
        await runWrk({ ...load, seconds: Math.max(1, Math.round(run.seconds / 3)) });
        const before = treeCpuSeconds(started.pid);
        const traceBefore = mode === 'trace' ? statSync(tracePath).size : 0;
        const result = await runWrk({ ...load, seconds: run.seconds });
        const seconds = treeCpuSeconds(started.pid) - before;
        if (mode === 'trace' && result.requests > 0) traceSizes.push(((statSync(tracePath).size - traceBefore) * 1000) / result.requests);
        if (page !== null && page.frames() === 0) throw new Error('the page received no frames');
        page?.close();
        const us = (seconds * 1e6) / Math.max(1, result.requests);
        perRequest.set(mode, us);
        cpu.get(mode)?.push(us);
        rates.get(mode)?.push(result.requestsPerS);
      } finally {
        await stopTracked(started);
      }
    }
    const off = perRequest.get('off') ?? NaN;
    for (const mode of MODES) ratios.get(mode)?.push((perRequest.get(mode) ?? NaN) / off);
  }
  const micro = await measureMicro(run.repoRoot, run.proxyCpu);
  return {
    micro,
    rows: MODES.map((mode) => ({
      mode,
      cpuUsPerRequest: median(cpu.get(mode) ?? []),
      bestCpuUsPerRequest: Math.min(...(cpu.get(mode) ?? [NaN])),
      requestsPerS: median(rates.get(mode) ?? []),
      ratio: median(ratios.get(mode) ?? []),
    })),
    traceBytesPer1000: median(traceSizes),
    loadAverage: loadavg().map((load) => load.toFixed(2)).join(' '),
    scenario: scenario.description,
  };
}

const LABELS: Record<FeedMode, string> = {
  off: 'feed off (same build)',
  feed: 'feed on, no page open',
  page: 'feed on, a page open (SSE client on /feed)',
  trace: 'feed on, tracing to a file (--trace-file)',
};

export function visualizerCostMarkdown(cost: VisualizerCost, rounds: number, seconds: number): string {
  const lines = [
    '### Visualizer feed cost',
    '',
    `One balancebeam process (\`--workers 1\`, rate limiting on, so each request crosses the router twice), pinned to the proxy CPU; ${cost.scenario}; ${rounds} interleaved round(s) of ${seconds} s per mode; load average at the end ${cost.loadAverage}. Ratio: CPU per request ÷ the "off" row of the same round (median over rounds). Targets: < 1.01 with no page, < 1.03 with a page.`,
    '',
    '| mode | CPU µs/request (median) | best round | req/s | ratio to off (median) | best ÷ best off |',
    '|---|---:|---:|---:|---:|---:|',
    ...cost.rows.map((row) => {
      const bestOff = cost.rows.find((candidate) => candidate.mode === 'off')?.bestCpuUsPerRequest ?? NaN;
      return `| ${LABELS[row.mode]} | ${row.cpuUsPerRequest.toFixed(1)} | ${row.bestCpuUsPerRequest.toFixed(1)} | ${Math.round(row.requestsPerS)} | ${row.ratio.toFixed(3)} | ${(row.bestCpuUsPerRequest / bestOff).toFixed(3)} |`;
    }),
    '',
    `Trace size: ${Math.round(cost.traceBytesPer1000).toLocaleString('en')} bytes per 1,000 requests at this load (the per-second cap of 2,000 router messages per process bounds it; frames every 500 ms).`,
    '',
  ];
  const off = cost.rows.find((row) => row.mode === 'off')?.cpuUsPerRequest ?? NaN;
  if (cost.micro !== null) {
    const { recordingAll, defaultCap } = cost.micro;
    lines.push(
      `The feed's own work, timed alone in CPU time (\`dist/bench/visualizer-feed-micro.js\`, pinned to the proxy CPU): ${recordingAll.perRequestNs.toFixed(0)} ns per request recording every message (${defaultCap.perRequestNs.toFixed(0)} ns once the 2,000/s cap drops them), the tap on the two routed messages and the finished hook together, ` +
        `against ${recordingAll.routerOnlyNs.toFixed(0)} ns for the router's two sends alone; plus ${recordingAll.perSecondUs.toFixed(0)} µs per second for 4 flushes and 2 frames. ` +
        `Against the "off" row's ${off.toFixed(1)} µs per request that is ${((100 * recordingAll.perRequestNs) / (off * 1000)).toFixed(2)} % per request.`,
      '',
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  cleanUpOnExit();
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-viz-cost-'));
  removeOnExit(directory);
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const origins = await startOrigins(directory, '1');
  try {
    const cost = await measureVisualizerCost({ directory, repoRoot, originPorts: origins.ports, proxyCpu: '0', loadCpu: '1', tool: chooseLoadTool(), seconds, rounds });
    console.log(visualizerCostMarkdown(cost, rounds, seconds));
  } finally {
    await origins.stop();
  }
  process.exit(0);
}
