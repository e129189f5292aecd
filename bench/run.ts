/**
 * `npm run bench`: installs what is missing (unless `--no-install`), starts
 * two origins, then for
 * each round starts every product in turn (rotating who goes first), drives
 * every scenario through it with wrk while reading its CPU time and memory
 * from /proc, and writes the medians as markdown, CSV and an SVG chart.
 * Everything it starts is killed on exit, error, Ctrl-C or SIGTERM. A product
 * whose tool is missing is skipped (logged as `skipped: …`); without nginx
 * the origins are Node servers, without wrk the Node load loop drives the load.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureActorCost } from './actor-cost-runner.js';
import { drawChartFile } from './chart.js';
import { describeMachine } from './machine.js';
import { parseBenchOptions } from './options.js';
import { measureRow } from './measure-row.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from './processes.js';
import { PRODUCTS, type BenchContext, type Product } from './products.js';
import { startOrigins } from './origins.js';
import { adminOverhead, REFERENCE_PRODUCT, summarize, toCsv, toMarkdown, type Measurement } from './report.js';
import { SCENARIOS } from './scenarios.js';
import { locateTool } from './tools.js';
import { chooseLoadTool, runWrk, writeWrkScript } from './wrk.js';
import { updateBenchmarksFile } from './benchmarks-file.js';
import { measureVisualizerCost, visualizerCostMarkdown } from './visualizer-cost.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const options = parseBenchOptions(process.argv.slice(2));
const startedAt = Date.now();
cleanUpOnExit();

if (options.install) {
  try {
    execFileSync('bash', [join(repoRoot, 'bench/install.sh')], { stdio: 'inherit' });
  } catch {
    // Not root, or no network: measure what is installed (the skipped products are named below).
    console.log('bench: installing nginx, HAProxy and wrk failed; running with what is installed');
  }
}

const twoCpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) >= 2;
const proxyCpu = '0';
const loadCpu = twoCpus ? '1' : '0';
const pinning = twoCpus
  ? 'the proxy under test on CPU 0 (`taskset -c 0`), the origins (one nginx worker, two ports), wrk (one thread) and this harness on CPU 1. ' +
    '`balancebeam-w2` runs its primary and both workers on CPU 0 as well: every proxy gets the same single core, so that row shows what the cluster (IPC to the primary, two event loops) costs, not extra parallelism — ' +
    'giving it CPU 1 too would take that core from wrk and the origins and make the rows incomparable. ' +
    '`balancebeam-w2-2cpu` is that other reading: the same cluster pinned to both CPUs (`taskset -c 0,1`), so its workers run in parallel but share CPU 1 with wrk and the origins; it answers "what does a second core buy", and is the one row not on a single core.'
  : 'only one CPU: everything shares CPU 0 (figures are not comparable with 2-CPU runs).';
// The harness samples /proc while wrk runs: keep it off the proxy's CPU.
execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });

const chosen: Product[] = PRODUCTS.filter(
  (product) => options.only === null || options.only.includes(product.name) || product.name === REFERENCE_PRODUCT,
);
const missingTools = (product: Product): string[] => product.needs.filter((tool) => locateTool(tool) === null);
const products = chosen.filter((product) => missingTools(product).length === 0);
const skipped = chosen.filter((product) => missingTools(product).length > 0);
const loadTool = chooseLoadTool();
const scenarios = SCENARIOS.filter((scenario) => options.scenarios === null || options.scenarios.includes(scenario.name));
const defaultOut = join(repoRoot, 'bench/results');
const outDirectory = resolve(options.out ?? (options.smoke ? join(defaultOut, 'tmp') : defaultOut));
mkdirSync(outDirectory, { recursive: true });

const directory = mkdtempSync(join(tmpdir(), 'balancebeam-bench-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory; // inherited by every child

const log = (line: string): void => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const expected = options.rounds * products.length * scenarios.length * (options.seconds + options.warmupSeconds);
log(`scratch directory: ${directory}`);
const skippedList = skipped.length === 0 ? 'none' : skipped.map((product) => `${product.name} (${missingTools(product).join(', ')} not installed)`).join(', ');
log(`skipped: ${skippedList}`);
log(
  loadTool === 'wrk'
    ? 'load: wrk'
    : 'load: the Node load loop (bench/node-load.ts; wrk is not installed): every product is exercised, but the figures are capped by the loop and not comparable with wrk runs',
);
log(`${products.length} products × ${scenarios.length} scenarios × ${options.rounds} rounds, ${options.seconds} s per row + ${options.warmupSeconds} s warm-up: about ${Math.ceil(expected / 60)} min of load`);

const machine = describeMachine(repoRoot);
log('actor-path micro-benchmark…');
const actorCost = await measureActorCost(repoRoot, proxyCpu, options.smoke);
for (const cost of actorCost) log(`  ${cost.label}: ${cost.microsecondsPerRequest.toFixed(2)} µs, ${cost.heapBytesPerRequest ?? 'n/a'} heap bytes`);
// What --admin adds to each request, alone (bench/admin-cost.ts): steadier than the end-to-end on/off rows.
const adminFigures = JSON.parse(
  execFileSync('taskset', ['-c', proxyCpu, process.execPath, join(repoRoot, 'dist/bench/admin-cost.js'), ...(options.smoke ? ['--quick'] : [])], {
    encoding: 'utf8',
  }).split('\n')[0] ?? '{}',
) as { nanosecondsPerRequest?: number };
log(`  admin server's per-request figures: ${adminFigures.nanosecondsPerRequest ?? '?'} ns CPU`);

const origins = await startOrigins(directory, loadCpu);
log(`origins: ${origins.description}`);
const balancebeamRoot = options.balancebeam === null ? repoRoot : resolve(options.balancebeam);
if (balancebeamRoot !== repoRoot) log(`balancebeam: the build in ${balancebeamRoot}`);
const context: BenchContext = { directory, repoRoot, originPorts: origins.ports, proxyCpu, balancebeamRoot };
const scripts = new Map(scenarios.map((scenario) => [scenario.name, writeWrkScript(directory, scenario)]));
const measurements: Measurement[] = [];
const wrkLog = join(directory, 'wrk.log');

for (let round = 1; round <= options.rounds; round++) {
  // Rotate who goes first, so no product always meets a fresh (or a tired) machine.
  const order = products.map((_, index) => products[(index + round - 1) % products.length] as Product);
  for (const product of order) {
    const running = await product.start(context);
    try {
      const [firstScenario] = SCENARIOS;
      if (options.startWarmupSeconds > 0 && firstScenario !== undefined) {
        const script = scripts.get(firstScenario.name) ?? writeWrkScript(directory, firstScenario);
        await runWrk({ port: running.port, scenario: firstScenario, script, cpu: loadCpu, logPath: wrkLog, tool: loadTool, seconds: options.startWarmupSeconds });
      }
      for (const scenario of scenarios) {
        const script = scripts.get(scenario.name) ?? '';
        const load = { port: running.port, scenario, script, cpu: loadCpu, logPath: wrkLog, tool: loadTool };
        const { result, cpuUsPerRequest, peakRssMb } = await measureRow(running, load, options.warmupSeconds, options.seconds);
        const measurement: Measurement = {
          round,
          product: product.name,
          scenario: scenario.name,
          requests: result.requests,
          requestsPerS: result.requestsPerS,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          errors: result.errors,
          cpuUsPerRequest,
          peakRssMb,
        };
        measurements.push(measurement);
        log(
          `round ${round}/${options.rounds} ${product.name.padEnd(18)} ${scenario.name.padEnd(14)} ` +
            `${Math.round(result.requestsPerS).toString().padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
            `errors ${result.errors}${result.errors > 0 ? ` (${result.errorKinds})` : ''}  CPU ${measurement.cpuUsPerRequest?.toFixed(1) ?? '–'} µs/req  RSS ${measurement.peakRssMb?.toFixed(1) ?? '–'} MB`,
        );
      }
    } finally {
      await running.stop();
    }
  }
}
// The visualizer's feed, off and on, against the same build (issue 15).
log('visualizer feed cost…');
const vizRounds = options.smoke ? 1 : Math.max(3, options.rounds);
const vizSeconds = options.smoke ? 1 : options.seconds;
const vizCost = await measureVisualizerCost({ directory, repoRoot, originPorts: origins.ports, proxyCpu, loadCpu, tool: loadTool, seconds: vizSeconds, rounds: vizRounds });
for (const row of vizCost.rows) log(`  ${row.mode.padEnd(5)} ${row.cpuUsPerRequest.toFixed(1)} µs/req  ratio ${row.ratio.toFixed(3)}`);
log(`  trace: ${Math.round(vizCost.traceBytesPer1000)} bytes per 1,000 requests`);
await origins.stop();

const rows = summarize(measurements, scenarios, products);
const csvPath = join(outDirectory, 'latest.csv');
const svgPath = join(outDirectory, 'latest.svg');
const mdPath = join(outDirectory, 'latest.md');
writeFileSync(csvPath, toCsv(rows));
drawChartFile(csvPath, svgPath, `balancebeam and peers — medians of ${options.rounds} round(s), ${machine.cpuCount} × ${machine.cpuModel}`);
const markdown = toMarkdown({
  rows,
  scenarios,
  products,
  machine,
  actorCost,
  settings: {
    rounds: options.rounds,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    smoke: options.smoke,
    startedAt: new Date(startedAt).toISOString(),
    wallSeconds: (Date.now() - startedAt) / 1000,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  },
  pinning,
  harness: `load by ${loadTool === 'wrk' ? 'wrk' : 'the Node load loop (wrk not installed; figures capped by it)'}; origins: ${origins.description}; skipped: ${skippedList}.`,
  chartFile: 'latest.svg',
  adminOverhead: adminOverhead(measurements, scenarios),
  adminFiguresNs: adminFigures.nanosecondsPerRequest ?? null,
});
const report = `${markdown}\n${visualizerCostMarkdown(vizCost, vizRounds, vizSeconds)}`;
writeFileSync(mdPath, report);
console.log(`\n${report}`);
// Only a full run into the committed results directory becomes the record in BENCHMARKS.md.
const benchmarksFile = join(repoRoot, 'BENCHMARKS.md');
const completeRun = skipped.length === 0 && loadTool === 'wrk' && locateTool('nginx') !== null;
if (outDirectory === defaultOut && !options.smoke && completeRun && balancebeamRoot === repoRoot && existsSync(benchmarksFile)) {
  writeFileSync(benchmarksFile, updateBenchmarksFile(readFileSync(benchmarksFile, 'utf8'), report, relative(repoRoot, svgPath)));
  log('BENCHMARKS.md updated');
}
log(`results in ${outDirectory} (latest.md, latest.csv, latest.svg)`);
