/**
 * No leaks: a burst of 10,000 requests with upstream faults mixed in (garbage,
 * resets, responses cut short, hangs past the response timeout, a refusing
 * upstream; one steady upstream besides) leaves the open file descriptor count and the heap where they
 * were. The instance runs in this test's process, so its heap can be measured
 * after a forced GC and its descriptors counted in /proc/self/fd; an uncaught
 * exception or unhandled rejection anywhere fails the test (ava reports them).
 */
import { readdirSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test, { type ExecutionContext } from 'ava';
import { Pool } from 'undici';
import { parseCommandLine } from '../../src/cli/options.js';
import { runInstance } from '../../src/instance.js';
import { log } from '../../src/log.js';
import { mulberry32, type Random } from '../helpers/seeded-random.js';
import { listenOnLoopback } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REQUESTS = 10_000;
const CONCURRENCY = 50;
const HEAP_TOLERANCE_BYTES = 10 * 1024 * 1024;
/** Active health checks open and close probe connections (both ends in this process). */
const FD_TOLERANCE = 4;

const openFds = (): number => readdirSync('/proc/self/fd').length;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Misbehaves by path: `/garbage`, `/reset`, `/cut`, `/hang`; anything else (health checks included) is a clean 200. */
function faultyHandler(req: IncomingMessage, res: ServerResponse): void {
  const { socket } = req;
  switch (req.url?.split('?')[0]) {
    case '/garbage':
      socket.end('garbage, not HTTP\r\n\r\n');
      return;
    case '/reset':
      socket.resetAndDestroy();
      return;
    case '/cut':
      res.writeHead(200, { 'content-length': 100 });
      res.write('0123456789', () => socket.destroy());
      return;
    case '/hang':
      return;
    default:
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
  }
}

function pickPath(random: Random, n: number): { method: 'GET' | 'POST'; path: string } {
  const roll = random();
  if (roll < 0.005) return { method: 'GET', path: `/garbage?${n}` };
  if (roll < 0.06) return { method: 'GET', path: `/reset?${n}` };
  if (roll < 0.1) return { method: 'GET', path: `/cut?${n}` };
  if (roll < 0.11) return { method: 'GET', path: `/hang?${n}` };
  if (roll < 0.16) return { method: 'POST', path: `/reset?${n}` };
  if (roll < 0.25) return { method: 'POST', path: `/ok?${n}` };
  return { method: 'GET', path: `/ok?${n}` };
}

/**
 * An upstream that records nothing (the recording helper's log of 10,000
 * requests would itself be heap growth); closed with the test.
 */
async function startQuietUpstream(
  t: ExecutionContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ id: string }> {
  const server = createHttpServer(handler);
  const port = await listenOnLoopback(server);
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { id: `127.0.0.1:${port}` };
}

const steadyHandler = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  res.end('ok');
};

/** A port nothing listens on: connects to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function burst(origin: string, count: number, random: Random): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>();
  const count_ = (key: string): void => {
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };
  const client = new Pool(origin, { connections: CONCURRENCY, pipelining: 1 });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      const { method, path } = pickPath(random, n);
      try {
        const response = await client.request({
          method,
          path,
          ...(method === 'POST' ? { body: `body of request ${n}` } : {}),
          headersTimeout: 20_000,
          bodyTimeout: 20_000,
        });
        // Read the whole body (dump() would swallow a cut one).
        await response.body.arrayBuffer();
        count_(String(response.statusCode));
      } catch {
        count_('connection closed');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await client.close();
  return outcomes;
}

test('10,000 requests with upstream faults: file descriptors and heap return to their baseline', async (t) => {
  log.configure('silent', 'p');
  const faulty = await Promise.all([startQuietUpstream(t, faultyHandler), startQuietUpstream(t, faultyHandler)]);
  // Answers every path cleanly: while the faulty ones are marked dead (garbage is a health mark), it carries the load.
  const steady = await startQuietUpstream(t, steadyHandler);
  const refusing = await refusingPort();
  const command = parseCommandLine([
    ...faulty.flatMap((upstream) => ['--upstream', upstream.id]),
    '--upstream',
    steady.id,
    '--upstream',
    `127.0.0.1:${refusing}`,
    '--bind',
    '127.0.0.1:0',
    '--workers',
    '1',
    '--active-health-check-interval',
    '0.5',
    '--active-health-check-path',
    '/ok',
    '--upstream-response-timeout',
    '0.3',
  ]);
  if (command.kind !== 'run') throw new Error('expected a run command');
  const instance = await runInstance(command.config);
  t.teardown(() => instance.shutdown());
  const origin = `http://${instance.address}`;
  const random = mulberry32(4);

  // The lowest count over a short quiet spell, so a health probe's connection in flight is not taken for the baseline.
  const quietFds = async (): Promise<number> => {
    let lowest = Infinity;
    for (let i = 0; i < 25; i++) {
      lowest = Math.min(lowest, openFds());
      await new Promise((resolve) => setImmediate(resolve));
    }
    return lowest;
  };
  const fdsBefore = await quietFds();
  // Warm-up, so that what is allocated once (compiled code, lazily created objects) is in the heap baseline.
  await burst(origin, 500, random);
  await waitFor(() => openFds() <= fdsBefore + FD_TOLERANCE, { timeoutMs: 20_000, what: 'descriptors after the warm-up' });
  const heapBefore = heapAfterGc();

  const outcomes = await burst(origin, REQUESTS, random);
  t.log(`fds before ${fdsBefore}; heap before ${(heapBefore / 1e6).toFixed(1)} MB; outcomes ${JSON.stringify([...outcomes])}`);
  t.is([...outcomes.values()].reduce((sum, n) => sum + n, 0), REQUESTS, 'every request settled');
  t.true((outcomes.get('200') ?? 0) > REQUESTS / 2, 'most requests were answered');
  t.true((outcomes.get('502') ?? 0) > 0 && (outcomes.get('connection closed') ?? 0) > 0, 'faults were hit');

  // Pooled keep-alive connections to the upstreams close after their idle timeout (about 4 s).
  const fdsAfter = await waitFor(
    () => {
      const now = openFds();
      return now <= fdsBefore + FD_TOLERANCE ? now : undefined;
    },
    { timeoutMs: 30_000, what: `open descriptors back to ${fdsBefore} (+${FD_TOLERANCE}); now ${openFds()}` },
  );
  const heapAfter = heapAfterGc();
  t.log(`fds after ${fdsAfter}; heap after ${(heapAfter / 1e6).toFixed(1)} MB`);
  t.true(
    heapAfter - heapBefore < HEAP_TOLERANCE_BYTES,
    `heap grew by ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB (${(heapBefore / 1e6).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)})`,
  );
});
