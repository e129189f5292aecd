/**
 * The admin server's per-request cost on its own, with nobody watching: what
 * `--admin` adds to each request (the metrics finished hook, one response-head
 * histogram observation), timed in CPU time over a million calls, beside
 * nothing. On a machine where end-to-end rows move by tens of percent from
 * one round to the next (BENCHMARKS.md), this is the steady figure to set
 * against balancebeam's CPU µs per request.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/admin-cost.js [--quick]
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from '../src/metrics/histogram.js';
import { RequestMetrics } from '../src/metrics/request-metrics.js';
import type { FinishedView } from '../src/pipeline/filter.js';

const quick = process.argv.includes('--quick');
const CALLS = quick ? 200_000 : 2_000_000;
const ROUNDS = quick ? 3 : 7;

const cpuMicros = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

/** What the hook sees of a finished request: two upstreams, mostly proxied 2xx, some 5xx and a rate-limited one. */
function views(): FinishedView[] {
  const res = { writableFinished: true } as ServerResponse;
  const req = { method: 'GET', url: '/' } as IncomingMessage;
  const make = (upstreamId: string | null, status: number, outcome: FinishedView['outcome']): FinishedView => ({
    id: 1,
    req,
    res,
    clientIp: '127.0.0.1',
    upstreamHeaders: null,
    fallback: null,
    filterNote: null,
    body: null,
    startedAt: performance.now(),
    status,
    outcome,
    reason: null,
    upstreamId,
    tried: upstreamId === null ? [] : [upstreamId],
  });
  return [
    make('127.0.0.1:8081', 200, 'proxied'),
    make('127.0.0.1:8082', 200, 'proxied'),
    make('127.0.0.1:8081', 503, 'proxied'),
    make(null, 429, 'rate-limited'),
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const seen = views();
const metrics = new RequestMetrics();
const head = new LatencyHistogram();
let sink = 0;

function withAdmin(): void {
  for (let i = 0; i < CALLS; i++) {
    metrics.finished(seen[i & 3] as FinishedView);
    head.observeMs((i % 50) * 0.7);
  }
}

function withoutAdmin(): void {
  // The same loop and reads, no figures kept: what the request path does with --admin off.
  for (let i = 0; i < CALLS; i++) sink += (seen[i & 3] as FinishedView).status + (i % 50) * 0.7;
}

const on: number[] = [];
const off: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const [run, into] of [
    [withAdmin, on],
    [withoutAdmin, off],
  ] as const) {
    const before = cpuMicros();
    run();
    into.push(((cpuMicros() - before) * 1000) / CALLS);
  }
}
const added = median(on) - median(off);
const result = { label: 'admin server on, nobody watching: added per request', nanosecondsPerRequest: Math.round(added * 10) / 10, rounds: ROUNDS, calls: CALLS };
console.log(JSON.stringify(result));
console.log(`admin figures per request: ${median(on).toFixed(1)} ns with, ${median(off).toFixed(1)} ns without: +${added.toFixed(1)} ns (CPU time, median of ${ROUNDS})`);
if (sink === -1) console.log('');
