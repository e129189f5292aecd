/**
 * The response cache end to end: the real CLI with --cache-size in front of
 * a real origin that counts the requests it gets, one rule per test (each
 * on URLs of its own). The origin answers with the headers the test asks
 * for in the query (`/x?h=cache-control:max-age%3D60&h=vary:accept`), and a
 * body naming how many requests that path has had.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { procStatusKb, startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall, type HttpOptions, type HttpResult } from '../helpers/client.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const BASE = ['--active-health-check-interval', '0', '--workers', '1'];

interface Origin {
  readonly upstream: TestUpstream;
  /** Requests per path (query left out), health checks excluded. */
  count(path: string): number;
  /** Paths whose next request is answered this way instead (once per entry). */
  readonly scripted: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

async function startOrigin(t: ExecutionContext): Promise<Origin> {
  const counts = new Map<string, number>();
  const scripted = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const upstream = await startUpstream(t, {
    handler: (req, res) => {
      const url = new URL(req.url ?? '/', 'http://origin');
      const n = (counts.get(url.pathname) ?? 0) + 1;
      counts.set(url.pathname, n);
      const script = scripted.get(url.pathname);
      if (script !== undefined) {
        script(req, res);
        return;
      }
      const headers: [string, string][] = [];
      for (const field of url.searchParams.getAll('h')) {
        const colon = field.indexOf(':');
        headers.push([field.slice(0, colon), field.slice(colon + 1)]);
      }
      const etag = url.searchParams.get('etag');
      if (etag !== null) {
        headers.push(['etag', etag]);
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, [...headers, ['x-revalidated', String(n)]].flat());
          res.end();
          return;
        }
      }
      const pad = 'z'.repeat(Number(url.searchParams.get('size') ?? 0));
      const body = `${url.pathname} #${n}${url.searchParams.has('echo') ? ` ${String(req.headers[url.searchParams.get('echo') as string] ?? '')}` : ''}${pad}`;
      res.writeHead(Number(url.searchParams.get('status') ?? 200), [...headers, ['content-type', 'text/plain'], ['content-length', String(Buffer.byteLength(body))]].flat());
      res.end(body);
    },
  });
  return { upstream, scripted, count: (path) => counts.get(path) ?? 0 };
}

async function cached(t: ExecutionContext, extra: readonly string[] = []): Promise<{ balancer: RunningBalancer; origin: Origin }> {
  const origin = await startOrigin(t);
  const balancer = await startBalancer(t, ['--upstream', origin.upstream.id, ...BASE, '--cache-size', '8000000', ...extra]);
  return { balancer, origin };
}

function get(balancer: RunningBalancer, path: string, options: HttpOptions = {}): Promise<HttpResult> {
  return httpCall(balancer.port, { path, ...options });
}

const q = (...headers: string[]): string => headers.map((h) => `h=${encodeURIComponent(h)}`).join('&');

test.serial('a fresh response is stored while it streams, served with Age and Cache-Status, the upstream\'s own headers kept, hop-by-hop ones never', async (t) => {
  const { balancer, origin } = await cached(t);
  const path = `/fresh?${q('cache-control:max-age=60', 'x-custom:kept', 'connection:x-secret', 'x-secret:hop')}`;
  const miss = await get(balancer, path);
  t.is(miss.body.toString(), '/fresh #1');
  t.is(miss.headers['cache-status'], 'balancebeam; fwd=uri-miss; fwd-status=200; stored');
  t.is(miss.headers['x-secret'], undefined);
  const hit = await get(balancer, path);
  t.is(hit.body.toString(), '/fresh #1');
  t.is(origin.count('/fresh'), 1);
  t.true(hit.headers.age === '0' || hit.headers.age === '1', `Age ${String(hit.headers.age)}`);
  // ttl is the freshness left (60 s less the current age, in whole seconds): with Age rounded down too,
  // the two add up to 60, or 59 when the age's fraction carried ttl below the next second.
  const ttl = Number(/^balancebeam; hit; ttl=(\d+)$/.exec(String(hit.headers['cache-status']))?.[1]);
  t.true([59, 60].includes(ttl + Number(hit.headers.age)), `ttl ${ttl}, Age ${String(hit.headers.age)}`);
  t.is(hit.headers['x-custom'], 'kept');
  t.is(hit.headers['x-secret'], undefined, 'a field the upstream Connection named is not stored');
  // Another URL (a query is part of the key) and a HEAD answered from the stored GET.
  await get(balancer, `${path}&other`);
  t.is(origin.count('/fresh'), 2);
  const head = await get(balancer, path, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], '9');
  t.is(origin.count('/fresh'), 2);
});

