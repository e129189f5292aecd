/**
 * `npm run bench:balancing:simulate`: the balancing bench's scenarios on the
 * deterministic model (simulation.ts), every algorithm on the same proxy
 * model, for five proxies: an ideal one (no CPU, no stalls), one with
 * nginx's measured CPU per request and one with balancebeam's, both with the
 * stalls the bench's shared core shows, and both again on a crowded core
 * (other processes taking it in turns). Prints a markdown table; takes a few
 * seconds.
 *
 *   npm run bench:balancing:simulate -- [--seconds N] [--seed N]
 */
import { parseArgs } from 'node:util';
import { percentile } from './report.js';
import { FAST_MS, SLOW_MS } from './scenarios.js';
import { SIMULATED_ALGORITHMS, simulate, type LoadModel, type ProxyModel, type SampleKind, type SimulatedAlgorithm, type UpstreamModel } from './simulation.js';

const { values } = parseArgs({ args: process.argv.slice(2), options: { seconds: { type: 'string' }, seed: { type: 'string' } } });
const seconds = Number(values.seconds ?? 20);
const seed = Number(values.seed ?? 1);

/**
 * CPU per request measured in the real bench (user + system time of the
 * proxy process over a closed-loop cell, /proc/PID/stat, divided by its
 * requests): balancebeam about 0.3 ms, nginx about 0.06 ms. Stalls: the
 * proxy's event-loop delay (monitorEventLoopDelay, 2 ms resolution) peaked
 * at a median 8 ms per 100 ms window on the shared core, above 10 ms in a
 * quarter of the windows: modelled as 10 stalls a second, 5 ms on average.
 */
const STALLS = { stallsPerSecond: 10, stallMeanMs: 5 };
const PROXIES: readonly ProxyModel[] = [
  { name: 'ideal', requestCpuMs: 0, responseCpuMs: 0, stallsPerSecond: 0, stallMeanMs: 0 },
  { name: 'nginx cost + stalls', requestCpuMs: 0.03, responseCpuMs: 0.03, ...STALLS },
  { name: 'balancebeam cost + stalls', requestCpuMs: 0.15, responseCpuMs: 0.15, ...STALLS },
  // A crowded core (load average above 10 on 2 CPUs): the proxy got about a quarter of a CPU per cell and its
  // CPU per request rose to about 1 ms; other processes take the core in turns the loop's idle clock cannot see.
  { name: 'nginx cost, crowded core', requestCpuMs: 0.03, responseCpuMs: 0.03, ...STALLS, preemptionsPerSecond: 20, preemptionMeanMs: 10 },
  {
    name: 'balancebeam cost, crowded core',
    requestCpuMs: 0.5,
    responseCpuMs: 0.5,
    ...STALLS,
    preemptionsPerSecond: 20,
    preemptionMeanMs: 10,
  },
];

const SCENARIOS: ReadonlyArray<{ name: string; upstreams: UpstreamModel }> = [
  { name: 'one slow', upstreams: { delaysMs: [FAST_MS, FAST_MS, FAST_MS, SLOW_MS], jitterMeanMs: 0.5 } },
  {
    name: 'degrades',
    upstreams: { delaysMs: [FAST_MS, FAST_MS, FAST_MS, FAST_MS], jitterMeanMs: 0.5, changeAtMs: (seconds * 1000) / 2, laterDelayMs: SLOW_MS },
  },
];

const LOADS: ReadonlyArray<{ name: string; load: LoadModel }> = [
  { name: 'open', load: { kind: 'open', ratePerSecond: 300 } },
  { name: 'closed', load: { kind: 'closed', clients: 16, thinkMs: 0.3 } },
];

/** peak-ewma twice: with what a proxy can time (raw) and with the upstream's own time (what no stall or queue inflates). */
interface Row {
  readonly label: string;
  readonly algorithm: SimulatedAlgorithm;
  readonly sample?: SampleKind;
}
const ROWS: readonly Row[] = SIMULATED_ALGORITHMS.flatMap((algorithm): Row[] =>
  algorithm === 'peak-ewma'
    ? [
        { label: 'peak-ewma', algorithm },
        { label: 'peak-ewma, own delay out', algorithm, sample: 'own-delay-out' },
        { label: 'peak-ewma, upstream-only samples', algorithm, sample: 'upstream' },
      ]
    : [{ label: algorithm, algorithm }],
);

const fmt = (value: number): string => (value < 100 ? value.toFixed(1) : value.toFixed(0));
const lines = [
  `Simulated ${seconds} s per cell, seed ${seed}. Stalls: ${STALLS.stallsPerSecond}/s, mean ${STALLS.stallMeanMs} ms (nginx and balancebeam rows alike).`,
  '',
  '| proxy model | scenario | load | algorithm | u4 % | p50 ms | p99 ms | fast p99 ms | p99 / fast p99 | req/s | proxy busy % |',
  '|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|',
];
for (const proxy of PROXIES) {
  for (const scenario of SCENARIOS) {
    for (const { name: loadName, load } of LOADS) {
      for (const row of ROWS) {
        const result = simulate({ algorithm: row.algorithm, proxy, upstreams: scenario.upstreams, load, durationMs: seconds * 1000, seed, sample: row.sample });
        const total = result.served.reduce((sum, count) => sum + count, 0);
        const p99 = percentile(result.latenciesMs, 0.99);
        const fastP99 = percentile(result.fastLatenciesMs, 0.99);
        lines.push(
          `| ${proxy.name} | ${scenario.name} | ${loadName} | ${row.label} | ${((100 * (result.served.at(-1) ?? 0)) / total).toFixed(2)} | ${fmt(percentile(result.latenciesMs, 0.5))} | ${fmt(p99)} | ${fmt(fastP99)} | ${(p99 / fastP99).toFixed(2)} | ${result.requestsPerSecond.toFixed(0)} | ${(100 * result.proxyBusy).toFixed(0)} |`,
        );
      }
    }
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
