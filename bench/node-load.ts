/**
 * The load when wrk is not installed: `node dist/bench/node-load.js JSON`
 * (a `NodeLoad`)
 * keeps `connections` requests in flight (one per connection, as wrk -t1
 * does) for `seconds`, then prints the same result line as wrk's Lua hook,
 * so one parser reads both. It costs far more CPU per request than wrk and
 * caps what it can drive: its figures show that every product serves, and
 * are not comparable with wrk's.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { RESULT_MARKER } from './wrk.js';

export interface NodeLoad {
  port: number;
  path: string;
  method: 'GET' | 'POST';
  bodyBytes: number;
  connectionClose: boolean;
  connections: number;
  seconds: number;
}

const REQUEST_TIMEOUT_MS = 5000;

interface Tally {
  latenciesUs: number[];
  connect: number;
  read: number;
  status: number;
  timeout: number;
}

/** One virtual client: the next request as soon as the previous response has ended. */
async function client(load: NodeLoad, agent: Agent, body: Buffer, deadline: number, tally: Tally): Promise<void> {
  const headers: Record<string, string> = { host: `127.0.0.1:${load.port}` };
  if (load.connectionClose) headers['connection'] = 'close';
  if (body.length > 0) headers['content-type'] = 'application/octet-stream';
  while (Date.now() < deadline) {
    const started = process.hrtime.bigint();
    const outcome = await new Promise<'ok' | 'connect' | 'read' | 'status' | 'timeout'>((resolve) => {
      let connected = false;
      const req = request({ host: '127.0.0.1', port: load.port, path: load.path, method: load.method, headers, agent }, (res: IncomingMessage) => {
        res.on('data', () => {});
        res.once('end', () => resolve((res.statusCode ?? 0) < 400 ? 'ok' : 'status'));
        res.once('error', () => resolve('read'));
      });
      req.once('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => {
        resolve('timeout');
        req.destroy();
      });
      req.once('error', () => resolve(connected ? 'read' : 'connect'));
      req.end(body.length > 0 ? body : undefined);
    });
    if (outcome === 'ok') tally.latenciesUs.push(Number(process.hrtime.bigint() - started) / 1000);
    else tally[outcome]++;
  }
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

async function runNodeLoad(load: NodeLoad): Promise<string> {
  const agent = new Agent({ keepAlive: !load.connectionClose, maxSockets: load.connections });
  const body = Buffer.alloc(load.bodyBytes, 'x');
  const tally: Tally = { latenciesUs: [], connect: 0, read: 0, status: 0, timeout: 0 };
  const started = Date.now();
  const deadline = started + load.seconds * 1000;
  const clients: Array<Promise<void>> = [];
  for (let index = 0; index < load.connections; index++) clients.push(client(load, agent, body, deadline, tally));
  await Promise.all(clients);
  const durationUs = (Date.now() - started) * 1000;
  agent.destroy();
  const sorted = tally.latenciesUs.sort((a, b) => a - b);
  const result = {
    requests: sorted.length,
    duration_us: durationUs,
    errors: { connect: tally.connect, read: tally.read, write: 0, status: tally.status, timeout: tally.timeout },
    p50_us: Math.round(percentile(sorted, 0.5)),
    p99_us: Math.round(percentile(sorted, 0.99)),
  };
  return `${RESULT_MARKER}${JSON.stringify(result)}`;
}

console.log(await runNodeLoad(JSON.parse(process.argv[2] ?? '') as NodeLoad));
