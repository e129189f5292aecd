/**
 * What the actors cost, with no sockets: per request, a connection actor is
 * driven through request.received → the request pipeline's filters (head
 * checks, rate-limit check and verdict) → choice → the attempt's response
 * (relayed without an event) → the response's end (recorded in the actor's
 * ledger, as the listener does), with the byte path stubbed out; per
 * connection, an actor is started (with its error observer), registered,
 * ended as a client leaving with nothing in flight (`clientLeft`) and
 * unregistered, as the listener does for each client connection.
 *
 *   npm run build && node --expose-gc --max-semi-space-size=128 --min-semi-space-size=64 dist/bench/actor-cost.js
 *
 * Reports µs and heap bytes allocated for each. Allocation is measured as
 * heap growth over a batch small enough that no GC runs in it (checked).
 * `--json` prints one JSON object per line instead (read by bench/run.ts);
 * `--quick` runs fewer rounds (smoke mode). `--inspection` runs the same rows
 * with an inspection stream attached to every actor (records discarded), and
 * adds the cost of counting the states of 10,000 live connection actors
 * (ARCHITECTURE.md, "Inspection"). `--cpu-time` times rounds in the process's
 * CPU time instead of the wall clock: steadier on a machine others share.
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { createChooser } from '../src/actors/balancer.js';
import { clientIpKey, LoadFigures } from '../src/balancing/index.js';
import { RoundRobin } from '../src/balancing/round-robin.js';
import { clientLeft, connectionMachine, ledgerOf, type ConnectionPorts } from '../src/actors/connection.js';
import { attachInspection, countActorStates, startActor } from '../src/actors/inspection.js';
import { rateLimiterMachine } from '../src/actors/rate-limiter.js';
import { localNameOf, MailboxRouter } from '../src/actors/router.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_REQUEST_POLICY } from '../src/config/config.js';
import { log } from '../src/log.js';
import { buildPipeline } from '../src/pipeline/index.js';
import { LeasedStore } from '../src/rate-limit/leased-store.js';
import type { RateLimitStore } from '../src/rate-limit/store.js';
import { Exchange, type UpstreamResponse } from '../src/proxy/exchange.js';

const upstreams = [1, 2, 3].map((n) => ({ id: `127.0.0.1:${8080 + n}`, host: '127.0.0.1', port: 8080 + n, weight: 1 }));
// Enough of a parsed request for the pipeline's head checks to pass it.
const fakeRequest = {
  method: 'GET',
  url: '/',
  httpVersionMajor: 1,
  httpVersionMinor: 1,
  httpVersion: '1.1',
  rawHeaders: ['Host', 'bench'],
  headers: { host: 'bench' },
} as unknown as Exchange['req'];
// The access log is a finished hook of the real pipeline; at warn it writes nothing, as the old no-op port did.
log.configure('warn', 'p');
const fakeResponse = {} as unknown as Exchange['res'];
const fakeUpstreamResponse: UpstreamResponse = { statusCode: 200, pipeTo: () => undefined, discard: () => undefined };

/** Small enough that a young-generation GC does not run in the middle (checked). */
const ALLOCATION_BATCH = 500;

let gcRuns = 0;
new PerformanceObserver((list) => (gcRuns += list.getEntries().length)).observe({ entryTypes: ['gc'] });

/** Runs `batch` of so many operations: a request through the actors, or a connection actor's life. */
type Batch = (size: number) => Promise<void>;

/**
 * Times `batch` (median µs per operation over `rounds`) and weighs it (heap
 * bytes per operation), then prints one line: text, or JSON with `--json`.
 */
async function timeAndWeigh(label: string, batch: Batch, operations: number, rounds: number, warmUp = 1000): Promise<void> {
  for (let i = 0; i < 20; i++) await batch(warmUp);
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = elapsedMicroseconds();
    await batch(operations);
    samples.push((elapsedMicroseconds() - start) / operations);
  }
  samples.sort((a, b) => a - b);

  const gc = (globalThis as { gc?: () => void }).gc;
  let bytesPerOperation = Number.NaN;
  if (gc !== undefined) {
    gc();
    // GC entries reach the observer later: let the forced collection's arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const gcBefore = gcRuns;
    const heapBefore = process.memoryUsage().heapUsed;
    await batch(ALLOCATION_BATCH);
    const heapAfter = process.memoryUsage().heapUsed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (gcRuns === gcBefore) bytesPerOperation = (heapAfter - heapBefore) / ALLOCATION_BATCH;
  }
  const median = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
  if (asJson) {
    const heapBytesPerRequest = Number.isNaN(bytesPerOperation) ? null : Math.round(bytesPerOperation);
    console.log(JSON.stringify({ label, microsecondsPerRequest: median, heapBytesPerRequest, rounds, requests: operations }));
    return;
  }
  console.log(
    `${label.padEnd(28)} ${median.toFixed(2).padStart(7)} µs each (median of ${rounds} × ${operations})  ` +
      `${Number.isNaN(bytesPerOperation) ? 'n/a' : Math.round(bytesPerOperation).toString().padStart(6)} heap bytes each`,
  );
}

/** The chooser a worker builds, over three healthy candidates (the balancer actor is not needed to read it). */
function roundRobinChooser(): ConnectionPorts['chooseUpstream'] {
  const strategy = new RoundRobin();
  strategy.rebuild(upstreams.map(({ id, weight }) => ({ id, weight, healthy: true, load: new LoadFigures() })));
  return createChooser(strategy, clientIpKey);
}

