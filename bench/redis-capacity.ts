/**
 * `npm run bench:redis`: how many rate-limit decisions per second one Redis
 * sustains with balancebeam's script (DECIDE_SCRIPT, src/rate-limit/redis-script.ts),
 * measured by redis-benchmark calling it with EVALSHA, per algorithm, over
 * 100,000 client keys (`__rand_int__`), 50 connections, pipelines of 16 (as
 * auto-pipelining sends them). Redis runs on one CPU, as it does anywhere:
 * it is single-threaded.
 *
 * Then what one decision costs the balancebeam process that asks: the
 * RedisStore itself (ioredis, auto-pipelining, the verdict), 50 decisions
 * kept in flight as 50 busy connections would, CPU µs of this process per
 * decision (process.cpuUsage) and the round trip's latency; beside the
 * memory store's engine called in process (what --workers 1 pays, without
 * the actor) for scale.
 *
 *   npm run bench:redis [-- --requests N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { MailboxRouter } from '../src/actors/router.js';
import type { LimitCheck, RoutedMessage } from '../src/protocol/index.js';
import { LimitEngine } from '../src/rate-limit/limit-math.js';
import { DECIDE_SCRIPT } from '../src/rate-limit/redis-script.js';
import { RedisStore } from '../src/rate-limit/redis-store.js';
import { freePort, waitUntilListening } from './ports.js';

const requestsFlag = process.argv.indexOf('--requests');
const requests = requestsFlag === -1 ? 400_000 : Number(process.argv[requestsFlag + 1]);
const port = await freePort();
const cpu = availableParallelism() > 1 ? '1' : '0';
const server = spawn('taskset', ['-c', cpu, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
try {
  await waitUntilListening(port, 'redis-server');
  const client = new Redis(port, '127.0.0.1');
  const sha = String(await client.script('LOAD', DECIDE_SCRIPT));
  client.disconnect();
  const rows: string[] = [];
  // ARGV as decideArguments builds them: algorithm code, limit, window ms, burst. Limits never reached.
  const algorithms = [
    ['fixed-window', 'f', 'rl:default:fixed-window'],
    ['sliding-window', 's', 'rl:default:sliding-window'],
    ['gcra', 'g', 'rl:default:gcra'],
  ] as const;
  for (const [name, code, key] of algorithms) {
    const output = execFileSync(
      'redis-benchmark',
      ['-p', String(port), '-n', String(requests), '-c', '50', '-P', '16', '-r', '100000', '-q', '--csv',
        'EVALSHA', sha, '1', `bb:${key}:10.0.__rand_int__`, code, '1000000000', '60000', '1000000000'],
      { encoding: 'utf8' },
    ); // prettier-ignore
    const line = output.trim().split('\n').pop() ?? '';
    const perSecond = Number(line.split(',')[1]?.replaceAll('"', ''));
    rows.push(`| ${name} | ${Math.round(perSecond).toLocaleString('en')} |`);
  }
  const plain = execFileSync('redis-benchmark', ['-p', String(port), '-n', String(requests), '-c', '50', '-P', '16', '-q', '--csv', '-t', 'incr'], { encoding: 'utf8' });
  const incr = Number(plain.trim().split('\n').pop()?.split(',')[1]?.replaceAll('"', ''));
  console.log(`redis-server pinned to CPU ${cpu}; redis-benchmark -n ${requests} -c 50 -P 16 -r 100000; ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  console.log('| algorithm | decisions/s (EVALSHA) |\n|---|---|');
  console.log(rows.join('\n'));
  console.log(`| (plain INCR, for scale) | ${Math.round(incr).toLocaleString('en')} |`);
  await storeCost(port);
} finally {
  server.kill('SIGKILL');
}

/** CPU µs per decision in this process and latency, RedisStore with 50 in flight; LimitEngine in process. */
async function storeCost(port: number): Promise<void> {
  const router = new MailboxRouter('p');
  const decisions = 100_000;
  const inFlight = 50;
  const started = new Float64Array(decisions);
  const latencies: number[] = [];
  const limit = { algorithm: 'gcra', limit: 1e9, windowMs: 60_000 } as const;
  const checksOf = (i: number): LimitCheck[] => [{ rule: 'default', key: `10.1.${(i >> 8) & 255}.${i & 255}`, limit }];
  let sent = 0;
  let done = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 1_000, failure: 'local' }, router);
  const send = (): void => {
    const id = sent++;
    started[id] = performance.now();
    store.decide(id, checksOf(id), false, 'p/conn/bench');
  };
  router.register('conn/bench', {
    send: (message: RoutedMessage) => {
      if (message.type !== 'request.verdict') return;
      latencies.push(performance.now() - (started[message.requestId] ?? 0));
      done++;
      if (sent < decisions) send();
      else if (done === decisions) allDone();
    },
  });
  const ready = new Redis(port, '127.0.0.1');
  await ready.ping();
  ready.disconnect();
  // Until the store says it is connected its decisions are local: wait for it by sending one.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  for (let i = 0; i < inFlight; i++) send();
  await finished;
  const wall = performance.now() - wallBefore;
  const cpu = process.cpuUsage(cpuBefore);
  await store.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): string => (latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(2);

  const engine = new LimitEngine();
  const engineDecisions = 1_000_000;
  const engineBefore = process.cpuUsage();
  for (let i = 0; i < engineDecisions; i++) engine.decide(checksOf(i & 65535), i / 1000);
  const engineCpu = process.cpuUsage(engineBefore);
  console.log(`\nRedisStore, ${decisions} gcra decisions, ${inFlight} in flight: ${((cpu.user + cpu.system) / decisions).toFixed(1)} µs of CPU per decision in balancebeam's process, ${Math.round(decisions / (wall / 1000))} decisions/s, round trip p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
  console.log(`LimitEngine (the memory store's arithmetic, in process): ${((engineCpu.user + engineCpu.system) / engineDecisions).toFixed(2)} µs of CPU per decision`);
}