test.serial('never stored: no-store (either side), private, Authorization without public, Vary *, Set-Cookie; never replayed to another client', async (t) => {
  const { balancer, origin } = await cached(t);
  const twice = async (path: string, first: HttpOptions = {}, second: HttpOptions = {}): Promise<HttpResult> => {
    await get(balancer, path, first);
    return get(balancer, path, second);
  };
  await twice(`/no-store?${q('cache-control:max-age=60, no-store')}`);
  t.is(origin.count('/no-store'), 2);
  await twice(`/req-no-store?${q('cache-control:max-age=60')}`, { headers: { 'cache-control': 'no-store' } });
  t.is(origin.count('/req-no-store'), 2);
  await twice(`/private?${q('cache-control:max-age=60, private')}`);
  t.is(origin.count('/private'), 2);
  await twice(`/vary-star?${q('cache-control:max-age=60', 'vary:*')}`);
  t.is(origin.count('/vary-star'), 2);
  const bob = await twice(`/auth?${q('cache-control:max-age=60')}&echo=authorization`, { headers: { authorization: 'Bearer alice' } });
  t.is(origin.count('/auth'), 2);
  t.is(bob.body.toString(), '/auth #2 ', "the second client never sees the answer to alice's Authorization");
  await twice(`/auth-public?${q('cache-control:max-age=60, public')}`, { headers: { authorization: 'Bearer alice' } });
  t.is(origin.count('/auth-public'), 1, 'public allows storing an authorized response');
  const other = await twice(`/cookie?${q('cache-control:max-age=60', 'set-cookie:session=alice')}`);
  t.is(origin.count('/cookie'), 2);
  t.deepEqual(other.headers['set-cookie'], ['session=alice'], "each client gets the origin's own Set-Cookie, none a stored one");
});

test.serial('--cache-set-cookie strip stores the response without its Set-Cookie: another client never gets the cookie', async (t) => {
  const { balancer, origin } = await cached(t, ['--cache-set-cookie', 'strip']);
  const path = `/cookie?${q('cache-control:max-age=60', 'set-cookie:session=alice')}`;
  const alice = await get(balancer, path);
  t.deepEqual(alice.headers['set-cookie'], ['session=alice']);
  const bob = await get(balancer, path);
  t.is(origin.count('/cookie'), 1);
  t.is(bob.headers['set-cookie'], undefined);
});

