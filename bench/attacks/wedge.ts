/**
 * The "one client wedges a worker" attacks of issue 9 (items 1–3), scaled to
 * run in seconds on loopback, against a balancebeam CLI given by path (so the
 * same script measures a build from before a fix):
 *
 *   npx tsc -p tsconfig.json && node dist/bench/attacks/wedge.js [--cli dist/src/cli/main.js]
 *     [--scenario pipeline|abandon|no-read] [--connections N] [--requests N] [--hold-ms MS] [--settle-ms MS]
 *     [--upstream-keep-alive-ms MS] [--extra 'more balancebeam flags']
 *
 * - pipeline: each attacking connection pipelines --requests GETs for a 60 KB
 *   response, reads nothing, and closes after --hold-ms.
 * - abandon: as pipeline, with a tiny response (defaults: 4 × 20,480, closed
 *   after 3 s); reports how many requests the upstream still received after
 *   the attackers closed.
 * - no-read: --connections clients GET a 100 MB body and never read; a normal
 *   client is measured while they hang (pass --client-send-timeout through
 *   --extra to see the send timeout at work).
 *
 * Prints the normal client's throughput (requests per second over 1 s, 8
 * connections), the balancer's open descriptors (/proc/PID/fd) and RSS before
 * and after, and what reached the upstream. Bounded: every phase has a
 * deadline, every request a timeout; the balancer runs with --workers 1.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)) },
    scenario: { type: 'string', default: 'pipeline' },
    connections: { type: 'string' },
    requests: { type: 'string' },
    'hold-ms': { type: 'string' },
    'settle-ms': { type: 'string', default: '3000' },
    'upstream-keep-alive-ms': { type: 'string', default: '2000' },
    extra: { type: 'string', default: '' },
  },
});
const scenario = values.scenario;
if (scenario !== 'pipeline' && scenario !== 'abandon' && scenario !== 'no-read') throw new Error(`unknown --scenario ${scenario}`);
const defaults = { pipeline: [1, 1_000, 2_000], abandon: [4, 20_480, 3_000], 'no-read': [50, 1, 5_000] }[scenario];
const connections = Number(values.connections ?? defaults[0]);
const requests = Number(values.requests ?? defaults[1]);
const holdMs = Number(values['hold-ms'] ?? defaults[2]);
const settleMs = Number(values['settle-ms']);

const BIG = Buffer.alloc(60 * 1024, 'x');
const HUGE_BYTES = 100 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'y');

const seen = { normal: 0, attack: 0, attackAfterClose: 0 };
let attackersClosed = false;

function streamHuge(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': HUGE_BYTES });
  let sent = 0;
  const more = (): void => {
    while (sent < HUGE_BYTES) {
      sent += CHUNK.length;
      if (!res.write(CHUNK)) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

const upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
  const path = req.url ?? '/';
  if (path.startsWith('/attack')) {
    seen.attack++;
    if (attackersClosed) seen.attackAfterClose++;
  } else if (path.startsWith('/normal')) seen.normal++;
  if (path.startsWith('/attack/huge')) return streamHuge(res);
  const body = path.startsWith('/attack/big') ? BIG : Buffer.from('ok');
  res.writeHead(200, { 'content-length': body.length });
  res.end(body);
});
// undici follows the upstream's Keep-Alive hint: with a short one, idle pooled connections close soon and
// descriptors left after the settle time are leaks; a long one (nginx keeps 75 s) shows a wedge that lasts.
upstream.keepAliveTimeout = Number(values['upstream-keep-alive-ms']);
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamPort = (upstream.address() as AddressInfo).port;

/** A free loopback port (the balancer logs its address only at info level, which would log every request). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port: free } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return free;
}

const port = await freePort();
const args = ['--upstream', `127.0.0.1:${upstreamPort}`, '--bind', `127.0.0.1:${port}`, '--workers', '1', '--log-level', 'warn'];
args.push('--active-health-check-interval', '0', ...values.extra.split(' ').filter((word) => word !== ''));
const balancer = spawn(process.execPath, [values.cli, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
const pid = balancer.pid ?? 0;
process.once('exit', () => balancer.kill('SIGKILL'));
const startBy = performance.now() + 20_000;
for (;;) {
  const up = await new Promise<boolean>((resolve) => {
    const probe = connect(port, '127.0.0.1', () => resolve(true));
    probe.on('error', () => resolve(false));
    probe.on('connect', () => probe.destroy());
  });
  if (up) break;
  if (performance.now() > startBy) throw new Error('balancebeam did not start listening within 20 s');
  await delay(50);
}

const fds = (): number => readdirSync(`/proc/${pid}/fd`).length;
const rssMb = (): number => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/** Requests a normal client completes in 1 s over 8 keep-alive connections (each request given 2 s). */
async function throughput(): Promise<number> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8, headersTimeout: 2_000, bodyTimeout: 2_000 });
  const deadline = performance.now() + 1_000;
  let done = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        const { body, statusCode } = await pool.request({ path: '/normal', method: 'GET' });
        await body.dump();
        if (statusCode === 200) done++;
      } catch {
        // timed out or cut: not counted
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, loop));
  await pool.destroy();
  return done;
}

function measure(label: string, rps: number): void {
  console.log(`${label.padEnd(28)} normal client ${String(rps).padStart(5)} req/s   fds ${String(fds()).padStart(4)}   RSS ${rssMb().toFixed(1)} MB`);
}

function attacker(path: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.once('connect', () => {
    const one = `GET ${path} HTTP/1.1\r\nHost: attack\r\n\r\n`;
    socket.write(one.repeat(requests));
  });
  socket.pause(); // never reads
  return socket;
}

console.log(`scenario ${scenario}: ${connections} connection(s) × ${requests} request(s), held ${holdMs} ms; cli ${values.cli}`);
await throughput(); // warm up
measure('before', await throughput());

const path = { pipeline: '/attack/big', abandon: '/attack/tiny', 'no-read': '/attack/huge' }[scenario];
const sockets = Array.from({ length: connections }, () => attacker(path));
await delay(holdMs / 2);
if (scenario === 'no-read') measure('while the attackers hang', await throughput());
await delay(holdMs / 2);
for (const socket of sockets) socket.destroy();
attackersClosed = true;
const closedAt = performance.now();
measure('just after they closed', await throughput());
await delay(Math.max(0, settleMs - (performance.now() - closedAt)));
measure(`${settleMs} ms after they closed`, await throughput());
console.log(
  `upstream saw ${seen.attack} attack requests (${seen.attackAfterClose} after the attackers closed); ` +
    `(responses the kernel's socket buffers absorb complete as if read)`,
);
balancer.kill('SIGTERM');
upstream.closeAllConnections();
upstream.close();
process.exit(0);
