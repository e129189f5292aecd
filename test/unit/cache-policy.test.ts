/**
 * The cache's decisions on a clock of the test's own, with the pipeline's
 * seams driven by hand (lookup, then the response head and the tap as the
 * attempt would call them): freshness and Age, validation, Vary, and a
 * property test against a model of RFC 9111's "may this stored response be
 * reused?", never serving what the model forbids.
 */
import type { IncomingMessage } from 'node:http';
import test from 'ava';
import fc from 'fast-check';
import { CacheNote, HttpCache } from '../../src/cache/http-cache.js';
import type { FailureFallback, LocalResponse, RequestView, ResponseHead } from '../../src/pipeline/filter.js';
import type { CacheSettings } from '../../src/protocol/index.js';

const SETTINGS: CacheSettings = {
  sizeBytes: 10_000_000,
  maxObjectBytes: 1_048_576,
  serveStaleOnErrorMs: 0,
  heuristicFreshness: false,
  setCookie: 'skip',
  eviction: 'slru',
  lockTimeoutMs: 5_000,
};

class Clock {
  ms = Date.UTC(2026, 0, 1);
  advance(seconds: number): void {
    this.ms += seconds * 1_000;
  }
}

class View implements RequestView {
  upstreamHeaders: string[] | null = null;
  fallback: FailureFallback | null = null;
  filterNote: object | null = null;
  readonly body = null;
  readonly req: IncomingMessage;
  constructor(
    readonly id: number,
    method: string,
    url: string,
    headers: Record<string, string>,
  ) {
    this.req = { method, url, headers: { host: 'example.test', ...headers } } as unknown as IncomingMessage;
  }
  readonly clientIp = '127.0.0.1';
}

interface OriginAnswer {
  readonly status: number;
  readonly headers: string[];
  readonly body: string;
}

interface Served {
  readonly from: 'cache' | 'origin' | 'revalidated';
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: string;
  /** What the origin saw, when it was asked. */
  readonly upstreamHeaders: string[] | null;
}

function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if ((headers[i] as string).toLowerCase() === name) return headers[i + 1];
  return undefined;
}

function local(response: LocalResponse, from: Served['from'], upstreamHeaders: string[] | null): Served {
  return { from, status: response.status, headers: response.headers, body: response.body?.toString() ?? '', upstreamHeaders };
}

let ids = 0;

/** One request through the cache, the origin answering what `origin` says (as the attempt would relay it). */
function request(cache: HttpCache, method: string, url: string, headers: Record<string, string>, origin: (view: View) => OriginAnswer): Served {
  const view = new View(++ids, method, url, headers);
  const hit = cache.lookup(view);
  if (hit !== null) return local(hit, 'cache', null);
  const answer = origin(view);
  const head: ResponseHead = { statusCode: answer.status, headers: [...answer.headers], replacement: null };
  const note = view.filterNote;
  const tap = note instanceof CacheNote ? cache.onResponseHead(note, head) : null;
  if (note instanceof CacheNote) cache.requestFinished(note);
  if (head.replacement !== null) return local(head.replacement, 'revalidated', view.upstreamHeaders);
  if (tap !== null && answer.body.length > 0) tap.data(Buffer.from(answer.body));
  tap?.end();
  return { from: 'origin', status: answer.status, headers: head.headers, body: answer.body, upstreamHeaders: view.upstreamHeaders };
}

function setup(settings: Partial<CacheSettings> = {}): { cache: HttpCache; clock: Clock } {
  const clock = new Clock();
  return { cache: new HttpCache({ ...SETTINGS, ...settings }, () => {}, null, () => clock.ms), clock };
}

const dateOf = (clock: Clock): string => new Date(clock.ms).toUTCString();

test('a fresh response is served with Age and Cache-Status until its max-age, then revalidated; a 304 refreshes it', (t) => {
  const { cache, clock } = setup();
  let n = 0;
  const origin = (view: View): OriginAnswer => {
    n++;
    if (view.upstreamHeaders !== null && header(view.upstreamHeaders, 'if-none-match') === '"v1"') {
      return { status: 304, headers: ['date', dateOf(clock), 'cache-control', 'max-age=10', 'x-refreshed', 'yes'], body: '' };
    }
    return { status: 200, headers: ['date', dateOf(clock), 'cache-control', 'max-age=10', 'etag', '"v1"', 'x-kept', 'unknown header'], body: 'one' };
  };
  t.is(request(cache, 'GET', '/a', {}, origin).from, 'origin');
  clock.advance(4);
  const hit = request(cache, 'GET', '/a', {}, origin);
  t.is(hit.from, 'cache');
  t.is(header(hit.headers, 'age'), '4');
  t.is(header(hit.headers, 'cache-status'), 'balancebeam; hit; ttl=6');
  t.is(header(hit.headers, 'x-kept'), 'unknown header', "the upstream's own headers are kept");
  clock.advance(7);
  const revalidated = request(cache, 'GET', '/a', {}, origin);
  t.is(revalidated.from, 'revalidated');
  t.is(revalidated.status, 200);
  t.is(revalidated.body, 'one');
  t.is(header(revalidated.headers, 'x-refreshed'), 'yes', 'the 304 updated the stored headers');
  t.is(header(revalidated.headers, 'cache-status'), 'balancebeam; fwd=stale; fwd-status=304; ttl=10');
  clock.advance(5);
  t.is(request(cache, 'GET', '/a', {}, origin).from, 'cache', 'fresh again for max-age after the 304');
  t.is(n, 2);
});

