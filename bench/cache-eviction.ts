/**
 * The cache's eviction against plain LRU (issue 12): the hit ratio of the
 * memory store under a Zipf-distributed workload (s = 0.9 over 100,000 URLs,
 * a budget of 2,000 objects) with a one-off scan of 20,000 URLs never asked
 * for again in the middle; and the memory one stored object costs.
 *
 *   npx tsc -p tsconfig.json && node --expose-gc dist/bench/cache-eviction.js
 *
 * Deterministic (a seeded generator): the figures are the same on every run.
 */
import { NO_DIRECTIVES } from '../src/cache/cache-control.js';
import { HttpCache } from '../src/cache/http-cache.js';
import { MemoryStore, type EvictionPolicy } from '../src/cache/memory-store.js';
import { StoredResponse } from '../src/cache/stored-response.js';
import type { FailureFallback, RequestView, ResponseHead } from '../src/pipeline/filter.js';
import { CacheNote } from '../src/cache/http-cache.js';
import type { IncomingMessage } from 'node:http';
import { mulberry32 as random } from '../test/helpers/seeded-random.js';

const URLS = 100_000;
const OBJECT_BODY = 1_000;
const BUDGET_OBJECTS = 2_000;
const REQUESTS = 400_000;
const SCAN = 20_000;
const SKEW = 0.9;


/** Zipf by inverse transform over a precomputed cumulative table. */
function zipf(n: number, s: number, next: () => number): () => number {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cumulative[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const target = next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const TIMING = { requestTime: 0, responseTime: 0, dateValue: 0, ageValue: 0 };
const BODY = Buffer.alloc(OBJECT_BODY);

function entry(url: string): StoredResponse {
  return new StoredResponse(`h${url}\n`, `h${url}`, 200, ['content-type', 'text/plain'], BODY, TIMING, NO_DIRECTIVES, 60, null, null, [], 'h', url, []);
}

function hitRatio(policy: EvictionPolicy, withScan: boolean): { overall: number; afterScan: number } {
  const budget = entry('/00000').size * BUDGET_OBJECTS;
  const store = new MemoryStore(budget, policy);
  const pick = zipf(URLS, SKEW, random(42));
  let hits = 0;
  let afterHits = 0;
  let afterRequests = 0;
  for (let i = 0; i < REQUESTS; i++) {
    if (withScan && i === REQUESTS / 2) for (let k = 0; k < SCAN; k++) store.insert(entry(`/scan/${k}`));
    const url = `/${pick()}`;
    const hit = store.get(`h${url}\n`) !== undefined;
    if (!hit) store.insert(entry(url));
    if (hit) hits++;
    if (i >= REQUESTS / 2 && i < REQUESTS / 2 + 20_000) {
      afterRequests++;
      if (hit) afterHits++;
    }
  }
  return { overall: hits / REQUESTS, afterScan: afterHits / afterRequests };
}

class View implements RequestView {
  upstreamHeaders: string[] | null = null;
  fallback: FailureFallback | null = null;
  filterNote: object | null = null;
  readonly body = null;
  readonly clientIp = '127.0.0.1';
  readonly req: IncomingMessage;
  constructor(readonly id: number, url: string) {
    this.req = { method: 'GET', url, headers: { host: 'bench.test', 'user-agent': 'bench' } } as unknown as IncomingMessage;
  }
}

/** Heap bytes per stored object: small responses through the real lookup and store path. */
function bytesPerObject(bodyBytes: number): { heapPerObject: number; counted: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const count = 20_000;
  const cache = new HttpCache(
    { sizeBytes: 2 ** 40, maxObjectBytes: 1_048_576, serveStaleOnErrorMs: 0, heuristicFreshness: false, setCookie: 'skip', eviction: 'slru', lockTimeoutMs: 5_000 },
    () => {},
  );
  const body = Buffer.alloc(bodyBytes, 'x');
  const headers = ['content-type', 'text/html; charset=utf-8', 'cache-control', 'max-age=3600', 'date', new Date().toUTCString(), 'etag', '"abcdef0123456789"', 'server', 'origin'];
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < count; i++) {
    const view = new View(i, `/objects/${i}?page=1`);
    cache.lookup(view);
    const head: ResponseHead = { statusCode: 200, headers: [...headers, 'content-length', String(bodyBytes)], replacement: null };
    const tap = cache.onResponseHead(view.filterNote as CacheNote, head);
    tap?.data(body);
    tap?.end();
  }
  gc();
  const after = process.memoryUsage();
  const used = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  return { heapPerObject: used / cache.store.count - bodyBytes, counted: cache.store.bytes / cache.store.count - bodyBytes };
}

console.log(`Zipf s=${SKEW} over ${URLS} URLs, ${REQUESTS} requests, budget ${BUDGET_OBJECTS} objects of ${OBJECT_BODY} B; scan: ${SCAN} new URLs once, half-way`);
console.log('| policy | hit ratio, no scan | hit ratio, with the scan | in the 20,000 requests after the scan |');
console.log('|---|---|---|---|');
for (const policy of ['slru', 'lru'] as const) {
  const plain = hitRatio(policy, false);
  const scanned = hitRatio(policy, true);
  console.log(`| ${policy} | ${(plain.overall * 100).toFixed(1)} % | ${(scanned.overall * 100).toFixed(1)} % | ${(scanned.afterScan * 100).toFixed(1)} % |`);
}
for (const size of [100, 10_000]) {
  const { heapPerObject, counted } = bytesPerObject(size);
  console.log(`memory per stored object beyond its ${size} B body: ${heapPerObject.toFixed(0)} B measured on the heap, ${counted.toFixed(0)} B counted against the budget`);
}
