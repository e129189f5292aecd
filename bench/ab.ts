/**
 * Before/after on a busy machine: balancebeam builds (and node flags) side by
 * side, interleaved row by row over several short rounds, with the minimal
 * Node peer as the round's yardstick. Each row starts its proxy afresh
 * (pinned to CPU 0, origins and wrk on CPU 1, as bench/run.ts), warms it up,
 * and measures CPU per request from /proc. The order of the builds rotates
 * from round to round, so a busy spell of the machine does not always hit the
 * same one. Reports, per scenario and build, the median CPU per request and
 * the median over rounds of its ratio to the first build and to the peer in
 * the same round, with the spread. Writes nothing into the repository.
 *
 *   node dist/bench/ab.js --builds 'before=/tmp/x-before,after=.' --scenarios keepalive-500,response-64k --rounds 5
 *   node dist/bench/ab.js --builds 'semi 8=.,semi 32=.@--max-semi-space-size=32 --no-allocation-site-pretenuring'
 *
 * A build is `label=DIR` (a built checkout; its bin's node flags) or
 * `label=DIR@FLAGS` (those node flags instead). `--together` runs a round's
 * rows at the same time instead (see below).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrigins } from './origins.js';
import { samplePeakRss, treeCpuSeconds } from './proc-stats.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from './processes.js';
import { binNodeFlags, startPinned, type BenchContext, type RunningProduct } from './products.js';
import { freePort } from './ports.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { chooseLoadTool, runWrk, writeWrkScript, type WrkResult } from './wrk.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    builds: { type: 'string', default: 'this=.' },
    scenarios: { type: 'string', default: 'keepalive-50' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    /** Leave out the undici-minimal yardstick. */
    'no-peer': { type: 'boolean', default: false },
    /**
     * Run the rows of a round at the same time, each proxy on CPU 0 with its own wrk on CPU 1: on a machine
     * other work keeps busy, every row then meets the same contention, so their ratio holds where rows one
     * after the other can differ by 3x. Absolute figures are then those of a shared core.
     */
    together: { type: 'boolean', default: false },
  },
});

interface Row {
  label: string;
  start(context: BenchContext): Promise<RunningProduct>;
}