test.serial('a stale response is revalidated with its validators; the 304 updates it; client conditionals get 304 from the store', async (t) => {
  const { balancer, origin } = await cached(t);
  const fresh = `/fresh-etag?${q('cache-control:max-age=600')}&etag=${encodeURIComponent('"f1"')}`;
  await get(balancer, fresh);
  const conditional = await get(balancer, fresh, { headers: { 'if-none-match': '"f1"' } });
  t.is(conditional.status, 304);
  t.is(origin.count('/fresh-etag'), 1);
  const path = `/validate?${q('cache-control:max-age=1')}&etag=${encodeURIComponent('"v1"')}`;
  await get(balancer, path);
  // Stale after a second: the next request goes upstream with If-None-Match and gets the stored 200.
  await waitFor(async () => ((await get(balancer, path, { method: 'HEAD' })).headers['cache-status']?.includes('fwd=stale') === true ? true : undefined), {
    timeoutMs: 5_000,
    intervalMs: 200,
    what: 'the stored response to go stale',
  });
  const seen = origin.upstream.proxied().at(-1);
  t.is(seen?.headers['if-none-match'], '"v1"');
  const revalidated = await get(balancer, path);
  t.true([200].includes(revalidated.status));
  t.regex(revalidated.body.toString(), /^\/validate #1$/, 'the stored body, revalidated');
});

test.serial('no-cache responses and requests are revalidated before every reuse; must-revalidate is never served stale', async (t) => {
  const { balancer, origin } = await cached(t, ['--cache-serve-stale-on-error', '60']);
  const path = `/nc?${q('cache-control:no-cache, max-age=60')}&etag=${encodeURIComponent('"n"')}`;
  await get(balancer, path);
  const second = await get(balancer, path);
  t.is(origin.count('/nc'), 2, 'asked the origin again');
  t.is(second.status, 200);
  t.is(second.body.toString(), '/nc #1', 'and got the stored body back after its 304');
  const fresh = `/req-nc?${q('cache-control:max-age=60')}`;
  await get(balancer, fresh);
  await get(balancer, fresh, { headers: { 'cache-control': 'no-cache' } });
  t.is(origin.count('/req-nc'), 2);
  await get(balancer, fresh, { headers: { pragma: 'no-cache' } });
  t.is(origin.count('/req-nc'), 3, 'Pragma: no-cache without Cache-Control');
});

test.serial('an unsafe method invalidates the URL and its same-origin Location; PURGE is just an unknown method, forwarded', async (t) => {
  const { balancer, origin } = await cached(t);
  const path = `/doc?${q('cache-control:max-age=60')}`;
  await get(balancer, path);
  await get(balancer, '/other');
  origin.scripted.set('/doc', (_req, res) => {
    origin.scripted.delete('/doc');
    res.writeHead(204, { location: `/doc?${q('cache-control:max-age=60')}` });
    res.end();
  });
  const post = await get(balancer, path, { method: 'POST', body: 'x' });
  t.is(post.status, 204);
  await get(balancer, path);
  t.is(origin.count('/doc'), 3, 'the POST, then a miss');
});

test.serial('concurrent misses for one URL make one upstream request; an uncacheable one lets each go upstream; nobody waits past the lock timeout', async (t) => {
  const { balancer, origin } = await cached(t, ['--cache-lock-timeout', '2']);
  const agent = new Agent({ keepAlive: false, maxSockets: 50 });
  t.teardown(() => agent.destroy());
  const slow = (cacheControl: string) => (_req: IncomingMessage, res: ServerResponse) => {
    setTimeout(() => {
      res.writeHead(200, { 'cache-control': cacheControl, 'content-length': '4' });
      res.end('slow');
    }, 300);
  };
  origin.scripted.set('/hot', slow('max-age=60'));
  const hot = await Promise.all(Array.from({ length: 10 }, () => get(balancer, '/hot', { agent })));
  t.true(hot.every((r) => r.status === 200 && r.body.toString() === 'slow'));
  t.is(origin.count('/hot'), 1);
  origin.scripted.set('/private', slow('private'));
  const uncacheable = await Promise.all(Array.from({ length: 5 }, () => get(balancer, '/private', { agent })));
  t.true(uncacheable.every((r) => r.status === 200));
  t.is(origin.count('/private'), 5);
  // The first request never gets an answer: the others wait a lock timeout (2 s), then go upstream.
  let first = true;
  origin.scripted.set('/hang', (_req, res) => {
    if (first) {
      first = false;
      return;
    }
    res.writeHead(200, { 'cache-control': 'no-store', 'content-length': '2' });
    res.end('ok');
  });
  const hanging = get(balancer, '/hang', { agent, timeoutMs: 30_000 }).catch(() => null);
  await waitFor(() => (origin.count('/hang') === 1 ? true : undefined), { timeoutMs: 5_000, what: 'the first /hang' });
  const started = Date.now();
  const waiters = await Promise.all(Array.from({ length: 3 }, () => get(balancer, '/hang', { agent, timeoutMs: 10_000 })));
  t.true(waiters.every((r) => r.body.toString() === 'ok'));
  t.true(Date.now() - started < 8_000);
  void hanging;
});

test.serial('a single range from a stored full response is a 206; a 206 from upstream is never stored as the full response', async (t) => {
  const { balancer, origin } = await cached(t);
  const path = `/r?${q('cache-control:max-age=60')}`;
  await get(balancer, path);
  const part = await get(balancer, path, { headers: { range: 'bytes=0-1' } });
  t.is(part.status, 206);
  t.is(part.body.toString(), '/r');
  t.is(part.headers['content-range'], 'bytes 0-1/5');
  origin.scripted.set('/p', (_req, res) => {
    res.writeHead(206, { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-1/10', 'content-length': '2' });
    res.end('ab');
  });
  await get(balancer, '/p', { headers: { range: 'bytes=0-1' } });
  origin.scripted.delete('/p');
  const full = await get(balancer, '/p');
  t.is(full.status, 200);
  t.is(origin.count('/p'), 2);
});

test.serial('stale-if-error and --cache-serve-stale-on-error serve the stored response when the upstream is down; otherwise 502', async (t) => {
  const { balancer, origin } = await cached(t, ['--cache-serve-stale-on-error', '30']);
  const sie = `/sie?${q('cache-control:max-age=1, stale-if-error=60')}`;
  const policy = `/policy?${q('cache-control:max-age=1')}`;
  // Stale from the start (max-age=0), so it cannot still be fresh when asked below: Age counts whole seconds.
  const strict = `/strict?${q('cache-control:max-age=0, must-revalidate')}`;
  for (const path of [sie, policy, strict]) await get(balancer, path);
  await origin.upstream.kill();
  // Once stale (a second), the origin being down is answered from the store.
  const stale = await waitFor(async () => {
    const response = await get(balancer, sie);
    return response.headers['cache-status']?.includes('stale-if-error') === true ? response : undefined;
  }, { timeoutMs: 5_000, intervalMs: 200, what: 'a stale-if-error answer' });
  t.is(stale.status, 200);
  t.is(stale.body.toString(), '/sie #1');
  t.is((await get(balancer, policy)).body.toString(), '/policy #1');
  t.is((await get(balancer, strict)).status, 502, 'must-revalidate: never stale');
  t.is((await get(balancer, '/never-stored')).status, 502);
});

test.serial('stale-while-revalidate answers at once with the stale response and revalidates once in the background', async (t) => {
  const { balancer, origin } = await cached(t);
  const path = `/swr?${q('cache-control:max-age=1, stale-while-revalidate=60')}`;
  await get(balancer, path);
  const stale = await waitFor(async () => {
    const response = await get(balancer, path);
    return response.headers['cache-status']?.includes('stale-while-revalidate') === true ? response : undefined;
  }, { timeoutMs: 5_000, intervalMs: 200, what: 'a stale-while-revalidate answer' });
  t.is(stale.body.toString(), '/swr #1');
  const updated = await waitFor(async () => {
    const response = await get(balancer, path);
    return response.body.toString() === '/swr #2' ? response : undefined;
  }, { timeoutMs: 5_000, intervalMs: 100, what: 'the background revalidation to land' });
  t.regex(String(updated.headers['cache-status']), /hit/);
  t.is(origin.count('/swr'), 2, 'one background request');
});

test.serial('Vary: variants stored apart, each served to the matching request only', async (t) => {
  const { balancer, origin } = await cached(t);
  const path = `/lang?${q('cache-control:max-age=60', 'vary:accept-language')}&echo=accept-language`;
  const en = await get(balancer, path, { headers: { 'accept-language': 'en' } });
  const fr = await get(balancer, path, { headers: { 'accept-language': 'fr' } });
  t.is((await get(balancer, path, { headers: { 'accept-language': 'en' } })).body.toString(), en.body.toString());
  const fr2 = await get(balancer, path, { headers: { 'accept-language': 'fr' } });
  t.is(fr2.body.toString(), fr.body.toString());
  t.regex(String(fr2.headers['cache-status']), /hit/);
  t.is(origin.count('/lang'), 2);
});

test.serial('CDN-Cache-Control and Balancebeam-Cache-Control rule over Cache-Control', async (t) => {
  const { balancer, origin } = await cached(t);
  await get(balancer, `/cdn?${q('cache-control:no-store', 'cdn-cache-control:max-age=60')}`);
  await get(balancer, `/cdn?${q('cache-control:no-store', 'cdn-cache-control:max-age=60')}`);
  t.is(origin.count('/cdn'), 1);
  await get(balancer, `/bb?${q('cdn-cache-control:max-age=60', 'balancebeam-cache-control:no-store')}`);
  await get(balancer, `/bb?${q('cdn-cache-control:max-age=60', 'balancebeam-cache-control:no-store')}`);
  t.is(origin.count('/bb'), 2);
});

test.serial('interim 103 responses are relayed, not stored; an object over --cache-max-object-size streams through unstored', async (t) => {
  const { balancer, origin } = await cached(t, ['--cache-max-object-size', '1000']);
  origin.scripted.set('/big', (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' });
    res.write('x'.repeat(800));
    res.end('y'.repeat(800));
  });
  for (let i = 0; i < 2; i++) t.is((await get(balancer, '/big')).body.length, 1600);
  t.is(origin.count('/big'), 2);
  origin.scripted.set('/hints', (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload' });
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '2' });
    res.end('ok');
  });
  t.is((await get(balancer, '/hints')).status, 200);
  const hit = await get(balancer, '/hints');
  t.is(hit.status, 200);
  t.regex(String(hit.headers['cache-status']), /hit/);
});

test.serial('memory stays within the budget under a flood of distinct URLs', async (t) => {
  const origin = await startOrigin(t);
  const balancer = await startBalancer(t, ['--upstream', origin.upstream.id, ...BASE, '--cache-size', '1000000']);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const warm = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, k) => get(balancer, `/f/${i + k}?${q('cache-control:max-age=600')}&size=100000`, { agent })));
    }
  };
  await warm(0, 200);
  const baselineKb = procStatusKb(balancer.process.pid, 'VmRSS');
  // 1,600 objects of 100 KB (160 MB) through a 1 MB budget: unbounded, RSS would grow by that much.
  await warm(200, 1_800);
  const grownKb = procStatusKb(balancer.process.pid, 'VmRSS') - baselineKb;
  t.log(`RSS grew ${grownKb} kB`);
  t.true(grownKb < 80_000, `RSS grew ${grownKb} kB for 160 MB of distinct responses`);
  // The newest are stored, the oldest evicted.
  await get(balancer, `/f/1799?${q('cache-control:max-age=600')}&size=100000`, { agent });
  t.is(origin.count('/f/1799'), 1);
  await get(balancer, `/f/201?${q('cache-control:max-age=600')}&size=100000`, { agent });
  t.is(origin.count('/f/201'), 2);
});

