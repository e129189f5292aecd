/**
 * `npm run bench:balancing`: four local upstreams with controllable latency,
 * every keyless algorithm of balancebeam beside nginx and HAProxy, each
 * under an open-loop and a closed-loop load in two scenarios ("one slow",
 * "degrades"); then the hashing scenario, computed in-process. Writes a
 * markdown report (stdout and bench/results/balancing.md) and an SVG plot of
 * the latency distributions (bench/results/balancing.svg); `--smoke` writes
 * to bench/results/tmp/ instead.
 *
 *   npm run bench:balancing -- [--smoke] [--seconds N] [--warmup N] [--only NAME,NAME] [--out DIR]
 *
 * A product is started afresh for each cell (an algorithm's estimates must
 * not carry over from one to the next) and stopped after it; everything
 * it starts is killed on exit, error, Ctrl-C or SIGTERM (bench/processes.ts).
 * A product whose tool is missing is skipped and named.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { treeCpuSeconds } from '../proc-stats.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from '../processes.js';
import type { BenchContext, Product } from '../products.js';
import { locateTool } from '../tools.js';
import { drawLatencyCdf } from './chart.js';
import { measureHashing } from './hashing.js';
import { closedLoop, openLoop, REQUEST_TIMEOUT_MS, type LoadResult } from './load.js';
import { BALANCING_PRODUCTS, SMOKE_PRODUCTS } from './products.js';
import { cellsTable, hashingTable, summarizeCell, type Cell } from './report.js';
import { LATENCY_SCENARIOS, type LatencyScenario, type LoadKind } from './scenarios.js';
import { startUpstreams } from './upstreams.js';

const OPEN_RATE = 300;
const IN_FLIGHT_CAP = 256;
const CLOSED_CLIENTS = 16;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    smoke: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const smoke = values.smoke === true;
const seconds = Number(values.seconds ?? (smoke ? 1.5 : 5));
if (!(seconds > 0 && seconds <= 120)) throw new Error(`--seconds: a number of seconds above 0 and at most 120, not ${values.seconds}`);
/**
 * Unmeasured load before each cell's measured one, on the same product and upstreams: a Node proxy spends its
 * first second or so compiling (its event loop ran 20–50 ms late then, against under 10 ms after), which nginx
 * and HAProxy do not, and a deployed proxy is long past. The algorithm's state carries on into the measured
 * part, as it would in a running proxy; nothing carries over from one cell to the next.
 */
const warmupSeconds = Number(values.warmup ?? (smoke ? 0.5 : 2));
if (!(warmupSeconds >= 0 && warmupSeconds <= 60)) throw new Error(`--warmup: a number of seconds from 0 to 60, not ${values.warmup}`);
/** `--only balancebeam` takes every balancebeam row; `--only "nginx least_conn"` just that one. */
const only = values.only === undefined ? (smoke ? SMOKE_PRODUCTS : null) : values.only.split(',').map((name) => name.trim());
const matches = (product: Product): boolean =>
  only === null || only.some((name) => product.name === name || product.name.startsWith(`${name} `));

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const outDirectory = resolve(values.out ?? join(repoRoot, 'bench/results', smoke ? 'tmp' : ''));
mkdirSync(outDirectory, { recursive: true });
cleanUpOnExit();
const startedAt = Date.now();
const log = (line: string): void => console.error(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const twoCpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) >= 2;
const proxyCpu = '0';
// The upstreams and the load run in this process: keep it off the proxy's CPU.
if (twoCpus) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const chosen = BALANCING_PRODUCTS.filter(matches);
const missing = (product: Product): string[] => product.needs.filter((tool) => locateTool(tool) === null);
const products = chosen.filter((product) => missing(product).length === 0);
const skipped = chosen.filter((product) => missing(product).length > 0);
const skippedList = skipped.length === 0 ? 'none' : skipped.map((product) => `${product.name} (${missing(product).join(', ')} not installed)`).join(', ');
if (products.length === 0) throw new Error(`no product to run (--only ${values.only ?? ''}; skipped: ${skippedList})`);

