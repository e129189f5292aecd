/**
 * A/B on a busy machine: any of the harness's products (bench/products.ts),
 * each from this build or another built checkout, and balancebeam with other
 * node flags, side by side, interleaved row by row over several short rounds.
 * `npm run bench` measures one build, and on a shared machine two runs
 * minutes apart differ more than a 10 % effect. Each row starts its proxy
 * afresh (pinned to CPU 0, origins and wrk on CPU 1, as bench/run.ts), warms
 * it up and measures it as the harness does (bench/measure-row.ts: CPU of the
 * whole process tree per request, from /proc; peak RSS). The order of the
 * contenders rotates from round to round, so a busy spell of the machine
 * does not always hit the same one. Reports, per scenario and contender, the
 * medians over rounds, and the median (and spread) of its per-round ratio to
 * the first contender and, when one is undici-minimal, to that yardstick.
 * Writes nothing into the repository.
 *
 *   node dist/bench/ab.js [--together] [--rounds N] [--seconds S] [--warmup S] [--scenarios a,b] CONTENDER CONTENDER ...
 *
 * A contender is `[LABEL=]PRODUCT[@BUILD][:NODEFLAGS]`:
 * - PRODUCT: a product name of bench/products.ts (`balancebeam`, `balancebeam-w2-rl-memory`, `undici-minimal`, `nginx`, …);
 * - `@BUILD`: a balancebeam product run from that built checkout (its dist/src/cli/main.js) instead of this one;
 * - `:NODEFLAGS`: a balancebeam product run with these node flags (space-separated) instead of its bin's;
 * - `LABEL=`: its name in the output (default: the contender as written); needed to tell two of one product apart.
 *
 *   node dist/bench/ab.js --together --scenarios response-64k,keepalive-50 before=balancebeam@/tmp/x-before after=balancebeam undici-minimal
 *   node dist/bench/ab.js --scenarios keepalive-500 'semi 8=balancebeam' 'semi 32=balancebeam:--max-semi-space-size=32 --no-allocation-site-pretenuring' undici-minimal
 *   node dist/bench/ab.js --scenarios keepalive-50,post-64k balancebeam-w2 balancebeam-w2-rl-memory@/tmp/rl2-before balancebeam-w2-rl-memory
 *
 * `--together` runs a round's rows at the same time, each proxy on CPU 0
 * with its own wrk on CPU 1: on a machine other work keeps busy, every row
 * then meets the same contention, so their ratio holds where rows one after
 * the other can differ by 3×. Absolute figures are then those of a shared core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureRow, type RowFigures } from './measure-row.js';
import { startOrigins } from './origins.js';
import { cleanUpOnExit, removeOnExit, RUN_MARKER } from './processes.js';
import { PRODUCTS, type BenchContext, type Product, type RunningProduct } from './products.js';
import { median, present } from './report.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { locateTool } from './tools.js';
import { chooseLoadTool, writeWrkScript } from './wrk.js';

const USAGE = `usage: node dist/bench/ab.js [--together] [--rounds N] [--seconds S] [--warmup S] [--scenarios a,b] CONTENDER CONTENDER ...
  CONTENDER: [LABEL=]PRODUCT[@BUILD][:NODEFLAGS]   e.g. before=balancebeam@/tmp/x-before  'semi 32=balancebeam:--max-semi-space-size=32'  undici-minimal`;
const YARDSTICK = 'undici-minimal';

interface Contender {
  readonly label: string;
  readonly product: Product;
  /** The checkout run as balancebeam. */
  readonly root: string;
  /** Null: the bin's. */
  readonly nodeFlags: readonly string[] | null;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function fail(message: string): never {
  console.error(`ab: ${message}\n${USAGE}`);
  process.exit(2);
}

function count(text: string, name: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) fail(`--${name} takes a whole number ≥ ${minimum}, got ${text}`);
  return value;
}

