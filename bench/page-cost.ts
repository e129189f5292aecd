/**
 * What an open visualizer page costs the balancer per second, apart from
 * request traffic: the real CLI with the admin server on (and its feed),
 * idle, its CPU (every process of it, from /proc) over a span with no page,
 * then over the same span with what the page asks (bench/page-watcher.ts:
 * the SSE feed, /api/upstreams every 2 s, /api/changes every 3 s), rounds
 * interleaved. The added CPU per second, over the CPU a saturated proxy
 * core spends per second (1 s), is the share the page adds at full load:
 * the same as the CPU-per-request ratio then, since the work per request is
 * unchanged. On a shared machine it is steadier than the end-to-end rows,
 * whose round-to-round spread is larger than a few percent.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/page-cost.js [--seconds 10] [--rounds 3] [--workers 1]
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrigins } from './origins.js';
import { watchPage } from './page-watcher.js';
import { freePort, waitUntilAnswering, waitUntilListening } from './ports.js';
import { treeCpuSeconds } from './proc-stats.js';
import { cleanUpOnExit, removeOnExit, startTracked, stopTracked } from './processes.js';
import { binNodeFlags } from './products.js';

const TOKEN = 'bench-admin-token-0123456789';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' }, workers: { type: 'string', default: '1' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const workers = Number(values.workers);
cleanUpOnExit();
const directory = mkdtempSync(join(tmpdir(), 'balancebeam-page-cost-'));
removeOnExit(directory);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const origins = await startOrigins(directory, '1');
const bin = join(repoRoot, 'dist/src/cli/main.js');
const port = await freePort();
const adminPort = await freePort();
const args = [...binNodeFlags(bin), bin, '--bind', `127.0.0.1:${port}`, '--active-health-check-interval', '0', '--log-level', 'warn', '--workers', String(workers)];
for (const origin of origins.ports) args.push('--upstream', `127.0.0.1:${origin}`);
args.push('--admin', `127.0.0.1:${adminPort}`, '--admin-token', TOKEN);
const started = startTracked('taskset', ['-c', '0', process.execPath, ...args], join(directory, 'balancebeam.log'), { cwd: repoRoot });
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const micros = { closed: [] as number[], open: [] as number[] };
try {
  await waitUntilAnswering(port, 'balancebeam');
  await waitUntilListening(adminPort, 'the admin server');
  // The page's first /api/upstreams starts the metrics' collectors (event-loop delay, GC): once, then they stay.
  (await watchPage(adminPort, TOKEN)).stop();
  await sleep(1_000);
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 === 0 ? (['closed', 'open'] as const) : (['open', 'closed'] as const)) {
      const page = mode === 'open' ? await watchPage(adminPort, TOKEN) : null;
      const before = treeCpuSeconds(started.pid);
      await sleep(seconds * 1000);
      micros[mode].push(((treeCpuSeconds(started.pid) - before) * 1e6) / seconds);
      if (page !== null && page.frames() === 0) throw new Error('the page read no frames');
      page?.stop();
      await sleep(500);
    }
  }
} finally {
  await stopTracked(started);
  await origins.stop();
}
const median = (list: number[]): number => [...list].sort((a, b) => a - b)[list.length >> 1] as number;
const added = median(micros.open) - median(micros.closed);
const result = {
  workers,
  rounds,
  seconds,
  idleCpuUsPerSecond: Math.round(median(micros.closed)),
  pageOpenCpuUsPerSecond: Math.round(median(micros.open)),
  addedUsPerSecond: Math.round(added),
  /** Of one saturated core: the CPU-per-request ratio the page adds at full load. */
  shareOfACore: added / 1e6,
  closedRounds: micros.closed.map(Math.round),
  openRounds: micros.open.map(Math.round),
  loadAverage: loadavg().map((load) => load.toFixed(2)).join(' '),
};
console.log(JSON.stringify(result));
console.log(
  `page open: +${result.addedUsPerSecond} µs CPU per second (${result.idleCpuUsPerSecond} → ${result.pageOpenCpuUsPerSecond}, median of ${rounds}), ` +
    `${(result.shareOfACore * 100).toFixed(2)} % of a saturated core; load average ${result.loadAverage}`,
);
process.exit(0);