test.serial('a reload keeps what is stored unless a cache setting changed', async (t) => {
  const origin = await startOrigin(t);
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-cache-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, 'balancebeam.yaml');
  const write = (size: number, retries: number): void => writeFileSync(file, `cache-size: ${size}\nretries: ${retries}\n`);
  write(8_000_000, 1);
  const balancer = await startBalancer(t, ['--config', file, '--upstream', origin.upstream.id, ...BASE]);
  const reload = async (): Promise<void> => {
    const from = balancer.process.logs.length;
    process.kill(balancer.process.pid, 'SIGHUP');
    await balancer.process.waitForLog((line) => line.msg === 'config reloaded', { timeoutMs: 10_000, from, what: 'config reloaded' });
  };
  const path = `/kept?${q('cache-control:max-age=600')}`;
  await get(balancer, path);
  write(8_000_000, 2);
  await reload();
  t.regex(String((await get(balancer, path)).headers['cache-status']), /hit/, 'another setting changed: still stored');
  write(9_000_000, 2);
  await reload();
  t.regex(String((await get(balancer, path)).headers['cache-status']), /fwd=uri-miss/, 'a new budget: a new, empty cache');
  t.is(origin.count('/kept'), 2);
});

test.serial('with --workers 2 each worker caches (and coalesces) on its own', async (t) => {
  const origin = await startOrigin(t);
  const balancer = await startBalancer(t, ['--upstream', origin.upstream.id, '--active-health-check-interval', '0', '--workers', '2', '--cache-size', '8000000']);
  await balancer.process.workerPids(2);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const path = `/workers?${q('cache-control:max-age=600')}`;
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await get(balancer, path, { agent }));
  t.true(answers.every((answer) => answer.body.toString() === '/workers #1'), 'one keep-alive connection: one worker, one stored copy');
  t.is(origin.count('/workers'), 1);
  t.regex(String(answers[4]?.headers['cache-status']), /hit/);
});
