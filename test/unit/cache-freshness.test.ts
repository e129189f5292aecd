/** Freshness and age arithmetic (RFC 9111 §4.2) and HTTP dates, on a clock of the test's own. */
import test from 'ava';
import { parseCacheControl } from '../../src/cache/cache-control.js';
import { correctedInitialAge, currentAge, freshnessLifetime, parseAge } from '../../src/cache/freshness.js';
import { parseHttpDate } from '../../src/cache/http-date.js';
import { lifetimeOf, refusalToStore, rulingDirectives } from '../../src/cache/response-policy.js';
import { NO_DIRECTIVES } from '../../src/cache/cache-control.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SETTINGS = { heuristicFreshness: false, setCookie: 'skip' as const, maxObjectBytes: 1_048_576 };

test('HTTP dates: the three forms of RFC 9110 §5.6.7, nothing else', (t) => {
  t.is(parseHttpDate('Thu, 01 Jan 2026 12:00:00 GMT'), T0);
  t.is(parseHttpDate('Thursday, 01-Jan-26 12:00:00 GMT', T0), T0);
  t.is(parseHttpDate('Thu Jan  1 12:00:00 2026'), T0);
  t.is(parseHttpDate('THU, 01 JAN 2026 12:00:00 gmt'), T0, 'case is forgiven');
  for (const bad of ['0', '-1', '2026', 'tomorrow', 'Thu, 31 Feb 2026 12:00:00 GMT', 'Thu, 01 Jan 2026 12:00:00 UTC', 'Thu, 01 Jan 2026 25:00:00 GMT', '']) {
    t.true(Number.isNaN(parseHttpDate(bad)), bad);
  }
});

test('lifetime: s-maxage over max-age over Expires − Date; an invalid Expires is already stale', (t) => {
  const life = (cc: string, expires?: number, date = T0): number =>
    freshnessLifetime({ directives: parseCacheControl(cc), expires, dateValue: date, lastModified: Number.NaN, status: 200, heuristic: false });
  t.is(life('s-maxage=5, max-age=50', T0 + 500_000), 5);
  t.is(life('max-age=50', T0 + 500_000), 50);
  t.is(life('', T0 + 500_000), 500);
  t.is(life('', Number.NaN), 0, 'invalid Expires');
  t.is(life('', T0 - 10_000), 0, 'Expires before Date');
  // Expires is judged against the response's Date: an origin whose clock is an hour ahead agrees with itself.
  t.is(life('', T0 + 3_600_000 + 60_000, T0 + 3_600_000), 60);
});

test('targeted fields: balancebeam-cache-control, then CDN-Cache-Control, rule and Cache-Control and Expires are ignored', (t) => {
  const headers = ['cache-control', 'no-store', 'cdn-cache-control', 'max-age=30', 'expires', 'Thu, 01 Jan 2026 12:00:00 GMT', 'date', 'Thu, 01 Jan 2026 12:00:00 GMT'];
  const ruling = rulingDirectives(headers);
  t.true(ruling.targeted);
  t.false(ruling.directives.noStore);
  t.is(lifetimeOf(200, headers, ruling, T0, SETTINGS), 30);
  const ours = rulingDirectives([...headers, 'balancebeam-cache-control', 'max-age=7']);
  t.is(ours.directives.maxAge, 7);
  t.false(rulingDirectives(['cdn-cache-control', 'max-age=30 junk', 'cache-control', 'max-age=3']).targeted, 'an invalid targeted field is ignored');
  // A targeted field is a Structured Field Dictionary (RFC 9213 §2.1): not one, or a wrong type, and it is ignored.
  t.false(rulingDirectives(['cdn-cache-control', 'max-age=10000, &&&&&']).targeted);
  t.false(rulingDirectives(['cdn-cache-control', 'max-age="10000"']).targeted);
  t.false(rulingDirectives(['cdn-cache-control', 'MAX-AGE=10']).targeted, 'Dictionary keys are lower case');
  t.true(rulingDirectives(['cdn-cache-control', 'max-age=10, private, no-cache="x"']).targeted);
});