test('client conditionals are answered 304 from a fresh stored response; HEAD from a stored GET; a single range as 206', (t) => {
  const { cache } = setup();
  const origin = (): OriginAnswer => ({ status: 200, headers: ['cache-control', 'max-age=60', 'etag', '"e"', 'last-modified', 'Thu, 01 Jan 2026 00:00:00 GMT'], body: '0123456789' });
  request(cache, 'GET', '/c', {}, origin);
  t.is(request(cache, 'GET', '/c', { 'if-none-match': 'W/"e"' }, origin).status, 304);
  t.is(request(cache, 'GET', '/c', { 'if-none-match': '"other"' }, origin).status, 200);
  t.is(request(cache, 'GET', '/c', { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:01 GMT' }, origin).status, 304);
  const head = request(cache, 'HEAD', '/c', {}, origin);
  t.is(head.from, 'cache');
  t.is(head.body, '');
  t.is(header(head.headers, 'content-length'), '10');
  const part = request(cache, 'GET', '/c', { range: 'bytes=2-4' }, origin);
  t.is(part.status, 206);
  t.is(part.body, '234');
  t.is(header(part.headers, 'content-range'), 'bytes 2-4/10');
  t.is(request(cache, 'GET', '/c', { range: 'bytes=-3' }, origin).body, '789');
  t.is(request(cache, 'GET', '/c', { range: 'bytes=50-' }, origin).status, 416);
  t.is(request(cache, 'GET', '/c', { range: 'bytes=0-1,4-5' }, origin).status, 200, 'several ranges: the full response');
});

test('Vary: each variant stored apart; Vary * never stored', (t) => {
  const { cache } = setup();
  let n = 0;
  const origin = (view: View): OriginAnswer => ({ status: 200, headers: ['cache-control', 'max-age=60', 'vary', 'Accept-Language'], body: `${view.req.headers['accept-language'] ?? 'none'} ${++n}` });
  t.is(request(cache, 'GET', '/v', { 'accept-language': 'en' }, origin).body, 'en 1');
  t.is(request(cache, 'GET', '/v', { 'accept-language': 'fr' }, origin).body, 'fr 2');
  t.is(request(cache, 'GET', '/v', { 'accept-language': 'en' }, origin).body, 'en 1');
  t.is(request(cache, 'GET', '/v', { 'accept-language': 'fr' }, origin).body, 'fr 2');
  t.is(request(cache, 'GET', '/v', {}, origin).body, 'none 3');
  const star = (): OriginAnswer => ({ status: 200, headers: ['cache-control', 'max-age=60', 'vary', '*'], body: `star ${++n}` });
  request(cache, 'GET', '/star', {}, star);
  t.is(request(cache, 'GET', '/star', {}, star).from, 'origin');
});

test('unsafe methods invalidate the URL and a same-origin Location, not another origin', (t) => {
  const { cache } = setup();
  const get = (): OriginAnswer => ({ status: 200, headers: ['cache-control', 'max-age=60'], body: 'x' });
  request(cache, 'GET', '/p', {}, get);
  request(cache, 'GET', '/q', {}, get);
  request(cache, 'GET', '/r', {}, get);
  request(cache, 'POST', '/p', {}, () => ({ status: 201, headers: ['location', '/q', 'content-location', 'http://elsewhere.test/r'], body: '' }));
  t.is(request(cache, 'GET', '/p', {}, get).from, 'origin');
  t.is(request(cache, 'GET', '/q', {}, get).from, 'origin');
  t.is(request(cache, 'GET', '/r', {}, get).from, 'cache');
  request(cache, 'DELETE', '/r', {}, () => ({ status: 500, headers: [], body: '' }));
  t.is(request(cache, 'GET', '/r', {}, get).from, 'cache', 'an error response invalidates nothing');
  t.is(cache.purge('EXAMPLE.test', '/r'), 1, 'purge, for the admin API');
  t.is(request(cache, 'GET', '/r', {}, get).from, 'origin');
});

test('stale-if-error and --cache-serve-stale-on-error stand in for a 5xx or a failure; must-revalidate never', (t) => {
  const { cache, clock } = setup();
  let status = 200;
  const origin = (view: View): OriginAnswer => ({ status, headers: ['date', dateOf(clock), 'cache-control', view.req.url === '/m' ? 'max-age=1, must-revalidate' : 'max-age=1, stale-if-error=60', 'etag', '"s"'], body: 'good' });
  request(cache, 'GET', '/s', {}, origin);
  request(cache, 'GET', '/m', {}, origin);
  clock.advance(5);
  status = 503;
  const stale = request(cache, 'GET', '/s', {}, origin);
  t.is(stale.status, 200);
  t.is(stale.body, 'good');
  t.regex(header(stale.headers, 'cache-status') ?? '', /fwd-status=503.*detail=stale-if-error/);
  t.is(request(cache, 'GET', '/m', {}, origin).status, 503);
  // A failure to connect: the actor asks the request's fallback.
  const view = new View(++ids, 'GET', '/s', {});
  t.is(cache.lookup(view), null);
  t.is(view.fallback?.responseForFailure()?.status, 200);
  clock.advance(120);
  const late = new View(++ids, 'GET', '/s', {});
  cache.lookup(late);
  t.is(late.fallback?.responseForFailure() ?? null, null, 'past stale-if-error');
});

test('stale-while-revalidate serves stale at once and revalidates once in the background', (t) => {
  const clock = new Clock();
  const fetches: ((response: { status: number; headers: string[]; body: Buffer } | null) => void)[] = [];
  const cache = new HttpCache(SETTINGS, () => {}, { fetch: (_request, done) => fetches.push(done) }, () => clock.ms);
  const origin = (): OriginAnswer => ({ status: 200, headers: ['date', dateOf(clock), 'cache-control', 'max-age=1, stale-while-revalidate=30'], body: 'old' });
  request(cache, 'GET', '/w', {}, origin);
  clock.advance(3);
  const first = request(cache, 'GET', '/w', {}, origin);
  t.is(first.from, 'cache');
  t.is(first.body, 'old');
  t.regex(header(first.headers, 'cache-status') ?? '', /hit; ttl=-2; detail=stale-while-revalidate/);
  request(cache, 'GET', '/w', {}, origin);
  t.is(fetches.length, 1, 'one background revalidation');
  (fetches[0] as (typeof fetches)[number])({ status: 200, headers: ['date', dateOf(clock), 'cache-control', 'max-age=60'], body: Buffer.from('new') });
  t.is(request(cache, 'GET', '/w', {}, origin).body, 'new');
});

test('Set-Cookie: not stored by default; stored without it with strip; Authorization: only with public', (t) => {
  const cookie = (): OriginAnswer => ({ status: 200, headers: ['cache-control', 'max-age=60', 'set-cookie', 'session=alice'], body: 'alice' });
  const skip = setup().cache;
  request(skip, 'GET', '/k', {}, cookie);
  t.is(request(skip, 'GET', '/k', {}, cookie).from, 'origin');
  const strip = setup({ setCookie: 'strip' }).cache;
  request(strip, 'GET', '/k', {}, cookie);
  const hit = request(strip, 'GET', '/k', {}, cookie);
  t.is(hit.from, 'cache');
  t.is(header(hit.headers, 'set-cookie'), undefined);
  const { cache } = setup();
  const auth = (): OriginAnswer => ({ status: 200, headers: ['cache-control', 'max-age=60'], body: 'secret' });
  request(cache, 'GET', '/auth', { authorization: 'Basic YWxpY2U6eA==' }, auth);
  t.is(request(cache, 'GET', '/auth', {}, auth).from, 'origin');
});

// The property test ----------------------------------------------------------------------------

interface ModelResponse {
  readonly id: number;
  readonly directives: string;
  readonly expiresIn: number | 'invalid' | null;
  readonly age: number;
  readonly vary: 'none' | 'accept' | '*';
  readonly setCookie: boolean;
  readonly etag: boolean;
  /** Request facts when it was fetched. */
  readonly authorization: boolean;
  readonly accept: string;
  readonly requestNoStore: boolean;
  readonly fetchedAt: number;
}

/** RFC 9111 in its plainest words: may this response be stored, and is it fresh at `now` (seconds)? */
function modelStorable(r: ModelResponse): boolean {
  const d = r.directives.split(',').map((s) => s.trim());
  if (d.includes('no-store') || d.includes('private') || r.requestNoStore || r.vary === '*' || r.setCookie) return false;
  if (r.authorization && !d.includes('public') && !d.some((x) => x.startsWith('s-maxage')) && !d.includes('must-revalidate')) return false;
  return true;
}

function modelLifetime(r: ModelResponse): number {
  const d = r.directives.split(',').map((s) => s.trim());
  const s = d.find((x) => x.startsWith('s-maxage='));
  if (s !== undefined) return Number(s.slice(9));
  const m = d.find((x) => x.startsWith('max-age='));
  if (m !== undefined) return Number(m.slice(8));
  if (r.expiresIn === 'invalid') return 0;
  if (r.expiresIn !== null) return Math.max(0, r.expiresIn);
  return 0;
}

function mayReuseWithoutAsking(r: ModelResponse, accept: string, now: number): boolean {
  const d = r.directives.split(',').map((s) => s.trim());
  if (!modelStorable(r) || d.includes('no-cache')) return false;
  if (r.vary === 'accept' && accept !== r.accept) return false;
  const age = r.age + (now - r.fetchedAt);
  return age < modelLifetime(r);
}

/** One time in four: each restriction on its own, so that enough responses are stored to be reused. */
const RARELY = fc.constantFrom(false, false, false, true);

const responseArbitrary = fc.record({
  directives: fc.oneof(
    fc.constantFrom('max-age=30', 'max-age=5, public', 's-maxage=10', 'max-age=30, must-revalidate', ''),
    fc.subarray(['max-age=5', 'max-age=30', 's-maxage=10', 'no-store', 'private', 'no-cache', 'public', 'must-revalidate'], { maxLength: 3 }).map((list) => list.join(', ')),
  ),
  expiresIn: fc.oneof(fc.constant(null), fc.constant('invalid' as const), fc.integer({ min: -10, max: 60 })),
  age: fc.integer({ min: 0, max: 20 }),
  vary: fc.constantFrom('none' as const, 'none' as const, 'accept' as const, '*' as const),
  setCookie: RARELY,
  etag: fc.boolean(),
});

const stepArbitrary = fc.record({
  url: fc.constantFrom('/1', '/2', '/3'),
  accept: fc.constantFrom('text/html', 'application/json'),
  authorization: RARELY,
  requestNoStore: RARELY,
  wait: fc.integer({ min: 0, max: 12 }),
  response: responseArbitrary,
});

test('property: a response is served from the store only when the model allows reusing it', (t) => {
  let fromCache = 0;
  fc.assert(
    fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 60 }), (steps) => {
      const { cache, clock } = setup();
      const start = clock.ms;
      const sent = new Map<number, ModelResponse>();
      let next = 0;
      for (const step of steps) {
        clock.advance(step.wait);
        const now = (clock.ms - start) / 1000;
        const headers: Record<string, string> = { accept: step.accept };
        if (step.authorization) headers.authorization = 'Bearer x';
        if (step.requestNoStore) headers['cache-control'] = 'no-store';
        const served = request(cache, 'GET', step.url, headers, () => {
          const id = ++next;
          const r = step.response;
          sent.set(id, { ...r, id, authorization: step.authorization, accept: step.accept, requestNoStore: step.requestNoStore, fetchedAt: now });
          const out = ['date', new Date(clock.ms).toUTCString(), 'age', String(r.age)];
          if (r.directives !== '') out.push('cache-control', r.directives);
          if (r.expiresIn === 'invalid') out.push('expires', '0');
          else if (r.expiresIn !== null) out.push('expires', new Date(clock.ms + r.expiresIn * 1000).toUTCString());
          if (r.vary === 'accept') out.push('vary', 'accept');
          if (r.vary === '*') out.push('vary', '*');
          if (r.setCookie) out.push('set-cookie', 'who=me');
          if (r.etag) out.push('etag', `"${id}"`);
          return { status: 200, headers: out, body: String(id) };
        });
        if (served.from !== 'cache') continue;
        fromCache++;
        const original = sent.get(Number(served.body));
        if (original === undefined) return false;
        if (!mayReuseWithoutAsking(original, step.accept, now)) {
          t.log({ original, now, accept: step.accept, headers: served.headers });
          return false;
        }
        if (step.authorization === false && original.authorization && !modelStorable(original)) return false;
        if (header(served.headers, 'set-cookie') !== undefined) return false;
      }
      return true;
    }),
    { numRuns: 300, seed: 12 },
  );
  t.true(fromCache > 100, `${fromCache} responses served from the store: the property was exercised`);
});
