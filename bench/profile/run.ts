/**
 * `npm run bench:profile`: where a proxied request's CPU goes. For
 * balancebeam (`--workers 1`) and the minimal Node peer (node:http + undici),
 * each pinned to CPU 0 in front of the same two nginx origins, per scenario:
 * a warm-up, an unprofiled run (CPU per request from /proc), then a run under
 * V8's sampling profiler (started and stopped by SIGUSR2, preload.ts) whose
 * samples are attributed to parts of the request (categories.ts). Writes
 * bench/results/profile.md and one flame graph SVG per product and scenario.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrigins } from '../origins.js';
import { treeCpuSeconds } from '../proc-stats.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from '../processes.js';
import { binNodeFlags, startPinned, type BenchContext, type RunningProduct } from '../products.js';
import { freePort } from '../ports.js';
import { SCENARIOS, type Scenario } from '../scenarios.js';
import { chooseLoadTool, runWrk, writeWrkScript } from '../wrk.js';
import { waitFor } from './poll.js';
import { attribute, PARTS, type Attribution, type CpuProfile } from './categories.js';
import { flameGraphSvg } from './flame.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    /** Any of bench/scenarios.ts, e.g. `keepalive-500,response-64k`. */
    scenarios: { type: 'string', default: 'keepalive-50,new-connection' },
    /** Which of PROFILED below, e.g. `balancebeam` alone. */
    products: { type: 'string', default: 'balancebeam,undici-minimal' },
    out: { type: 'string' },
    /** Also keep each run's `.cpuprofile` in the output directory (for `node --cpu-prof`-style tools, or summary.js). */
    'keep-profiles': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const scenarios = values.scenarios.split(',').map((name) => {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`no scenario ${name}; there are ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return scenario;
});
const outDirectory = resolve(values.out ?? join(repoRoot, 'bench/results'));
mkdirSync(outDirectory, { recursive: true });
cleanUpOnExit();
const directory = mkdtempSync(join(tmpdir(), 'balancebeam-profile-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory;
const loadCpu = '1';
execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });
const preload = join(repoRoot, 'dist/bench/profile/preload.js');

interface Profiled {
  name: string;
  start(context: BenchContext, profileOut: string): Promise<RunningProduct>;
}

const PROFILED: readonly Profiled[] = [
  {
    name: 'balancebeam',
    async start(context, profileOut) {
      process.env['BALANCEBEAM_PROFILE_OUT'] = profileOut;
      const port = await freePort();
      const bin = join(repoRoot, 'dist/src/cli/main.js');
      const args = [...binNodeFlags(bin), '--import', preload, bin, '--bind', `127.0.0.1:${port}`];
      for (const origin of context.originPorts) args.push('--upstream', `127.0.0.1:${origin}`);
      args.push('--active-health-check-interval', '0', '--log-level', 'warn', '--workers', '1');
      return startPinned(context, 'balancebeam', port, process.execPath, args);
    },
  },
  {
    name: 'undici-minimal',
    async start(context, profileOut) {
      process.env['BALANCEBEAM_PROFILE_OUT'] = profileOut;
      const port = await freePort();
      const script = join(repoRoot, 'dist/bench/peers/undici-proxy.js');
      const origins = context.originPorts.map((origin) => `http://127.0.0.1:${origin}`);
      return startPinned(context, 'undici-minimal', port, process.execPath, ['--import', preload, script, String(port), ...origins]);
    },
  },
];

const products = values.products.split(',').map((name) => {
  const product = PROFILED.find((candidate) => candidate.name === name);
  if (product === undefined) throw new Error(`no product ${name}; there are ${PROFILED.map((p) => p.name).join(', ')}`);
  return product;
});

interface Row {
  product: string;
  scenario: string;
  requestsPerS: number;
  cpuUsPerRequest: number;
  profiledCpuUsPerRequest: number;
  attribution: Attribution;
}

const log = (line: string): void => console.log(`[profile] ${line}`);
const origins = await startOrigins(directory, loadCpu);
const context: BenchContext = { directory, repoRoot, originPorts: origins.ports, proxyCpu: '0', balancebeamRoot: repoRoot };
const loadTool = chooseLoadTool();
const rows: Row[] = [];
const startLoad = uptimeLoad();