function parseContender(spec: string): Contender {
  const colon = spec.indexOf(':');
  const head = colon === -1 ? spec : spec.slice(0, colon);
  const equals = head.indexOf('=');
  const label = equals === -1 ? spec : head.slice(0, equals);
  const [name, build] = head.slice(equals + 1).split('@') as [string, string | undefined];
  const product = PRODUCTS.find((candidate) => candidate.name === name);
  if (product === undefined) fail(`no product ${name} in ${spec}; the products: ${PRODUCTS.map((known) => known.name).join(', ')}`);
  // Only balancebeam's start reads the build and the node flags (BenchContext); elsewhere they would be silently ignored.
  if ((build !== undefined || colon !== -1) && !name.startsWith('balancebeam')) fail(`${spec}: @BUILD and :NODEFLAGS go with a balancebeam product only`);
  const missing = product.needs.filter((tool) => locateTool(tool) === null);
  if (missing.length > 0) fail(`${spec}: ${missing.join(', ')} not installed`);
  const root = build === undefined ? repoRoot : resolve(build);
  if (!existsSync(join(root, 'dist/src/cli/main.js'))) fail(`${spec}: no dist/src/cli/main.js in ${root} (build it with npx tsc -p tsconfig.json)`);
  const nodeFlags = colon === -1 ? null : spec.slice(colon + 1).split(/\s+/).filter((flag) => flag !== '');
  return { label, product, root, nodeFlags };
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      scenarios: { type: 'string', default: 'keepalive-50' },
      together: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
const rounds = count(values.rounds, 'rounds', 1);
const seconds = count(values.seconds, 'seconds', 1);
const warmupSeconds = count(values.warmup, 'warmup', 0);
const scenarios: Scenario[] = values.scenarios.split(',').map(
  (name) => SCENARIOS.find((candidate) => candidate.name === name) ?? fail(`no scenario ${name}; the scenarios: ${SCENARIOS.map((known) => known.name).join(', ')}`),
);
const contenders = positionals.map(parseContender);
if (contenders.length < 2) fail('give two contenders or more');
const labels = contenders.map((contender) => contender.label);
const repeated = labels.find((label, index) => labels.indexOf(label) !== index);
if (repeated !== undefined) fail(`two contenders are called ${repeated}: give one a LABEL=`);

cleanUpOnExit();
const twoCpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) >= 2;
const proxyCpu = '0';
const loadCpu = twoCpus ? '1' : '0';
// The harness's pinning: this process, wrk and the origins off the proxy's CPU.
execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });
const directory = mkdtempSync(join(tmpdir(), 'balancebeam-ab-'));
removeOnExit(directory);
process.env[RUN_MARKER] = directory;
const tool = chooseLoadTool();
const origins = await startOrigins(directory, loadCpu);
const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');
const startLoad = load();
const contextOf = (contender: Contender): BenchContext => ({
  directory,
  repoRoot,
  originPorts: origins.ports,
  proxyCpu,
  balancebeamRoot: contender.root,
  ...(contender.nodeFlags === null ? {} : { nodeFlags: contender.nodeFlags }),
});

/** scenario → one map a round, label → figures */
const measured = new Map<string, Map<string, RowFigures>[]>(scenarios.map((scenario) => [scenario.name, []]));

console.log(`scratch directory: ${directory}`);
console.log(
  `${rounds} rounds × ${contenders.length} contenders × ${scenarios.length} scenarios, ${warmupSeconds} s warm-up + ${seconds} s per row${values.together ? ', a round\'s rows together' : ''}; ` +
    `load: ${tool === 'wrk' ? 'wrk' : 'the Node load loop (wrk is not installed)'}; origins: ${origins.description}; load average ${startLoad}`,
);
for (let round = 0; round < rounds; round++) {
  const order = contenders.map((_, index) => contenders[(index + round) % contenders.length] as Contender);
  for (const scenario of scenarios) {
    const script = writeWrkScript(directory, scenario);
    const byLabel = new Map<string, RowFigures>();
    measured.get(scenario.name)?.push(byLabel);
    const measure = async (contender: Contender, running: RunningProduct, index: number): Promise<void> => {
      const figures = await measureRow(running, { port: running.port, scenario, script, cpu: loadCpu, logPath: join(directory, `wrk-${index}.log`), tool }, warmupSeconds, seconds);
      byLabel.set(contender.label, figures);
      const { result } = figures;
      console.log(
        `round ${round + 1}/${rounds} ${scenario.name} ${contender.label}${values.together ? ' (together)' : ''}: ${Math.round(result.requestsPerS)} req/s, ` +
          `${figures.cpuUsPerRequest?.toFixed(1) ?? '–'} µs/req, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}${result.errors > 0 ? ` (${result.errorKinds})` : ''}, ` +
          `RSS ${figures.peakRssMb?.toFixed(1) ?? '–'} MB (load ${load()})`,
      );
    };
    const running: RunningProduct[] = [];
    try {
      if (values.together) {
        // All started first, then warmed up and measured side by side: the same seconds for each.
        for (const contender of order) running.push(await contender.product.start(contextOf(contender)));
        await Promise.all(order.map((contender, index) => measure(contender, running[index] as RunningProduct, index)));
      } else {
        for (const contender of order) {
          const one = await contender.product.start(contextOf(contender));
          running.push(one);
          await measure(contender, one, 0);
          await (running.pop() as RunningProduct).stop();
        }
      }
    } finally {
      for (const product of running) await product.stop();
    }
  }
}
await origins.stop();

