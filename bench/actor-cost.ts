/**
 * What the actors cost per request, with no sockets: a connection actor is
 * driven through request.received → (rate-limit check and verdict) → choice →
 * upstream.responded → response.finished, with the byte path stubbed out.
 *
 *   npm run build && node --expose-gc --max-semi-space-size=128 --min-semi-space-size=64 dist/bench/actor-cost.js
 *
 * Reports µs and heap bytes allocated per request. Allocation is measured as
 * heap growth over a batch small enough that no GC runs in it (checked).
 * `--json` prints one JSON object per line instead (read by bench/run.ts);
 * `--quick` runs fewer rounds (smoke mode).
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { createChooser, createUpstreamViews } from '../src/actors/balancer.js';
import { connectionMachine, type ConnectionPorts } from '../src/actors/connection.js';
import { startActor } from '../src/actors/inspection.js';
import { rateLimiterMachine } from '../src/actors/rate-limiter.js';
import { MailboxRouter } from '../src/actors/router.js';
import { Exchange, type UpstreamResponse } from '../src/proxy/exchange.js';

const upstreams = [1, 2, 3].map((n) => ({ id: `127.0.0.1:${8080 + n}`, host: '127.0.0.1', port: 8080 + n }));
const fakeRequest = { method: 'GET', url: '/' } as unknown as Exchange['req'];
const fakeResponse = {} as unknown as Exchange['res'];
const fakeUpstreamResponse: UpstreamResponse = { statusCode: 200, pipeTo: () => undefined, discard: () => undefined };

/** Small enough that a young-generation GC does not run in the middle (checked). */
const ALLOCATION_BATCH = 500;

let gcRuns = 0;
new PerformanceObserver((list) => (gcRuns += list.getEntries().length)).observe({ entryTypes: ['gc'] });

async function measure(label: string, rateLimited: boolean, inFlight: number, requests: number, rounds: number): Promise<void> {
  const router = new MailboxRouter('p');
  const limiter = rateLimited
    ? startActor(rateLimiterMachine, {
        input: { policy: { algorithm: 'sliding-window', limit: 1e12, windowMs: 60_000 }, router, now: () => performance.now() },
      })
    : undefined;
  if (limiter !== undefined) router.register('rate-limiter', limiter);
  const choose = createChooser(createUpstreamViews(upstreams), 'round-robin');
  const ports: ConnectionPorts = {
    router,
    rateLimited,
    retries: 1,
    chooseUpstream: choose,
    // The response head arrives later, from the network: settle on a later microtask, not inside forward().
    forward: (exchange, _upstreamId, settled) =>
      queueMicrotask(() => settled({ type: 'upstream.responded', exchange, response: fakeUpstreamResponse })),
    relay: () => {},
    respond: () => {},
    completed: () => {},
    now: () => performance.now(),
  };
  const client = { watchForSilence: () => undefined, close: () => {} };
  const timeouts = { keepAliveMs: 60_000, bodyIdleMs: 60_000 };
  const actor = startActor(connectionMachine, { input: { address: 'p/conn/bench', ports, client, timeouts } });
  router.register('conn/bench', actor);
  // The rate limiter's window timer would otherwise keep the process alive.
  const stopActors = (): void => {
    actor.stop();
    limiter?.stop();
  };

  let id = 1;
  // `inFlight` requests are received, answered and finished together: 1 is a keep-alive client's
  // request after request (every one takes the actor idle → busy → idle); more is a pipelining client.
  const batch = async (size: number): Promise<void> => {
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
      for (const exchange of exchanges) actor.send({ type: 'response.finished', exchange });
    }
  };

  for (let i = 0; i < 20; i++) await batch(1000); // warm up
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await batch(requests);
    samples.push(((performance.now() - start) * 1000) / requests);
  }
  samples.sort((a, b) => a - b);

  const gc = (globalThis as { gc?: () => void }).gc;
  let bytesPerRequest = Number.NaN;
  if (gc !== undefined) {
    gc();
    // GC entries reach the observer later: let the forced collection's arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const gcBefore = gcRuns;
    const heapBefore = process.memoryUsage().heapUsed;
    await batch(ALLOCATION_BATCH);
    const heapAfter = process.memoryUsage().heapUsed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (gcRuns === gcBefore) bytesPerRequest = (heapAfter - heapBefore) / ALLOCATION_BATCH;
  }
  const median = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
  if (asJson) {
    const heapBytesPerRequest = Number.isNaN(bytesPerRequest) ? null : Math.round(bytesPerRequest);
    console.log(JSON.stringify({ label, microsecondsPerRequest: median, heapBytesPerRequest, rounds, requests }));
    stopActors();
    return;
  }
  console.log(
    `${label.padEnd(28)} ${median.toFixed(2).padStart(7)} µs/request (median of ${rounds} × ${requests})  ` +
      `${Number.isNaN(bytesPerRequest) ? 'n/a' : Math.round(bytesPerRequest).toString().padStart(6)} heap bytes/request`,
  );
  stopActors();
}

const asJson = process.argv.includes('--json');
const rounds = process.argv.includes('--quick') ? 3 : 15;
await measure('connection actor, one request at a time', false, 1, 10_000, rounds);
await measure('+ rate-limit actor, one at a time', true, 1, 10_000, rounds);
await measure('connection actor, 100 pipelined', false, 100, 10_000, rounds);
