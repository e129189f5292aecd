/**
 * `npm run bench:memory`: resident memory at 500 keep-alive connections, idle
 * and under load, for nginx, HAProxy, the minimal Node proxy (undici-minimal,
 * with Node's default flags), Node's own floor (a bare node:http server that
 * proxies nothing) and balancebeam `--workers 1` with several sets of V8
 * flags (young-generation size, GC threads, ...), each pinned to CPU 0 in
 * front of the same nginx origins. For the Node processes it also says what
 * the megabytes are: V8's heap spaces, buffers outside the heap, the rest of
 * the anonymous memory (malloc, stacks, V8's reserves) and file-backed pages
 * (the node binary's code), so the trade between RSS and CPU per request is
 * stated as numbers. Writes bench/results/memory.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrigins } from '../origins.js';
import { processTree, samplePeakRss, treeCpuSeconds } from '../proc-stats.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from '../processes.js';
import { binNodeFlags, PRODUCTS, startPinned, type BenchContext, type RunningProduct } from '../products.js';
import { freePort } from '../ports.js';
import { SCENARIOS } from '../scenarios.js';
import { locateTool } from '../tools.js';
import { chooseLoadTool, runWrk, writeWrkScript } from '../wrk.js';
import { waitFor } from '../profile/poll.js';
import { holdConnections } from './hold.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: 'string', default: '8' },
    /** Rounds over all variants, interleaved (so a busy spell of the machine hits all alike); medians are reported. */
    rounds: { type: 'string', default: '1' },
    connections: { type: 'string', default: '500' },
    'semi-spaces': { type: 'string', default: '32,16,8,4,2' },
    /**
     * More balancebeam variants, `;`-separated, each `label=node flags` (the flags replace the bin's),
     * e.g. `--variants 'semi 8, 1 GC thread=--max-semi-space-size=8 --single-threaded-gc'`; NAME=value words
     * are set in its environment instead (`MALLOC_ARENA_MAX=2`).
     */
    variants: { type: 'string', default: '' },
    /** Which of nginx, haproxy, undici-minimal and floor (Node's bare node:http) run beside balancebeam. */
    peers: { type: 'string', default: 'nginx,haproxy,undici-minimal,floor' },
    out: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));
const connections = Number(values.connections);
const semiSpaces = values['semi-spaces'] === '' ? [] : values['semi-spaces'].split(',').map(Number);
const peers = new Set(values.peers.split(',').filter((name) => name !== ''));
const outDirectory = resolve(values.out ?? join(repoRoot, 'bench/results'));
mkdirSync(outDirectory, { recursive: true });
cleanUpOnExit();
const directory = mkdtempSync(join(tmpdir(), 'balancebeam-memory-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory;
const loadCpu = '1';
execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });
const preload = join(repoRoot, 'dist/bench/profile/preload.js');
const memoryOut = join(directory, 'memory.json');
process.env['BALANCEBEAM_MEMORY_OUT'] = memoryOut;

interface Variant {
  name: string;
  description: string;
  /** Whether it runs the preload and so can say what its heap holds. */
  node: boolean;
  start(context: BenchContext): Promise<RunningProduct>;
}

const peer = (name: string): Variant => {
  const product = PRODUCTS.find((candidate) => candidate.name === name);
  if (product === undefined) throw new Error(`no product ${name}`);
  return { name, description: product.description, node: false, start: (context) => product.start(context) };
};

/** A Node script of the bench run with the preload (so its heap can be reported) and Node's default flags. */
const nodeScript = (name: string, description: string, script: string, withOrigins: boolean): Variant => ({
  name,
  description,
  node: true,
  async start(context) {
    const port = await freePort();
    const args = ['--import', preload, join(repoRoot, 'dist/bench', script), String(port)];
    if (withOrigins) args.push(...context.originPorts.map((origin) => `http://127.0.0.1:${origin}`));
    return startPinned(context, name.replace(/\W+/g, '-'), port, process.execPath, args);
  },
});

const bin = join(repoRoot, 'dist/src/cli/main.js');
const binFlags = binNodeFlags(bin);
const semiSpaceVariant = (semiSpaceMb: number): Variant => {
  const flags = [...binFlags.filter((flag) => !flag.startsWith('--max-semi-space-size')), `--max-semi-space-size=${semiSpaceMb}`];
  return balancebeam(`semi ${semiSpaceMb}`, flags);
};
const balancebeam = (label: string, flags: readonly string[]): Variant => {
  const asShipped = flags.length === binFlags.length && flags.every((flag) => binFlags.includes(flag));
  return {
    name: `balancebeam ${label}${asShipped ? ' (bin)' : ''}`,
    description: `balancebeam --workers 1, node ${flags.join(' ')}`,
    node: true,
    async start(context) {
      const port = await freePort();
      // NAME=value words are the environment (e.g. MALLOC_ARENA_MAX=2), through env(1); the rest are node's flags.
      const environment = flags.filter((flag) => /^[A-Z_]+=/.test(flag));
      const nodeFlags = flags.filter((flag) => !environment.includes(flag));
      const args = [...environment, process.execPath, ...nodeFlags, '--import', preload, bin, '--bind', `127.0.0.1:${port}`];
      for (const origin of context.originPorts) args.push('--upstream', `127.0.0.1:${origin}`);
      args.push('--active-health-check-interval', '0', '--log-level', 'warn', '--workers', '1', '--keep-alive-timeout', '120');
      return startPinned(context, 'balancebeam', port, 'env', args);
    },
  };
};

