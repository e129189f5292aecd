/**
 * The two loads, generated in this process over keep-alive connections.
 *
 * Open loop: requests scheduled at a fixed rate; a request's latency runs
 * from its scheduled send time, so time spent waiting behind a slow answer
 * (for a free connection, or inside the proxy) counts — a closed loop hides
 * that (coordinated omission). At most `inFlightCap` requests are in flight;
 * one due while the cap is reached is counted as an error ("over cap") and
 * not sent.
 *
 * Closed loop: `clients` keep-alive clients, each sending its next request
 * when the previous one has been answered; its req/s is the throughput.
 *
 * Every response's `x-upstream` header is counted, so the shares are what
 * the upstreams really served.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { UPSTREAM_HEADER } from './upstreams.js';

export const REQUEST_TIMEOUT_MS = 2000;

export interface LoadResult {
  /** Latencies in milliseconds of the answered requests, unsorted. */
  latenciesMs: number[];
  /** Per upstream name: answered requests and their latencies. */
  byUpstream: Map<string, number[]>;
  errors: { status: number; failed: number; timeout: number; overCap: number };
  durationMs: number;
}

interface Run {
  port: number;
  agent: Agent;
  result: LoadResult;
  inFlight: number;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function newResult(): LoadResult {
  return { latenciesMs: [], byUpstream: new Map(), errors: { status: 0, failed: 0, timeout: 0, overCap: 0 }, durationMs: 0 };
}

/** One request; `startedMs` is when it counts from. Resolves when it is answered, fails or times out. */
function send(run: Run, startedMs: number): Promise<void> {
  run.inFlight++;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: 'ok' | 'status' | 'failed' | 'timeout', upstream: string): void => {
      if (settled) return;
      settled = true;
      run.inFlight--;
      if (outcome === 'ok') {
        const latency = nowMs() - startedMs;
        run.result.latenciesMs.push(latency);
        let list = run.result.byUpstream.get(upstream);
        if (list === undefined) run.result.byUpstream.set(upstream, (list = []));
        list.push(latency);
      } else run.result.errors[outcome]++;
      resolve();
    };
    const req = request({ host: '127.0.0.1', port: run.port, path: '/', agent: run.agent }, (res: IncomingMessage) => {
      const upstream = res.headers[UPSTREAM_HEADER];
      res.resume();
      res.once('end', () => settle((res.statusCode ?? 0) === 200 ? 'ok' : 'status', typeof upstream === 'string' ? upstream : '?'));
      res.once('error', () => settle('failed', ''));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      settle('timeout', '');
      req.destroy();
    });
    req.once('error', () => settle('failed', ''));
    req.end();
  });
}

export interface OpenLoop {
  port: number;
  ratePerSecond: number;
  seconds: number;
  inFlightCap: number;
  /** Called once, half way through (the "degrades" scenario). */
  halfway: () => void;
}

export async function openLoop(load: OpenLoop): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.inFlightCap });
  const run: Run = { port: load.port, agent, result: newResult(), inFlight: 0 };
  const total = Math.round(load.ratePerSecond * load.seconds);
  const intervalMs = 1000 / load.ratePerSecond;
  const pending: Array<Promise<void>> = [];
  const start = nowMs();
  let halfwayDone = false;
  for (let index = 0; index < total; ) {
    // Send everything that is due (a late timer catches up: those requests count from their scheduled time).
    const now = nowMs();
    while (index < total && start + index * intervalMs <= now) {
      if (run.inFlight >= load.inFlightCap) run.result.errors.overCap++;
      else pending.push(send(run, start + index * intervalMs));
      index++;
    }
    if (!halfwayDone && index >= total / 2) {
      halfwayDone = true;
      load.halfway();
    }
    const wait = start + index * intervalMs - nowMs();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
  await Promise.all(pending); // bounded: every request times out after REQUEST_TIMEOUT_MS
  run.result.durationMs = nowMs() - start;
  agent.destroy();
  return run.result;
}

export interface ClosedLoop {
  port: number;
  clients: number;
  seconds: number;
  halfway: () => void;
}

export async function closedLoop(load: ClosedLoop): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.clients });
  const run: Run = { port: load.port, agent, result: newResult(), inFlight: 0 };
  const start = nowMs();
  const deadline = start + load.seconds * 1000;
  const halfwayTimer = setTimeout(load.halfway, (load.seconds * 1000) / 2);
  const client = async (): Promise<void> => {
    while (nowMs() < deadline) await send(run, nowMs());
  };
  await Promise.all(Array.from({ length: load.clients }, client));
  clearTimeout(halfwayTimer);
  run.result.durationMs = nowMs() - start;
  agent.destroy();
  return run.result;
}