const fixed = (value: number | null, digits: number): string => (value === null ? '–' : value.toFixed(digits));
/** Per round, this contender's figure ÷ the reference's, where both served. */
const ratios = (list: readonly Map<string, RowFigures>[], label: string, reference: string, figure: (row: RowFigures) => number | null): number[] =>
  present(
    list.map((byLabel) => {
      const own = byLabel.get(label);
      const base = byLabel.get(reference);
      const ownFigure = own === undefined ? null : figure(own);
      const baseFigure = base === undefined ? null : figure(base);
      return ownFigure === null || baseFigure === null || baseFigure === 0 ? null : ownFigure / baseFigure;
    }),
  );
const withSpread = (list: readonly number[]): string =>
  list.length === 0 ? '–' : `${fixed(median(list), 3)} (${Math.min(...list).toFixed(2)}–${Math.max(...list).toFixed(2)})`;

const first = (contenders[0] as Contender).label;
const yardstick = contenders.find((contender) => contender.product.name === YARDSTICK && contender.nodeFlags === null)?.label ?? null;
console.log(
  `\nA/B: ${rounds} rounds of ${seconds} s per row after ${warmupSeconds} s of warm-up, ${values.together ? "a round's rows run together" : 'rows interleaved'}; ` +
    `load average at start ${startLoad}, at end ${load()}. A row that served nothing is left out of the medians.`,
);
for (const scenario of scenarios) {
  const list = measured.get(scenario.name) ?? [];
  console.log(
    `\n${scenario.name}\n| contender | CPU µs/req (median) | req/s (median) | CPU ÷ ${first}, same round (median, spread) | CPU ÷ ${yardstick ?? YARDSTICK} (median, spread) | req/s ÷ ${yardstick ?? YARDSTICK} (median) | p99 ms (median) | errors | peak RSS MB (median) |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { label } of contenders) {
    const rows = list.map((byLabel) => byLabel.get(label)).filter((row): row is RowFigures => row !== undefined);
    const cpu = present(rows.map((row) => row.cpuUsPerRequest));
    const toPeer = yardstick === null ? [] : ratios(list, label, yardstick, (row) => row.cpuUsPerRequest);
    const rateToPeer = yardstick === null ? [] : ratios(list, label, yardstick, (row) => row.result.requestsPerS);
    const servedNothing = rows.length - cpu.length;
    console.log(
      `| ${label}${servedNothing > 0 ? ` (${servedNothing} round(s) served nothing)` : ''} | ${fixed(median(cpu), 1)} | ${fixed(median(rows.map((row) => Math.round(row.result.requestsPerS))), 0)} | ` +
        `${withSpread(ratios(list, label, first, (row) => row.cpuUsPerRequest))} | ${withSpread(toPeer)} | ${rateToPeer.length === 0 ? '–' : fixed(median(rateToPeer), 3)} | ` +
        `${fixed(median(rows.map((row) => row.result.p99Ms)), 1)} | ${rows.reduce((sum, row) => sum + row.result.errors, 0)} | ${fixed(median(present(rows.map((row) => row.peakRssMb))), 1)} |`,
    );
  }
}
process.exit(0);