const extraVariants = values.variants
  .split(';')
  .filter((entry) => entry.trim() !== '')
  .map((entry) => {
    const at = entry.indexOf('=');
    const flags = at === -1 ? '' : entry.slice(at + 1);
    return balancebeam((at === -1 ? entry : entry.slice(0, at)).trim(), flags.split(/\s+/).filter((flag) => flag !== ''));
  });

const variants: Variant[] = [
  ...(['nginx', 'haproxy'] as const).filter((name) => peers.has(name) && locateTool(name) !== null).map(peer),
  ...(peers.has('undici-minimal')
    ? [nodeScript('undici-minimal', 'node:http + one undici Pool per origin (bench/peers/undici-proxy.ts), Node 20 defaults', 'peers/undici-proxy.js', true)]
    : []),
  ...(peers.has('floor')
    ? [nodeScript('node floor', 'bare node:http answering every request itself (bench/memory/floor-server.ts), proxies nothing', 'memory/floor-server.js', false)]
    : []),
  ...semiSpaces.map(semiSpaceVariant),
  ...extraVariants,
];

interface HeapReport {
  usage: NodeJS.MemoryUsage;
  spaces: Record<string, { size: number; used: number; physical: number }>;
}

interface Breakdown {
  rssMb: number;
  anonymousMb: number;
  heap?: HeapReport;
}

interface Row {
  variant: Variant;
  idle: Breakdown;
  loaded: Breakdown;
  peakRssMb: number;
  cpuUsPerRequest: number;
  requestsPerS: number;
  errors: number;
  /** wrk's errors by kind (connect, read, write, timeout, status), for the notes. */
  errorKinds: string;
}