function benchPorts(router: MailboxRouter, rateLimited: boolean, rateLimitStore?: RateLimitStore): ConnectionPorts {
  return {
    router,
    pipeline: buildPipeline(
      {
        clientLimits: DEFAULT_CLIENT_LIMITS,
        requestPolicy: DEFAULT_REQUEST_POLICY,
        rateLimit: rateLimited ? { algorithm: 'sliding-window', limit: 1e12, windowMs: 60_000 } : null,
      },
      rateLimitStore === undefined ? { router } : { router, rateLimitStore },
    ),
    retries: 1,
    chooseUpstream: roundRobinChooser(),
    // The response head arrives later, from the network: settle on a later microtask, not inside forward().
    forward: (exchange, _upstreamId, settlement) => queueMicrotask(() => settlement.responded(exchange, fakeUpstreamResponse)),
    relay: () => {},
    respond: () => {},
    serve: () => {},
    drop: () => {},
    now: () => performance.now(),
  };
}

// The listener's client socket is also the actor's error observer (src/node/listener.ts).
const client = { watchForSilence: () => undefined, close: () => {}, error: () => {} };
const timeouts = { keepAliveMs: 60_000, bodyIdleMs: 60_000, sendMs: 60_000 };

/**
 * `leased`: the memory store as processes run it (a LeasedStore: requests admitted on leases of
 * this process, no message); otherwise every check a message to the rate limiter actor and back.
 */
async function measureRequests(label: string, rateLimited: boolean, inFlight: number, requests: number, rounds: number, leased = false): Promise<void> {
  const router = new MailboxRouter('p');
  const limiter = rateLimited
    ? startActor(rateLimiterMachine, {
        input: { router, now: () => performance.now() },
      })
    : undefined;
  if (limiter !== undefined) router.register('rate-limiter', limiter);
  const store = leased ? new LeasedStore(router) : undefined;
  const ports = benchPorts(router, rateLimited, store);
  const actor = startActor(connectionMachine, { id: 'p/conn/bench', input: { address: 'p/conn/bench', ports, client, timeouts } });
  router.register('conn/bench', actor);
  const ledger = ledgerOf(actor);

  let id = 1;
  // `inFlight` requests are received, answered and finished together: 1 is a keep-alive client's
  // request after request; more is a pipelining client.
  const batch: Batch = async (size) => {
    const exchanges: Exchange[] = [];
    for (let done = 0; done < size; done += inFlight) {
      exchanges.length = 0;
      for (let i = 0; i < inFlight; i++) {
        const exchange = new Exchange(id++, fakeRequest, fakeResponse, '127.0.0.1', 0, null);
        exchanges.push(exchange);
        actor.send({ type: 'request.received', exchange });
      }
      // The rate-limit verdicts and upstream responses were queued as microtasks: let them arrive.
      for (let hop = 0; hop < 3; hop++) await Promise.resolve();
      for (const exchange of exchanges) ledger.finished(exchange);
    }
  };
  await timeAndWeigh(label, batch, requests, rounds);
  // The rate limiter's window timer would otherwise keep the process alive.
  actor.stop();
  await store?.close();
  limiter?.stop();
}

/** What the listener does per client connection, without the socket: start, register, disconnect, unregister. */
async function measureConnections(label: string, connections: number, rounds: number): Promise<void> {
  const router = new MailboxRouter('p');
  const ports = benchPorts(router, false);
  let id = 0;
  const batch: Batch = (size) => {
    for (let i = 0; i < size; i++) {
      const address = router.reserveConnection(`bench-${id++}`);
      const actor = startActor(connectionMachine, { id: address, input: { address, ports, client, timeouts }, onError: client });
      router.registerConnection(address, actor);
      clientLeft(actor);
      router.unregister(address);
    }
    return Promise.resolve();
  };
  await timeAndWeigh(label, batch, connections, rounds);
}

/** One `countActorStates` over `live` running connection actors: what a state-count poll costs. */
async function measureStateCounts(label: string, live: number, rounds: number): Promise<void> {
  const router = new MailboxRouter('p');
  const ports = benchPorts(router, false);
  const actors = [];
  for (let i = 0; i < live; i++) {
    const address = `p/conn/live-${i}` as const;
    const actor = startActor(connectionMachine, { id: address, input: { address, ports, client, timeouts } });
    router.register(localNameOf(address), actor);
    actors.push(actor);
  }
  const batch: Batch = (size) => {
    for (let i = 0; i < size; i++) countActorStates(router);
    return Promise.resolve();
  };
  await timeAndWeigh(label, batch, 10, rounds, 10);
  for (const actor of actors) actor.send({ type: 'client.disconnected' });
}

const asJson = process.argv.includes('--json');
const cpuTime = process.argv.includes('--cpu-time');
function elapsedMicroseconds(): number {
  if (!cpuTime) return performance.now() * 1000;
  const used = process.cpuUsage();
  return used.user + used.system;
}
const rounds = process.argv.includes('--quick') ? 3 : 15;
const inspection = process.argv.includes('--inspection');
// A router with no actors yet: the stream reaches those started afterwards, which is all of them.
if (inspection) attachInspection(new MailboxRouter('p'), { sink: { send: () => {} } });
await measureRequests('connection actor, one request at a time', false, 1, 10_000, rounds);
await measureRequests('+ rate-limit actor, one at a time', true, 1, 10_000, rounds);
await measureRequests('+ rate limit on a lease, one at a time', true, 1, 10_000, rounds, true);
await measureRequests('connection actor, 100 pipelined', false, 100, 10_000, rounds);
await measureConnections('connection actor started and stopped, per connection', 10_000, rounds);
if (inspection) await measureStateCounts('state counts of 10,000 live connection actors', 10_000, rounds);
