/** The WAF's operators: the phrase automaton, numbers, both regex engines, and the SQL and HTML detectors. */
import test from 'ava';
import { PhraseSet } from '../../src/waf/aho-corasick.js';
import { detectXss } from '../../src/waf/html-detector.js';
import { compileOperator } from '../../src/waf/operator.js';
import { backtrackingRisk, compileLinearPattern, compileTrustedPattern } from '../../src/waf/regex-safety.js';
import { detectSqlInjection, fingerprint } from '../../src/waf/sql-detector.js';

test('PhraseSet: every phrase found in one pass, case-insensitive, overlapping and nested phrases', (t) => {
  const set = new PhraseSet(['sqlmap', 'nikto', 'map', 'he', 'she', 'hers']);
  t.is(set.find('Mozilla sqlMap/1.7'), 'sqlmap');
  t.is(set.find('ushers'), 'she');
  t.is(set.find('roadmap'), 'map');
  t.is(set.find('no match in this text'), null);
  t.is(new PhraseSet(['ünï']).find('xÜnï'.toLowerCase()), 'ünï', 'non-ASCII phrases');
});

test('PhraseSet with whole words: a phrase inside a longer word does not count', (t) => {
  const set = new PhraseSet(['cat', 'id'], { wholeWords: true });
  t.is(set.find('concatenate'), null);
  t.is(set.find('video'), null);
  t.is(set.find('x; cat /etc'), 'cat');
  t.is(set.find('id'), 'id');
});

test('PhraseSet: a thousand phrases against a long text in linear time', (t) => {
  const phrases = Array.from({ length: 1000 }, (_, i) => `agent${i}x`);
  const set = new PhraseSet(phrases);
  const text = 'agent'.repeat(13_000);
  const started = performance.now();
  t.is(set.find(text), null);
  t.true(performance.now() - started < 200);
});

test('number: length and value comparisons; a non-number never matches', (t) => {
  t.truthy(compileOperator({ kind: 'number', of: 'value', comparison: 'gt', limit: 10 }, true).match('11'));
  t.is(compileOperator({ kind: 'number', of: 'value', comparison: 'gt', limit: 10 }, true).match('abc'), null);
  t.truthy(compileOperator({ kind: 'number', of: 'length', comparison: 'ge', limit: 3 }, true).match('abc'));
  t.is(compileOperator({ kind: 'number', of: 'length', comparison: 'lt', limit: 3 }, true).match('abc'), null);
  t.truthy(compileOperator({ kind: 'number', of: 'value', comparison: 'ne', limit: 0 }, true).match('1'));
});

test('regex: V8 for shipped patterns of a safe shape, re2js (linear) for user patterns, both case-insensitive by default', (t) => {
  t.is(compileTrustedPattern('union\\s+select', false).find('1 UNION  SELECT'), 'UNION  SELECT');
  t.is(compileLinearPattern('union\\s+select', false).find('1 UNION  SELECT'), 'UNION  SELECT');
  t.is(compileLinearPattern('Exact', true).find('exact'), null);
  t.throws(() => compileTrustedPattern('(a+)+$', false), { message: /nested quantifier/ });
  t.throws(() => compileTrustedPattern('(\\w)\\1', false), { message: /backreference/ });
  // re2js is linear where V8 would take forever.
  const started = performance.now();
  t.is(compileLinearPattern('(a+)+$', false).find(`${'a'.repeat(50_000)}!`), null);
  t.true(performance.now() - started < 2_000);
});

test('backtrackingRisk: nested unbounded quantifiers, lookbehinds, backreferences', (t) => {
  t.is(backtrackingRisk('(a|b)*c'), null);
  t.is(backtrackingRisk('(?:x\\s+){0,3}y'), null, 'a small bound is polynomial: left to the timing test');
  t.is(backtrackingRisk('(?:\\w+\\s)*$'), 'nested quantifier');
  t.is(backtrackingRisk('(?:(?:a)+)+'), 'nested quantifier');
  t.is(backtrackingRisk('(?<=a)b'), 'lookbehind');
  t.is(backtrackingRisk('[(a+)+]'), null, 'inside a class it is characters');
});

test('SQL detector: attacks in every context, by shape', (t) => {
  for (const attack of [
    "1' OR '1'='1",
    "admin'--",
    '1 OR 1=1',
    "' UNION SELECT username, password FROM users--",
    '1) AND SLEEP(5)--',
    "1; DROP TABLE users",
    '-1 UNION ALL SELECT 1,2,3',
    "1' AND extractvalue(1,concat(0x7e,version()))--",
    'or 1=1',
    '" or ""="',
    '1 ORDER BY 10--',
    "') or ('a'='a",
    'SELECT * FROM users',
  ]) {
    t.truthy(detectSqlInjection(attack), attack);
  }
});

test('SQL detector: English with SQL words passes', (t) => {
  for (const text of [
    'union was a great select',
    "O'Reilly books on SQL",
    'D\'or 1st parfume',
    'john+or@var.es',
    'select one from the list',
    'Tom & Jerry',
    "it's 5 o'clock",
    '1) a-b=c',
    'rock and roll',
  ]) {
    t.is(detectSqlInjection(text), null, text);
  }
  t.is(fingerprint("' or 1=1--", "'"), 's&nonc', 'the quote context: the string the value closes, then the rest');
});

test('HTML detector: tags that run script, handlers, script URLs, injected attributes', (t) => {
  t.is(detectXss('<script>alert(1)</script>'), 'tag:script');
  t.is(detectXss('<img src=x onerror=alert(1)>'), 'attr:onerror');
  t.is(detectXss('<a href="javascript:alert(1)">x</a>'), 'url:href');
  t.is(detectXss('" autofocus onfocus=alert(1) x="'), 'inject:handler');
  t.is(detectXss('javascript:alert(document.domain)'), 'url:script');
  t.is(detectXss('<svg/onload=alert(1)>'), 'tag:svg');
  t.is(detectXss('<x onpointerrawupdate=alert(1)>'), 'attr:onpointerrawupdate');
});

test('HTML detector: comparisons, plain markup and do-nothing links pass', (t) => {
  for (const text of ['a < b and c > d', 'h2<h1', '<b>bold</b>', '<p class="x">text</p>', 'javascript:void(0)', 'JavaScript: Basics of JavaScript', 'one only']) {
    t.is(detectXss(text), null, text);
  }
});