for (const scenario of scenarios) {
  const script = writeWrkScript(directory, scenario);
  for (const product of products) {
    const profileOut = join(values['keep-profiles'] ? outDirectory : directory, `profile-${product.name}-${scenario.name}.cpuprofile`);
    rmSync(profileOut, { force: true }); // a kept one from an earlier run must not pass for this run's
    const running = await product.start(context, profileOut);
    const pid = running.pid as number;
    try {
      const load = { port: running.port, scenario, script, cpu: loadCpu, logPath: join(directory, 'wrk.log'), tool: loadTool };
      await runWrk({ ...load, seconds: warmupSeconds });
      let cpuBefore = treeCpuSeconds(pid);
      const plain = await runWrk({ ...load, seconds });
      const cpuUsPerRequest = ((treeCpuSeconds(pid) - cpuBefore) * 1e6) / plain.requests;
      process.kill(pid, 'SIGUSR2');
      cpuBefore = treeCpuSeconds(pid);
      const profiled = await runWrk({ ...load, seconds });
      const profiledCpuUsPerRequest = ((treeCpuSeconds(pid) - cpuBefore) * 1e6) / profiled.requests;
      process.kill(pid, 'SIGUSR2');
      await waitFor(() => existsSync(profileOut), 10_000, `${product.name}'s profile`);
      const profile = JSON.parse(readFileSync(profileOut, 'utf8')) as CpuProfile;
      const attribution = attribute(profile);
      const svg = join(outDirectory, `profile-${product.name}-${scenario.name}.svg`);
      writeFileSync(svg, flameGraphSvg(profile, `${product.name}, ${scenario.description}: ${cpuUsPerRequest.toFixed(1)} µs CPU per request (unprofiled)`));
      rows.push({ product: product.name, scenario: scenario.name, requestsPerS: plain.requestsPerS, cpuUsPerRequest, profiledCpuUsPerRequest, attribution });
      log(`${product.name} ${scenario.name}: ${Math.round(plain.requestsPerS)} req/s, ${cpuUsPerRequest.toFixed(1)} µs/req (${profiledCpuUsPerRequest.toFixed(1)} profiled)`);
    } finally {
      await running.stop();
    }
  }
}
await origins.stop();
writeFileSync(join(outDirectory, 'profile.md'), report(rows, scenarios));
console.log(report(rows, scenarios));

function uptimeLoad(): string {
  return loadavg().map((value) => value.toFixed(2)).join(' ');
}

function report(all: readonly Row[], measured: readonly Scenario[]): string {
  const lines = [
    `Per-request CPU budget (\`npm run bench:profile\`, ${new Date().toISOString()}, load average at start ${startLoad}, at end ${uptimeLoad()}).`,
    `Each proxy pinned to CPU 0, origins (nginx) and wrk on CPU 1; ${seconds} s per run after ${warmupSeconds} s of warm-up.`,
    "µs per request = the part's share of the profiled main-thread samples × the unprofiled run's CPU per request (from /proc:",
    "user + system, all threads). The sampler counts wall time on the main thread, so on a busy machine its shares hold but",
    'its own totals do not: the shares are what to read. The profiler costs the difference between the two CPU rows;',
    "its own samples (stopping and serializing the profile, under node:inspector's post) are left out of the shares.",
    '',
  ];
  for (const scenario of measured) {
    const here = all.filter((row) => row.scenario === scenario.name);
    lines.push(`#### ${scenario.description}`, '', `| part: µs per request (share) | ${here.map((row) => row.product).join(' | ')} |`, `|---|${here.map(() => '---:').join('|')}|`);
    const microseconds = (row: Row, ms: number): number => (ms / row.attribution.busyMs) * row.cpuUsPerRequest;
    for (const part of PARTS) {
      const shares = here.map((row) => (row.attribution.byPart.get(part.name) ?? 0) / row.attribution.busyMs);
      if (shares.every((share) => share < 0.0005)) continue;
      const cells = here.map((row, index) => `${microseconds(row, row.attribution.byPart.get(part.name) ?? 0).toFixed(2)} (${(100 * (shares[index] as number)).toFixed(1)}%)`);
      lines.push(`| ${part.name} | ${cells.join(' | ')} |`);
    }
    lines.push(
      `| **CPU per request** | ${here.map((row) => `**${row.cpuUsPerRequest.toFixed(2)}**`).join(' | ')} |`,
      `| CPU per request, while profiled | ${here.map((row) => row.profiledCpuUsPerRequest.toFixed(2)).join(' | ')} |`,
      `| req/s | ${here.map((row) => Math.round(row.requestsPerS)).join(' | ')} |`,
      '',
      `Flame graphs: ${here.map((row) => `[${row.product}](bench/results/profile-${row.product}-${row.scenario}.svg)`).join(', ')}.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