test('heuristic freshness only when allowed, with Last-Modified, for a heuristically cacheable status', (t) => {
  const sources = { directives: NO_DIRECTIVES, expires: undefined, dateValue: T0, lastModified: T0 - 100_000_000, status: 200, heuristic: true };
  t.is(freshnessLifetime(sources), 10_000);
  t.is(freshnessLifetime({ ...sources, heuristic: false }), 0);
  t.is(freshnessLifetime({ ...sources, status: 302 }), 0);
  t.is(freshnessLifetime({ ...sources, lastModified: T0 - 10 * 86_400_000 * 10 }), 86_400, 'capped at a day');
});

test('age: RFC 9111 §4.2.3 with an incoming Age, the response delay and the resident time', (t) => {
  // Sent at T0, answered 2 s later, the origin's Date 1 s before T0 and Age 10.
  const timing = { requestTime: T0, responseTime: T0 + 2_000, dateValue: T0 - 1_000, ageValue: 10 };
  t.is(correctedInitialAge(timing), 12, 'max(apparent 3, 10 + delay 2)');
  t.is(currentAge(timing, T0 + 12_000), 22, 'plus 10 s resident');
  // An origin clock 100 s behind: apparent age is 0, never negative.
  t.is(correctedInitialAge({ requestTime: T0, responseTime: T0, dateValue: T0 + 100_000, ageValue: 0 }), 0);
  t.is(parseAge('abc'), 0);
  t.is(parseAge('5, 7'), 5);
});

test('what a shared cache never stores', (t) => {
  const ask = (headers: string[], extra: { status?: number; method?: string; auth?: boolean; requestNoStore?: boolean } = {}): string | null =>
    refusalToStore(
      {
        method: extra.method ?? 'GET',
        status: extra.status ?? 200,
        headers,
        ruling: rulingDirectives(headers),
        requestDirectives: extra.requestNoStore === true ? parseCacheControl('no-store') : NO_DIRECTIVES,
        requestHasAuthorization: extra.auth ?? false,
      },
      SETTINGS,
    );
  t.is(ask(['cache-control', 'max-age=60']), null);
  t.is(ask(['cache-control', 'max-age=60, no-store']), 'no-store');
  t.is(ask(['cache-control', 'max-age=60'], { requestNoStore: true }), 'request no-store');
  t.is(ask(['cache-control', 'max-age=60, private']), 'private');
  t.is(ask(['cache-control', 'max-age=60'], { auth: true }), 'authorization');
  t.is(ask(['cache-control', 'max-age=60, public'], { auth: true }), null);
  t.is(ask(['cache-control', 's-maxage=60'], { auth: true }), null);
  t.is(ask(['cache-control', 'max-age=60, must-revalidate'], { auth: true }), null);
  t.is(ask(['cache-control', 'max-age=60', 'vary', 'accept, *']), 'vary *');
  t.is(ask(['cache-control', 'max-age=60', 'set-cookie', 'a=b']), 'set-cookie');
  t.is(ask(['cache-control', 'max-age=60'], { status: 206 }), 'status');
  t.is(ask(['cache-control', 'max-age=60'], { status: 103 }), 'interim');
  t.is(ask(['cache-control', 'max-age=60'], { method: 'HEAD' }), 'method');
  t.is(ask([], { status: 302 }), 'status', 'no explicit freshness, not heuristically cacheable');
  t.is(ask(['cache-control', 'max-age=60'], { status: 302 }), null);
  t.is(ask(['cache-control', 'max-age=60'], { status: 404 }), null);
  t.is(ask(['cache-control', 'max-age=60'], { status: 410 }), null);
  t.is(ask(['cache-control', 'max-age=60', 'content-length', '2000000']), 'too large');
  t.is(ask(['cache-control', 'no-store, must-understand, max-age=60']), null, 'must-understand with a status understood overrides no-store');
  t.is(ask(['cache-control', 'no-store, must-understand, max-age=60'], { status: 299 }), 'must-understand');
  t.is(ask([]), 'no freshness', 'nothing to reuse it with');
  t.is(ask(['etag', '"x"']), null, 'stored for revalidation');
});
