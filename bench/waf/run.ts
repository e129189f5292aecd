/**
 * `npm run bench:waf` (issue 13): the attack and legitimate corpora of
 * test/data/waf-corpus/ replayed through balancebeam's WAF (the real CLI,
 * --waf block, default paranoia) and, when installed, through Apache with
 * ModSecurity 2 and the OWASP CRS (Debian's CRS 3.3; a CRS 4 checkout given
 * with --crs4 DIR), then the CPU each adds to a typical benign GET, measured
 * side by side (WAF off and on, alternating rounds) from /proc.
 *
 *   npm run bench:waf -- [--crs4 DIR] [--paranoia N] [--quick] [--no-modsecurity] [--cost-requests N]
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { treeCpuSeconds } from '../proc-stats.js';
import { attackRequests, legitimateRequests, TYPICAL_GET, type CorpusRequest } from './corpus.js';
import { evaluateRequest, newEngine } from './in-process.js';
import { replay } from './replay.js';
import { crs3, crs4, modsecurityInstalled, startBalancebeam, startModSecurity, startOrigin, type CrsLocation, type RunningServer } from './servers.js';

const args = process.argv.slice(2);
const option = (name: string): string | null => (args.includes(name) ? (args[args.indexOf(name) + 1] ?? null) : null);
const quick = args.includes('--quick');
const paranoia = Number(option('--paranoia') ?? 1);
const costRequests = Number(option('--cost-requests') ?? (quick ? 300 : 4000));
const crs4Dir = option('--crs4');

interface Product {
  readonly name: string;
  start(): Promise<RunningServer>;
}

interface Detection {
  readonly name: string;
  readonly perCategory: Map<string, { total: number; blocked: number }>;
  readonly overall: number;
  readonly categoryAverage: number;
  readonly falsePositives: Map<string, { total: number; blocked: number }>;
  readonly fpRate: number;
  readonly errors: number;
}

function sample<T>(items: readonly T[]): T[] {
  return quick ? items.filter((_, index) => index % 25 === 0) : [...items];
}

function tally(requests: readonly CorpusRequest[], statuses: readonly number[], key: (request: CorpusRequest) => string): Map<string, { total: number; blocked: number }> {
  const counts = new Map<string, { total: number; blocked: number }>();
  requests.forEach((request, index) => {
    const entry = counts.get(key(request)) ?? { total: 0, blocked: 0 };
    entry.total++;
    if (statuses[index] === 403) entry.blocked++;
    counts.set(key(request), entry);
  });
  return counts;
}

async function measureDetection(name: string, server: RunningServer, attacks: readonly CorpusRequest[], legit: readonly CorpusRequest[]): Promise<Detection> {
  const attackStatuses = await replay(server.port, attacks);
  const legitStatuses = await replay(server.port, legit);
  const perCategory = tally(attacks, attackStatuses, (request) => request.category);
  let blocked = 0;
  let sum = 0;
  for (const entry of perCategory.values()) {
    blocked += entry.blocked;
    sum += entry.blocked / entry.total;
  }
  const falsePositives = tally(legit, legitStatuses, (request) => request.category);
  const legitBlocked = [...falsePositives.values()].reduce((total, entry) => total + entry.blocked, 0);
  return {
    name,
    perCategory,
    overall: blocked / attacks.length,
    categoryAverage: sum / perCategory.size,
    falsePositives,
    fpRate: legit.length === 0 ? 0 : legitBlocked / legit.length,
    errors: [...attackStatuses, ...legitStatuses].filter((status) => status === 0).length,
  };
}

/** CPU µs per request of each server, alternating rounds so both see the same machine load. */
async function measureCost(servers: readonly { name: string; server: RunningServer }[], rounds: number): Promise<Map<string, number[]>> {
  const batch = Array.from({ length: costRequests }, () => TYPICAL_GET);
  const perRequest = new Map<string, number[]>(servers.map(({ name }) => [name, []]));
  for (const { server } of servers) await replay(server.port, batch.slice(0, 200)); // warm up
  for (let round = 0; round < rounds; round++) {
    for (const { name, server } of servers) {
      const before = treeCpuSeconds(server.pid);
      const statuses = await replay(server.port, batch);
      const after = treeCpuSeconds(server.pid);
      if (statuses.some((status) => status === 403 || status === 0)) throw new Error(`${name} refused the typical GET`);
      perRequest.get(name)?.push(((after - before) * 1e6) / batch.length);
    }
  }
  return perRequest;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const pct = (value: number): string => `${(100 * value).toFixed(1)}%`;

/** The WAF engine alone on the typical GET, in this process: CPU µs per evaluation (median of 5 runs). */
function engineMicroseconds(): number {
  const engine = newEngine({ paranoia });
  for (let i = 0; i < 5_000; i++) evaluateRequest(engine, TYPICAL_GET);
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    const start = process.cpuUsage();
    for (let i = 0; i < 20_000; i++) evaluateRequest(engine, TYPICAL_GET);
    const used = process.cpuUsage(start);
    runs.push((used.user + used.system) / 20_000);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const attacks = sample(attackRequests());
  const holdout = sample(attackRequests('attacks-holdout.json'));
  const legit = sample(legitimateRequests());
  console.log(`# bench:waf — ${attacks.length} attack requests, ${legit.length} legitimate; paranoia ${paranoia}; load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}\n`);
  const origin = await startOrigin();
  const products: Product[] = [{ name: `balancebeam --waf block --waf-paranoia ${paranoia}`, start: () => startBalancebeam(origin.port, ['--waf', 'block', '--waf-paranoia', String(paranoia)]) }];
  const crsSets: CrsLocation[] = [];
  if (!args.includes('--no-modsecurity') && modsecurityInstalled()) {
    const three = crs3();
    if (three !== null) crsSets.push(three);
    const four = crs4Dir === null ? null : crs4(crs4Dir);
    if (four !== null) crsSets.push(four);
    else if (crs4Dir !== null) console.log(`(no CRS 4 checkout at ${crs4Dir}: skipped)`);
    for (const crs of crsSets) {
      products.push({ name: `${crs.name}, PL${paranoia}`, start: () => startModSecurity(mkdtempSync(`${tmpdir()}/bench-waf-modsec-`), crs, paranoia) });
    }
  } else {
    console.log('(ModSecurity not installed or --no-modsecurity: balancebeam alone; apt-get install apache2 libapache2-mod-security2 modsecurity-crs for the comparison)\n');
  }

  // --cost-only: the CPU each WAF adds to a typical GET, without the detection replay (a minute instead of ten).
  if (args.includes('--cost-only')) {
    await measureAllCosts(origin, crsSets);
    return;
  }
  const results: Detection[] = [];
  const heldOut: Detection[] = [];
  for (const product of products) {
    const server = await product.start();
    try {
      results.push(await measureDetection(product.name, server, attacks, legit));
      heldOut.push(await measureDetection(product.name, server, holdout, []));
    } finally {
      await server.stop();
    }
  }

  console.log(`## Detection (share of attack requests answered 403)\n`);
  printDetection(results, attacks.length);
  console.log(`\n## Detection on the held-out payloads (${holdout.length} requests; lists never used while writing the rules)\n`);
  printDetection(heldOut, holdout.length);
  printFalsePositives(results, legit.length);
  await measureAllCosts(origin, crsSets);
}

function printDetection(results: readonly Detection[], requests: number): void {
  const categories = [...(results[0]?.perCategory.keys() ?? [])].sort();
  console.log(`| category | requests | ${results.map((result) => result.name).join(' | ')} |`);
  console.log(`|---|---:|${results.map(() => '---:').join('|')}|`);
  for (const category of categories) {
    const total = results[0]?.perCategory.get(category)?.total ?? 0;
    console.log(`| ${category} | ${total} | ${results.map((result) => { const entry = result.perCategory.get(category); return entry === undefined ? '–' : pct(entry.blocked / entry.total); }).join(' | ')} |`);
  }
  console.log(`| **overall** | ${requests} | ${results.map((result) => `**${pct(result.overall)}**`).join(' | ')} |`);
  console.log(`| **per-category average** | | ${results.map((result) => `**${pct(result.categoryAverage)}**`).join(' | ')} |`);
}

function printFalsePositives(results: readonly Detection[], requests: number): void {
  console.log(`\n## False positives (share of legitimate requests answered 403)\n`);
  const legitCategories = [...(results[0]?.falsePositives.keys() ?? [])];
  console.log(`| traffic | requests | ${results.map((result) => result.name).join(' | ')} |`);
  console.log(`|---|---:|${results.map(() => '---:').join('|')}|`);
  for (const category of legitCategories) {
    const total = results[0]?.falsePositives.get(category)?.total ?? 0;
    console.log(`| ${category} | ${total} | ${results.map((result) => { const entry = result.falsePositives.get(category); return entry === undefined ? '–' : pct(entry.blocked / entry.total); }).join(' | ')} |`);
  }
  console.log(`| **all legitimate** | ${requests} | ${results.map((result) => `**${(100 * result.fpRate).toFixed(2)}%**`).join(' | ')} |`);
  console.log(`\nrequests without an answer (connection errors): ${results.map((result) => `${result.name}: ${result.errors}`).join('; ')}`);
}

async function measureAllCosts(origin: { port: number; close(): Promise<void> }, crsSets: readonly CrsLocation[]): Promise<void> {
  console.log(`\n## Cost on a typical benign GET (${TYPICAL_GET.url}, a cookie, browser headers)\n`);
  console.log(`WAF engine alone, in process: ${engineMicroseconds().toFixed(1)} µs per request\n`);
  const rounds = quick ? 1 : 5;
  const balancebeamOff = await startBalancebeam(origin.port, []);
  const balancebeamOn = await startBalancebeam(origin.port, ['--waf', 'block', '--waf-paranoia', String(paranoia)]);
  const costServers = [
    { name: 'balancebeam, WAF off', server: balancebeamOff },
    { name: 'balancebeam, --waf block', server: balancebeamOn },
  ];
  const modsecServers: RunningServer[] = [];
  if (crsSets.length > 0) {
    const off = await startModSecurity(mkdtempSync(`${tmpdir()}/bench-waf-modsec-`), null, paranoia);
    modsecServers.push(off);
    costServers.push({ name: 'Apache, ModSecurity off', server: off });
    for (const crs of crsSets) {
      const on = await startModSecurity(mkdtempSync(`${tmpdir()}/bench-waf-modsec-`), crs, paranoia);
      modsecServers.push(on);
      costServers.push({ name: `Apache, ${crs.name}`, server: on });
    }
  }
  try {
    const cost = await measureCost(costServers, rounds);
    console.log(`CPU of the server's processes (/proc utime+stime) per request, ${costRequests} requests per round, median of ${rounds} alternating rounds; load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}:\n`);
    console.log('| server | CPU µs per request | rounds |');
    console.log('|---|---:|---|');
    for (const [name, values] of cost) console.log(`| ${name} | ${median(values).toFixed(1)} | ${values.map((value) => value.toFixed(0)).join(', ')} |`);
    const off = median(cost.get('balancebeam, WAF off') ?? []);
    const on = median(cost.get('balancebeam, --waf block') ?? []);
    console.log(`\nbalancebeam's WAF adds ${(on - off).toFixed(1)} µs per request (${((100 * (on - off)) / off).toFixed(0)}%).`);
    const apacheOff = median(cost.get('Apache, ModSecurity off') ?? []);
    for (const crs of crsSets) {
      const apacheOn = median(cost.get(`Apache, ${crs.name}`) ?? []);
      console.log(`${crs.name} adds ${(apacheOn - apacheOff).toFixed(1)} µs per request.`);
    }
  } finally {
    await balancebeamOff.stop();
    await balancebeamOn.stop();
    for (const server of modsecServers) await server.stop();
    await origin.close();
  }
}

await main();