const builds: Row[] = values.builds.split(',').map((entry) => {
  const at = entry.indexOf('=');
  if (at === -1) throw new Error(`a build is label=DIR or label=DIR@FLAGS, got ${entry}`);
  const label = entry.slice(0, at);
  const [dir, flags] = entry.slice(at + 1).split('@') as [string, string | undefined];
  const bin = join(resolve(repoRoot, dir), 'dist/src/cli/main.js');
  const nodeFlags = flags === undefined ? binNodeFlags(bin) : flags.split(/\s+/).filter((flag) => flag !== '');
  return {
    label,
    async start(context) {
      const port = await freePort();
      const args = [...nodeFlags, bin, '--bind', `127.0.0.1:${port}`];
      for (const origin of context.originPorts) args.push('--upstream', `127.0.0.1:${origin}`);
      args.push('--active-health-check-interval', '0', '--log-level', 'warn', '--workers', '1');
      return startPinned(context, label.replace(/\W+/g, '-'), port, process.execPath, args);
    },
  };
});
const peer: Row = {
  label: 'undici-minimal',
  async start(context) {
    const port = await freePort();
    const script = join(repoRoot, 'dist/bench/peers/undici-proxy.js');
    return startPinned(context, 'undici-minimal', port, process.execPath, [script, String(port), ...context.originPorts.map((origin) => `http://127.0.0.1:${origin}`)]);
  },
};
const rows = values['no-peer'] ? builds : [...builds, peer];
const scenarios = values.scenarios.split(',').map((name) => {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  return scenario;
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);

cleanUpOnExit();
const directory = mkdtempSync(join(tmpdir(), 'balancebeam-ab-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory;
const loadCpu = '1';
execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });
const origins = await startOrigins(directory, loadCpu);
const context: BenchContext = { directory, repoRoot, originPorts: origins.ports, proxyCpu: '0', balancebeamRoot: repoRoot };
const tool = chooseLoadTool();
const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');
const startLoad = load();

interface Measured {
  cpuUs: number;
  requestsPerS: number;
  p99Ms: number;
  errors: number;
  peakRssMb: number;
}
/** measured[scenario][label][round] */
const measured = new Map<string, Map<string, Measured[]>>();

for (let round = 0; round < rounds; round++) {
  for (const scenario of scenarios) {
    const script = writeWrkScript(directory, scenario);
    const byLabel = measured.get(scenario.name) ?? new Map<string, Measured[]>();
    measured.set(scenario.name, byLabel);
    const order = rows.map((_, index) => rows[(index + round) % rows.length] as Row);
    if (values.together) {
      await measureTogether(order, scenario, script, round, byLabel);
      continue;
    }
    for (const row of order) {
      const running = await row.start(context);
      try {
        const run = { port: running.port, scenario, script, cpu: loadCpu, logPath: join(directory, 'wrk.log'), tool };
        if (warmupSeconds > 0) await runWrk({ ...run, seconds: warmupSeconds });
        const pid = running.pid as number;
        const rss = samplePeakRss(pid);
        const before = treeCpuSeconds(pid);
        const result = await runWrk({ ...run, seconds });
        const cpuUs = ((treeCpuSeconds(pid) - before) * 1e6) / Math.max(1, result.requests);
        const peakRssMb = rss.stop() / 2 ** 20;
        const entry = { cpuUs, requestsPerS: result.requestsPerS, p99Ms: result.p99Ms, errors: result.errors, peakRssMb };
        byLabel.set(row.label, [...(byLabel.get(row.label) ?? []), entry]);
        console.log(
          `[ab] round ${round + 1}/${rounds} ${scenario.name} ${row.label}: ${Math.round(result.requestsPerS)} req/s, ${cpuUs.toFixed(1)} µs/req, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}, RSS ${peakRssMb.toFixed(1)} MB (load ${load()})`,
        );
      } finally {
        await running.stop();
      }
    }
  }
}
await origins.stop();

/** The rows of one round at once (--together): started one by one, then warmed up and measured side by side. */
async function measureTogether(order: readonly Row[], scenario: Scenario, script: string, round: number, byLabel: Map<string, Measured[]>): Promise<void> {
  const running: RunningProduct[] = [];
  try {
    for (const row of order) running.push(await row.start(context));
    const runs = running.map((product, index) => ({ port: product.port, scenario, script, cpu: loadCpu, logPath: join(directory, `wrk-${index}.log`), tool }));
    if (warmupSeconds > 0) await Promise.all(runs.map((run) => runWrk({ ...run, seconds: warmupSeconds })));
    const pids = running.map((product) => product.pid as number);
    const rss = pids.map((pid) => samplePeakRss(pid));
    const before = pids.map((pid) => treeCpuSeconds(pid));
    const results = await Promise.all(runs.map((run) => runWrk({ ...run, seconds })));
    order.forEach((row, index) => {
      const result = results[index] as WrkResult;
      const cpuUs = ((treeCpuSeconds(pids[index] as number) - (before[index] as number)) * 1e6) / Math.max(1, result.requests);
      const peakRssMb = (rss[index] as { stop(): number }).stop() / 2 ** 20;
      byLabel.set(row.label, [...(byLabel.get(row.label) ?? []), { cpuUs, requestsPerS: result.requestsPerS, p99Ms: result.p99Ms, errors: result.errors, peakRssMb }]);
      console.log(
        `[ab] round ${round + 1}/${rounds} ${scenario.name} ${row.label} (together): ${Math.round(result.requestsPerS)} req/s, ${cpuUs.toFixed(1)} µs/req, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}, RSS ${peakRssMb.toFixed(1)} MB (load ${load()})`,
      );
    });
  } finally {
    for (const product of running) await product.stop();
  }
}

const median = (list: readonly number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const spread = (list: readonly number[]): string => `${Math.min(...list).toFixed(2)}–${Math.max(...list).toFixed(2)}`;
const first = builds[0]?.label as string;
console.log(`\nA/B: ${rounds} rounds of ${seconds} s per row after ${warmupSeconds} s of warm-up, rows interleaved; load average at start ${startLoad}, at end ${load()}.`);
for (const scenario of scenarios) {
  const byLabel = measured.get(scenario.name) as Map<string, Measured[]>;
  console.log(`\n${scenario.name}\n| build | CPU µs/req (median) | req/s (median) | CPU ÷ ${first}, same round (median, spread) | CPU ÷ undici-minimal (median, spread) | req/s ÷ undici-minimal (median) | peak RSS MB |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const base = byLabel.get(first) as Measured[];
  const yardstick = byLabel.get(peer.label);
  for (const row of rows) {
    const list = byLabel.get(row.label) as Measured[];
    const toFirst = list.map((entry, index) => entry.cpuUs / (base[index] as Measured).cpuUs);
    const toPeer = yardstick === undefined ? [] : list.map((entry, index) => entry.cpuUs / (yardstick[index] as Measured).cpuUs);
    const rateToPeer = yardstick === undefined ? [] : list.map((entry, index) => entry.requestsPerS / (yardstick[index] as Measured).requestsPerS);
    console.log(
      `| ${row.label} | ${median(list.map((entry) => entry.cpuUs)).toFixed(1)} | ${Math.round(median(list.map((entry) => entry.requestsPerS)))} | ${median(toFirst).toFixed(3)} (${spread(toFirst)}) | ${toPeer.length === 0 ? '–' : `${median(toPeer).toFixed(3)} (${spread(toPeer)})`} | ${rateToPeer.length === 0 ? '–' : median(rateToPeer).toFixed(3)} | ${median(list.map((entry) => entry.peakRssMb)).toFixed(1)} |`,
    );
  }
}
