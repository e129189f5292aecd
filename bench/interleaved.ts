/**
 * A/B rows of the harness's products, from one build or several, interleaved
 * in one run: `npm run bench` measures one build, and on a shared machine
 * two runs minutes apart differ more than a 10 % effect. Each round starts
 * every product afresh in rotating order and drives each scenario as the
 * harness does (1 s of warm-up, then the measured seconds; CPU of the whole
 * process tree from /proc), then prints each row's ratio to the first
 * product of the same round, and the medians over the rounds.
 *
 *   node dist/bench/interleaved.js [--rounds N] [--seconds S] [--warmup S] --scenarios a,b PRODUCT[@BUILD] ...
 *
 * `PRODUCT@BUILD` runs the product from another built checkout (its
 * dist/src/cli/main.js), e.g. the parent commit built in a scratch directory.
 * Writes nothing in the repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrigins } from './origins.js';
import { treeCpuSeconds } from './proc-stats.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from './processes.js';
import { PRODUCTS, type BenchContext, type Product } from './products.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { chooseLoadTool, runWrk, writeWrkScript } from './wrk.js';

interface Contender {
  /** As given on the command line: the product, and `@build` when not this checkout. */
  readonly label: string;
  readonly product: Product;
  readonly root: string;
}

interface Row {
  readonly cpuUsPerRequest: number;
  readonly requestsPerS: number;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values, positionals } = parseArgs({
  options: { rounds: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' }, scenarios: { type: 'string' } },
  allowPositionals: true,
});
const rounds = Number(values.rounds ?? 6);
const seconds = Number(values.seconds ?? 3);
const warmupSeconds = Number(values.warmup ?? 1);
const scenarios: Scenario[] = (values.scenarios ?? 'keepalive-50').split(',').map((name) => {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`no scenario ${name}: ${SCENARIOS.map((known) => known.name).join(', ')}`);
  return scenario;
});
const contenders: Contender[] = positionals.map((label) => {
  const [name, build] = label.split('@');
  const product = PRODUCTS.find((candidate) => candidate.name === name);
  if (product === undefined) throw new Error(`no product ${name ?? ''}`);
  return { label, product, root: build === undefined ? repoRoot : resolve(build) };
});
if (contenders.length < 2) throw new Error('usage: interleaved.js [--rounds N] [--seconds S] [--warmup S] --scenarios a,b PRODUCT[@BUILD] PRODUCT[@BUILD] ...');

cleanUpOnExit();
const twoCpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) >= 2;
const proxyCpu = '0';
const loadCpu = twoCpus ? '1' : '0';
// The harness's pinning: this process, wrk and the origins off the proxy's CPU.
execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });
const directory = mkdtempSync(join(tmpdir(), 'balancebeam-interleaved-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory;
const tool = chooseLoadTool();
const origins = await startOrigins(directory, loadCpu);
const scripts = new Map(scenarios.map((scenario) => [scenario.name, writeWrkScript(directory, scenario)]));
const wrkLog = join(directory, 'wrk.log');
/** scenario → round → label → row */
const rows = new Map<string, Map<number, Map<string, Row>>>();
const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');

console.log(`scratch directory: ${directory}`);
console.log(`${rounds} rounds × ${contenders.length} products × ${scenarios.length} scenarios, ${warmupSeconds} s warm-up + ${seconds} s; load average ${load()}`);
for (let round = 1; round <= rounds; round++) {
  const order = contenders.map((_, index) => contenders[(index + round - 1) % contenders.length] as Contender);
  for (const contender of order) {
    const context: BenchContext = { directory, repoRoot, originPorts: origins.ports, proxyCpu, balancebeamRoot: contender.root };
    const running = await contender.product.start(context);
    try {
      for (const scenario of scenarios) {
        const run = { port: running.port, scenario, script: scripts.get(scenario.name) ?? '', cpu: loadCpu, logPath: wrkLog, tool };
        if (warmupSeconds > 0) await runWrk({ ...run, seconds: warmupSeconds });
        const before = running.pid === null ? 0 : treeCpuSeconds(running.pid);
        const result = await runWrk({ ...run, seconds });
        const cpu = running.pid === null ? 0 : treeCpuSeconds(running.pid) - before;
        // A row that served nothing is reported, and left out of the medians.
        const row: Row = { cpuUsPerRequest: result.requests === 0 ? Infinity : (cpu * 1e6) / result.requests, requestsPerS: result.requestsPerS };
        let byRound = rows.get(scenario.name);
        if (byRound === undefined) rows.set(scenario.name, (byRound = new Map<number, Map<string, Row>>()));
        let byLabel = byRound.get(round);
        if (byLabel === undefined) byRound.set(round, (byLabel = new Map<string, Row>()));
        byLabel.set(contender.label, row);
        console.log(
          `round ${round} ${contender.label.padEnd(40)} ${scenario.name.padEnd(14)} ${Math.round(row.requestsPerS).toString().padStart(6)} req/s ` +
            `${row.cpuUsPerRequest.toFixed(1).padStart(8)} µs/req  load ${load()}`,
        );
      }
    } finally {
      await running.stop();
    }
  }
}
await origins.stop();

const median = (list: readonly number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const reference = (contenders[0] as Contender).label;
console.log(`\nCPU per request, and its ratio to ${reference} in the same round (median over rounds [each round]); load average at the end ${load()}`);
for (const scenario of scenarios) {
  console.log(`${scenario.name}:`);
  const byRound = rows.get(scenario.name) ?? new Map<number, Map<string, Row>>();
  for (const contender of contenders) {
    const cpus: number[] = [];
    const ratios: number[] = [];
    for (const byLabel of byRound.values()) {
      const row = byLabel.get(contender.label);
      const base = byLabel.get(reference);
      if (row === undefined || !Number.isFinite(row.cpuUsPerRequest)) continue;
      cpus.push(row.cpuUsPerRequest);
      if (base !== undefined && Number.isFinite(base.cpuUsPerRequest)) ratios.push(row.cpuUsPerRequest / base.cpuUsPerRequest);
    }
    console.log(
      `  ${contender.label.padEnd(40)} ${median(cpus).toFixed(1).padStart(8)} µs/req  ratio ${median(ratios).toFixed(2)} [${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}]` +
        (cpus.length < byRound.size ? `  (${byRound.size - cpus.length} round(s) served nothing)` : ''),
    );
  }
}
process.exit(0);
