/**
 * Cache-Control parsing by the RFC 9111 grammar, the malformed cases
 * included, and the cases where http-cache-semantics (the Node field's policy
 * library) reads it otherwise: the reason balancebeam parses it itself.
 */
import { createRequire } from 'node:module';
import test from 'ava';
import { ABSENT, parseCacheControl } from '../../src/cache/cache-control.js';

test('names are case-insensitive, values may be quoted, unknown directives are ignored', (t) => {
  const d = parseCacheControl('MAX-AGE=60, S-MaxAge="120", foo=bar, x-unknown, Public');
  t.is(d.maxAge, 60);
  t.is(d.sMaxAge, 120);
  t.true(d.public);
  t.false(d.noCache, 'an unknown directive is not no-cache');
  t.false(d.malformed);
});

test('a duplicated delta keeps the smaller value; several field lines are one list', (t) => {
  t.is(parseCacheControl('max-age=3600, max-age=1').maxAge, 1);
  t.is(parseCacheControl(['max-age=1', 'max-age=3600']).maxAge, 1);
  t.is(parseCacheControl(['public', 's-maxage=5']).sMaxAge, 5);
});

test('an invalid max-age makes the response stale; an invalid stale-* is absent', (t) => {
  for (const value of ['max-age=10a', 'max-age=-1', 'max-age=', 'max-age=1.5', 'max-age="a"']) {
    t.is(parseCacheControl(value).maxAge, 0, value);
  }
  t.is(parseCacheControl('stale-while-revalidate=x').staleWhileRevalidate, ABSENT);
  t.is(parseCacheControl('stale-if-error=-5').staleIfError, ABSENT);
  t.is(parseCacheControl('max-age=99999999999').maxAge, 2_147_483_648, 'clamped to 2^31 (RFC 9111 §1.2.2)');
});

test('quoted strings keep their commas and escapes; a field list after private/no-cache', (t) => {
  const d = parseCacheControl('private="set-cookie, x-user", max-age=60');
  t.false(d.private, 'qualified private is not the unqualified one');
  t.deepEqual(d.privateFields, ['set-cookie', 'x-user']);
  t.is(d.maxAge, 60);
  const n = parseCacheControl('no-cache="a,b", max-age=60');
  t.true(n.noCache, 'qualified no-cache is taken as the unqualified one');
  t.is(n.maxAge, 60);
  t.is(parseCacheControl('foo="a \\" , max-age=1", max-age=30').maxAge, 30, 'an escaped quote does not end the string');
});

test('malformed members are skipped and flagged, the rest kept', (t) => {
  const open = parseCacheControl('max-age=30, foo="unterminated, no-store');
  t.is(open.maxAge, 30);
  t.true(open.malformed);
  const junk = parseCacheControl('max-age=30 junk, public');
  t.is(junk.maxAge, 0, 'a max-age with junk after its value is taken as stale');
  t.true(junk.public);
  t.true(junk.malformed);
  t.false(parseCacheControl(' , ,max-age=5,, ').malformed, 'empty list members are allowed (RFC 9110 §5.6.1)');
  t.is(parseCacheControl('=5, max-age=5').maxAge, 5);
});

test('directives without arguments are kept even when given one; max-stale without a value is unbounded', (t) => {
  t.true(parseCacheControl('no-store=1').noStore);
  t.true(parseCacheControl('must-revalidate').mustRevalidate);
  t.is(parseCacheControl('max-stale').maxStale, Number.POSITIVE_INFINITY);
  t.is(parseCacheControl('max-stale=10').maxStale, 10);
  t.is(parseCacheControl('min-fresh=10, min-fresh=20').minFresh, 20, 'the stricter min-fresh');
});

/** http-cache-semantics on the same inputs: why its parser is not used (the library is installed for this comparison). */
test('where http-cache-semantics reads Cache-Control otherwise', (t) => {
  const require = createRequire(import.meta.url);
  const CachePolicy = require('http-cache-semantics') as new (
    req: { method: string; url: string; headers: Record<string, string> },
    res: { status: number; headers: Record<string, string> },
    options: { shared: boolean },
  ) => { maxAge(): number; storable(): boolean };
  const ttl = (cacheControl: string): number =>
    new CachePolicy({ method: 'GET', url: '/', headers: {} }, { status: 200, headers: { 'cache-control': cacheControl, date: new Date().toUTCString() } }, { shared: true }).maxAge();
  t.is(ttl('MAX-AGE=100'), 0, 'http-cache-semantics ignores an upper-case name (RFC 9111 §5.2: case-insensitive)');
  t.is(parseCacheControl('MAX-AGE=100').maxAge, 100);
  t.is(ttl('max-age=10a'), 10, 'it reads max-age=10a as 10');
  t.is(parseCacheControl('max-age=10a').maxAge, 0);
  t.is(ttl('max-age=3600, max-age=1'), 1, 'last duplicate wins there (which is the smaller here, by chance)');
  t.is(ttl('max-age=1, max-age=3600'), 3600, 'the larger, later duplicate wins there: neither the first nor stale (§4.2.1)');
  t.is(parseCacheControl('max-age=1, max-age=3600').maxAge, 1);
  const withCookie = new CachePolicy({ method: 'GET', url: '/', headers: {} }, { status: 200, headers: { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' } }, { shared: true });
  t.true(withCookie.storable(), 'it stores (and replays) Set-Cookie in a shared cache');
});