const MB = 2 ** 20;
const treeRssMb = (pid: number): { rssMb: number; anonymousMb: number } => {
  let rss = 0;
  let anonymous = 0;
  for (const { pid: member } of processTree(pid)) {
    try {
      const rollup = readFileSync(`/proc/${member}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
      anonymous += Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return { rssMb: rss / MB, anonymousMb: anonymous / MB };
};

async function readBreakdown(variant: Variant, pid: number): Promise<Breakdown> {
  const memory = treeRssMb(pid);
  if (!variant.node) return memory;
  rmSync(memoryOut, { force: true });
  process.kill(pid, 'SIGWINCH');
  await waitFor(() => existsSync(memoryOut), 10_000, 'the heap report');
  return { ...memory, heap: JSON.parse(readFileSync(memoryOut, 'utf8')) as HeapReport };
}

const log = (line: string): void => console.log(`[memory] ${line}`);
const startLoad = loadavg().map((value) => value.toFixed(2)).join(' ');
const origins = await startOrigins(directory, loadCpu);
const context: BenchContext = { directory, repoRoot, originPorts: origins.ports, proxyCpu: '0', balancebeamRoot: repoRoot };
const keepalive = SCENARIOS.find((scenario) => scenario.name === 'keepalive-500');
if (keepalive === undefined) throw new Error('no keepalive-500 scenario');
const scenario = { ...keepalive, connections };
const script = writeWrkScript(directory, scenario);
const loadTool = chooseLoadTool();
const measured = new Map<Variant, Row[]>(variants.map((variant) => [variant, []]));

for (let round = 1; round <= rounds; round++) {
  for (const variant of variants) measured.get(variant)?.push(await measure(variant, round));
}
await origins.stop();
const rows = variants.map((variant) => medianRow(measured.get(variant) ?? []));
const markdown = report(rows);
writeFileSync(join(outDirectory, 'memory.md'), markdown);
console.log(markdown);

/** The median of each figure over the rounds (of an even number, the mean of the middle two); the breakdown is the median-CPU round's. */
function medianRow(all: readonly Row[]): Row {
  const median = (pick: (row: Row) => number): number => {
    const sorted = all.map(pick).sort((a, b) => a - b);
    const low = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
    return (low + (sorted[Math.floor(sorted.length / 2)] ?? low)) / 2;
  };
  const middle = [...all].sort((a, b) => a.cpuUsPerRequest - b.cpuUsPerRequest)[Math.floor((all.length - 1) / 2)] as Row;
  return {
    ...middle,
    idle: { ...middle.idle, rssMb: median((row) => row.idle.rssMb) },
    cpuUsPerRequest: median((row) => row.cpuUsPerRequest),
    peakRssMb: median((row) => row.peakRssMb),
    requestsPerS: median((row) => row.requestsPerS),
    errors: median((row) => row.errors),
    errorKinds: all.map((row) => row.errorKinds || 'none').join(' / '),
  };
}

async function measure(variant: Variant, round: number): Promise<Row> {
  const running = await variant.start(context);
  const pid = running.pid as number;
  try {
    const load = { port: running.port, scenario, script, cpu: loadCpu, logPath: join(directory, 'wrk.log'), tool: loadTool };
    await runWrk({ ...load, seconds: 2 });
    const held = await holdConnections(running.port, connections);
    const idle = await readBreakdown(variant, pid);
    held.close();
    const cpuBefore = treeCpuSeconds(pid);
    const peak = samplePeakRss(pid);
    // The heap report is taken while the load runs (at 3/4 of it), not after it has stopped.
    const loadedReport = new Promise<Breakdown>((resolveReport, reject) => {
      setTimeout(() => {
        readBreakdown(variant, pid).then(resolveReport, reject);
      }, seconds * 750);
    });
    const result = await runWrk({ ...load, seconds });
    const loaded = await loadedReport;
    const cpuUsPerRequest = ((treeCpuSeconds(pid) - cpuBefore) * 1e6) / result.requests;
    const row = { variant, idle, loaded, peakRssMb: peak.stop() / MB, cpuUsPerRequest, requestsPerS: result.requestsPerS, errors: result.errors, errorKinds: result.errorKinds };
    log(`round ${round} ${variant.name}: idle ${idle.rssMb.toFixed(1)} MB, under load ${row.peakRssMb.toFixed(1)} MB peak, ${cpuUsPerRequest.toFixed(1)} µs/req, ${Math.round(result.requestsPerS)} req/s, errors ${result.errors}${result.errors > 0 ? ` (${result.errorKinds})` : ''}`);
    return row;
  } finally {
    await running.stop();
  }
}

function report(all: readonly Row[]): string {
  const mb = (bytes: number): string => (bytes / MB).toFixed(1);
  const lines = [
    `Memory at ${connections} keep-alive connections (\`npm run bench:memory\`, ${new Date().toISOString()}, load average at start ${startLoad}).`,
    `Each proxy alone on CPU 0; origins (nginx) and the load on CPU 1. Idle: ${connections} connections each served one GET and held open.`,
    `Under load: wrk -c${connections} for ${seconds} s (peak RSS sampled every 100 ms; CPU per request from /proc).` +
      (rounds > 1 ? ` ${rounds} rounds, the variants interleaved; medians (the breakdown is the median-CPU round's).` : ''),
    '',
    '| product | RSS idle (MB) | RSS under load, peak (MB) | CPU µs/req | req/s | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...all.map((row) => `| ${row.variant.name} | ${row.idle.rssMb.toFixed(1)} | ${row.peakRssMb.toFixed(1)} | ${row.cpuUsPerRequest.toFixed(1)} | ${Math.round(row.requestsPerS)} | ${row.errors} |`),
    '',
    ...(all.some((row) => row.errors > 0) ? [`Errors by kind: ${all.filter((row) => row.errors > 0).map((row) => `${row.variant.name} ${row.errorKinds}`).join('; ')}.`, ''] : []),
    'What the megabytes of each Node process are, idle / under load (MB). V8 heap spaces are their physical (resident) size;',
    '"other anonymous" is anonymous memory outside V8\'s heap and buffers: malloc (OpenSSL, llhttp, libuv), thread stacks,',
    "V8's own tables; file-backed is mapped code and data (the node binary, shared libraries).",
    '',
    '| variant | new space | old space | code space | large objects | other heap | buffers (external) | other anonymous | file-backed | RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of all) {
    if (!row.variant.node) continue;
    const cell = (pick: (breakdown: Breakdown) => number): string => `${mb(pick(row.idle))} / ${mb(pick(row.loaded))}`;
    const space = (breakdown: Breakdown, name: string): number => breakdown.heap?.spaces[name]?.physical ?? 0;
    const heapTotal = (breakdown: Breakdown): number => Object.values(breakdown.heap?.spaces ?? {}).reduce((sum, s) => sum + s.physical, 0);
    const named = ['new_space', 'old_space', 'code_space', 'large_object_space', 'new_large_object_space'];
    const otherHeap = (breakdown: Breakdown): number => heapTotal(breakdown) - named.reduce((sum, name) => sum + space(breakdown, name), 0);
    const external = (breakdown: Breakdown): number => breakdown.heap?.usage.external ?? 0;
    const otherAnonymous = (breakdown: Breakdown): number => breakdown.anonymousMb * MB - heapTotal(breakdown) - external(breakdown);
    lines.push(
      `| ${row.variant.name} | ${cell((b) => space(b, 'new_space'))} | ${cell((b) => space(b, 'old_space'))} | ${cell((b) => space(b, 'code_space'))} | ` +
        `${cell((b) => space(b, 'large_object_space') + space(b, 'new_large_object_space'))} | ${cell(otherHeap)} | ${cell(external)} | ${cell(otherAnonymous)} | ` +
        `${cell((b) => (b.rssMb - b.anonymousMb) * MB)} | ${cell((b) => b.rssMb * MB)} |`,
    );
  }
  lines.push('', ...all.map((row) => `- ${row.variant.name}: ${row.variant.description}`), '');
  return `${lines.join('\n')}\n`;
}