const directory = mkdtempSync(join(tmpdir(), 'balancebeam-balancing-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory;
const loadBefore = loadavg();
log(`scratch directory: ${directory}`);
log(`skipped: ${skippedList}`);
log(
  `${products.length} products × ${LATENCY_SCENARIOS.length} scenarios × 2 loads × (${warmupSeconds} s warm-up + ${seconds} s): about ${Math.ceil((products.length * LATENCY_SCENARIOS.length * 2 * (seconds + warmupSeconds)) / 60)} min of load`,
);

/** One cell: fresh upstreams and a fresh product, so no estimate carries over from the cell before. */
async function measure(product: Product, scenario: LatencyScenario, load: LoadKind): Promise<Cell> {
  const upstreams = await startUpstreams(scenario.initialMs);
  const context: BenchContext = { directory, repoRoot, originPorts: upstreams.map((upstream) => upstream.port), proxyCpu, balancebeamRoot: repoRoot };
  const slow = upstreams[upstreams.length - 1];
  const halfway = (): void => {
    if (scenario.halfwayMs !== null && slow !== undefined) slow.delayMs = scenario.halfwayMs;
  };
  try {
    const running = await product.start(context);
    try {
      if (warmupSeconds > 0) {
        const warmup = { port: running.port, seconds: warmupSeconds, halfway: () => {} };
        if (load === 'open') await openLoop({ ...warmup, ratePerSecond: OPEN_RATE, inFlightCap: IN_FLIGHT_CAP });
        else await closedLoop({ ...warmup, clients: CLOSED_CLIENTS });
      }
      const cpuBefore = running.pid === null ? 0 : treeCpuSeconds(running.pid);
      const benchBefore = process.cpuUsage();
      const result: LoadResult =
        load === 'open'
          ? await openLoop({ port: running.port, ratePerSecond: OPEN_RATE, seconds, inFlightCap: IN_FLIGHT_CAP, halfway })
          : await closedLoop({ port: running.port, clients: CLOSED_CLIENTS, seconds, halfway });
      const bench = process.cpuUsage(benchBefore);
      const cpuSeconds = { proxy: running.pid === null ? 0 : treeCpuSeconds(running.pid) - cpuBefore, bench: (bench.user + bench.system) / 1e6 };
      const cell = summarizeCell(product.name, scenario.name, load, result, cpuSeconds);
      log(
        `${product.name} · ${scenario.name} · ${load}: u4 ${cell.sharePercent[3]?.toFixed(1)} %, p99 ${cell.p99.toFixed(1)} ms, ${cell.requestsPerSecond.toFixed(0)} req/s, ${cell.errors} errors, proxy CPU ${cell.proxyCpuUsPerRequest.toFixed(0)} µs/req (${cell.proxyCpuPercent.toFixed(0)} % of a CPU)`,
      );
      return cell;
    } finally {
      await running.stop();
    }
  } finally {
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  }
}

const cells: Cell[] = [];
/** Cells whose product would not start or whose load failed: named in the report, the run goes on. */
const failures: string[] = [];
for (const scenario of LATENCY_SCENARIOS) {
  for (const load of ['open', 'closed'] as const) {
    for (const product of products) {
      try {
        cells.push(await measure(product, scenario, load));
      } catch (error) {
        const message = error instanceof Error ? error.message.split('\n', 1)[0] : String(error);
        log(`${product.name} · ${scenario.name} · ${load} failed: ${message}`);
        failures.push(`${product.name} · ${scenario.name} · ${load} (${message})`);
      }
    }
  }
}
const hashing = measureHashing();
const loadAfter = loadavg();
const elapsed = (Date.now() - startedAt) / 1000;

const svgPath = join(outDirectory, 'balancing.svg');
writeFileSync(svgPath, drawLatencyCdf(cells, `Latency distribution per algorithm (${seconds} s per cell)`));
const command = `npm run bench:balancing${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const fmtLoad = (load: number[]): string => load.map((value) => value.toFixed(2)).join(' / ');
const markdown = `# Balancing algorithms side by side

Command: \`${command}\` (${elapsed.toFixed(0)} s). Load average (1/5/15 min) before ${fmtLoad(loadBefore)}, after ${fmtLoad(loadAfter)}; ${twoCpus ? 'the proxy pinned to CPU 0, the upstreams and the load (this process) to CPU 1' : 'one CPU: everything shares it'}.

Upstreams: four node:http servers on loopback; each answer is tagged \`x-upstream\`. ${LATENCY_SCENARIOS.map((scenario) => `**${scenario.name}**: ${scenario.description}`).join('; ')}.
Loads (keep-alive, generated in Node): **open** — ${OPEN_RATE} req/s scheduled for ${seconds} s, latency from the scheduled send time (queueing counts), at most ${IN_FLIGHT_CAP} in flight (a request due beyond that is an error); **closed** — ${CLOSED_CLIENTS} clients, each sending its next request when the previous one is answered. Timeout ${REQUEST_TIMEOUT_MS} ms per request. Each product is started afresh for each cell (scenario × load), with fresh upstreams, and given ${warmupSeconds} s of the same load, unmeasured, before the ${seconds} s measured (the "degrades" change comes halfway through the measured part).
"fast p99" is the p99 of the answers from u1–u3 alone, through the same proxy in the same cell. "proxy CPU" is the user + system time of the proxy's processes over the measured part (/proc), per answered request and as a share of one CPU; "load + upstreams CPU" is this process's own (it runs the load and the four upstreams), to tell whether the client was the bottleneck.

Skipped: ${skippedList}.${failures.length === 0 ? '' : ` Failed cells: ${failures.join('; ')}.`}

Products: ${products.map((product) => `\`${product.name}\` (${product.description})`).join('; ')}.

${cellsTable(cells)}

Latency distributions: [${relative(outDirectory, svgPath)}](${relative(outDirectory, svgPath)}).

## Hashing (consistent-hash, computed in-process with src/balancing/consistent-hash.ts)

${hashingTable(hashing)}
`;
writeFileSync(join(outDirectory, 'balancing.md'), markdown);
process.stdout.write(markdown);
log(`wrote ${join(outDirectory, 'balancing.md')} and ${svgPath}`);
process.exit(0);
