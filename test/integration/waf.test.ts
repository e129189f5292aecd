/**
 * The web application firewall through the real CLI: `--waf block` answers
 * an attack 403 with a request id and logs the rule, `detect` logs and
 * passes, exclusions turn a rule off for a path or an argument, a body is
 * inspected up to --waf-body-limit and held back from the upstream until
 * the verdict, a body beyond the limit is streamed on whole, an Upgrade
 * request passes the same filter, and a SIGHUP picks up an edited rule file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { startBalancer, type LogLine, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';

const COMMON = ['--workers', '1', '--active-health-check-interval', '0'];

function scratch(t: ExecutionContext): string {
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-waf-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

async function wafLine(balancer: RunningBalancer, from: number, msg: string): Promise<LogLine> {
  return balancer.process.waitForLog((line) => line.msg === msg, { from, timeoutMs: 10_000, what: msg });
}

test('block: an attack in a query argument gets 403 with a request id, the log names the rule, score and part; a benign request passes', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block']);
  const from = balancer.process.mark();
  const blocked = await httpCall(balancer.port, { path: `/search?q=${encodeURIComponent("1' OR '1'='1")}&session_token=s3cr3t` });
  t.is(blocked.status, 403);
  const requestId = String(blocked.headers['x-request-id']);
  t.regex(requestId, /^[\w-]{12}$/);
  t.true(blocked.body.toString().includes(`request id: ${requestId}`));
  t.false(blocked.body.toString().includes('230'), 'no rule detail for the client');
  const line = await wafLine(balancer, from, 'waf blocked');
  t.is(line.requestId, requestId);
  t.regex(String(line.rules), /230100/);
  t.true(Number(line.score) >= 5);
  t.regex(String(line.matches), /args:q/);
  t.is(upstream.proxied().length, 0, 'never forwarded');

  const benign = await httpCall(balancer.port, { path: '/products?category=shoes&page=2', headers: { cookie: 'theme=dark' } });
  t.is(benign.status, 200);
  t.is(upstream.proxied().length, 1);
});

test('block: an attack in an arbitrary header, a cookie and a Base64-encoded argument', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block']);
  t.is((await httpCall(balancer.port, { headers: { 'x-anything': '<script>alert(1)</script>' } })).status, 403);
  t.is((await httpCall(balancer.port, { headers: { cookie: 'prefs=..%2F..%2F..%2Fetc%2Fpasswd' } })).status, 403);
  const encoded = Buffer.from('{{7*7}} ${7*7}').toString('base64');
  t.is((await httpCall(balancer.port, { path: `/page?tpl=${encodeURIComponent(encoded)}` })).status, 403);
  t.is(upstream.proxied().length, 0);
});

test('detect: the attack is logged and passed to the upstream', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'detect']);
  const from = balancer.process.mark();
  const response = await httpCall(balancer.port, { path: `/search?q=${encodeURIComponent('<svg onload=alert(1)>')}` });
  t.is(response.status, 200);
  const line = await wafLine(balancer, from, 'waf detected');
  t.regex(String(line.rules), /240100/);
  t.is(upstream.proxied().length, 1);
});

test('exclusions: a rule off for one argument, or under one path, and nowhere else', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id, ...COMMON, '--waf', 'block',
    '--waf-exclude', '240100-240199,arg=html', '--waf-exclude', '230000-230999,path=/admin/sql',
  ]);
  const xss = encodeURIComponent('<b onclick=alert(1)>x</b>');
  t.is((await httpCall(balancer.port, { path: `/cms?html=${xss}` })).status, 200, 'the excluded argument');
  t.is((await httpCall(balancer.port, { path: `/cms?other=${xss}` })).status, 403, 'another argument');
  const sql = encodeURIComponent("1' UNION SELECT password FROM users--");
  t.is((await httpCall(balancer.port, { path: `/admin/sql/console?q=${sql}` })).status, 200, 'the excluded path');
  t.is((await httpCall(balancer.port, { path: `/search?q=${sql}` })).status, 403, 'another path');
});

test('bodies: an attack in a form, JSON or multipart body is blocked before the upstream sees a byte; a benign one arrives whole', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block']);
  const form = await httpCall(balancer.port, { method: 'POST', path: '/comment', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `text=${encodeURIComponent('; cat /etc/passwd')}` });
  t.is(form.status, 403);
  const json = await httpCall(balancer.port, { method: 'POST', path: '/api', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: { filter: { $where: 'sleep(5000)' } } }) });
  t.is(json.status, 403);
  const boundary = 'XyZ';
  const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="bio"\r\n\r\n<iframe src=javascript:alert(1)>\r\n--${boundary}--\r\n`;
  const parts = await httpCall(balancer.port, { method: 'POST', path: '/profile', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: multipart });
  t.is(parts.status, 403);
  t.is(upstream.proxied().length, 0);

  const benign = JSON.stringify({ name: 'Alice', comment: 'Great shoes, would buy again!' });
  const ok = await httpCall(balancer.port, { method: 'POST', path: '/api', headers: { 'content-type': 'application/json' }, body: benign });
  t.is(ok.status, 200);
  t.is(upstream.proxied()[0]?.body.toString(), benign);
});

test('body limit: an attack past --waf-body-limit is not seen, and a body larger than the limit is inspected up to it, then streamed on whole', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block', '--waf-body-limit', '1024']);
  const early = `text=${encodeURIComponent('<script>alert(1)</script>')}&pad=${'a'.repeat(4000)}`;
  t.is((await httpCall(balancer.port, { method: 'POST', path: '/c', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: early })).status, 403);
  const late = `pad=${'a'.repeat(4000)}&text=${encodeURIComponent('<script>alert(1)</script>')}`;
  t.is((await httpCall(balancer.port, { method: 'POST', path: '/c', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: late })).status, 200);

  // 2 MiB in chunks (chunked transfer coding): the first KiB is held for the verdict, the rest streams on.
  const chunk = Buffer.alloc(64 * 1024, 'b');
  const big = Readable.from((function* () {
    for (let i = 0; i < 32; i++) yield chunk;
  })());
  const response = await httpCall(balancer.port, { method: 'POST', path: '/upload', headers: { 'content-type': 'application/octet-stream' }, bodyStream: big });
  t.is(response.status, 200);
  const received = upstream.proxied().at(-1);
  t.is(received?.body.length, 32 * chunk.length);
  t.true(received?.body.every((byte) => byte === 98));
});

test('a body still arriving is held back until the verdict: the upstream sees nothing of a blocked one', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block']);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  const payload = `text=${encodeURIComponent('{{config.__class__.__init__.__globals__}}')}`;
  connection.write(`POST /c HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${payload.length}\r\n\r\n`);
  connection.write(payload.slice(0, 10));
  connection.write(payload.slice(10));
  const response = await connection.readResponse();
  t.is(response.status, 403);
  t.is(upstream.proxied().length, 0);
});

test('an Upgrade request passes the same filter', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block']);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  connection.write(`GET /ws?room=${encodeURIComponent('../../etc/passwd')} HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
  const response = await connection.readResponse();
  t.is(response.status, 403);
});

test('a user rule file: used at start, a bad one refused by check, and an edit applied by SIGHUP', async (t) => {
  const upstream = await startUpstream(t);
  const directory = scratch(t);
  const rules = join(directory, 'rules.yaml');
  const rule = (word: string): string =>
    `rules:\n  - id: 900001\n    message: forbidden word\n    category: protocol\n    score: 5\n    parts: [args]\n    transforms: [fullDecode, lowercase]\n    regex: '\\b${word}\\b'\n`;
  writeFileSync(rules, rule('kumquat'));
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block', '--waf-rules', rules]);
  t.is((await httpCall(balancer.port, { path: '/?fruit=Kumquat' })).status, 403);
  t.is((await httpCall(balancer.port, { path: '/?fruit=durian' })).status, 200);

  writeFileSync(rules, rule('durian'));
  const from = balancer.process.mark();
  process.kill(balancer.process.pid, 'SIGHUP');
  await balancer.process.waitForLog((line) => line.msg === 'config reloaded', { from, timeoutMs: 10_000, what: 'the reload' });
  t.is((await httpCall(balancer.port, { path: '/?fruit=durian' })).status, 403);
  t.is((await httpCall(balancer.port, { path: '/?fruit=kumquat' })).status, 200);

  // A broken edit: the reload fails and the running rules stay.
  writeFileSync(rules, 'rules:\n  - id: 900001\n    message: broken\n    category: nonsense\n    parts: [args]\n    regex: "("\n');
  const before = balancer.process.mark();
  process.kill(balancer.process.pid, 'SIGHUP');
  const failed = await balancer.process.waitForLog((line) => line.msg === 'config reload failed; the running settings are kept', { from: before, timeoutMs: 10_000, what: 'the failed reload' });
  t.regex(String(failed.errors), /900001/);
  t.is((await httpCall(balancer.port, { path: '/?fruit=durian' })).status, 403);
});

test('fuzz: random and hostile payloads in every placement each get an answer, and the process never crashes', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, ...COMMON, '--waf', 'block']);
  const from = balancer.process.mark();
  const samples = fc.sample(
    fc.tuple(
      fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("'", '<svg onload=', '../', '%00', '%', '${', '{{', '\\u0027', '&#x3c;', '$(id)', '＜', 'QUFBQUFB')), { maxLength: 12 }).map((pieces) => pieces.join('')),
      fc.constantFrom('query', 'path', 'header', 'cookie', 'form', 'json', 'multipart', 'xml'),
    ),
    { numRuns: 80, seed: 13 },
  );
  for (const [text, placement] of samples) {
    const encoded = encodeURIComponent(text.replace(/[\ud800-\udfff]/g, ''));
    const headerSafe = encoded;
    let options: Parameters<typeof httpCall>[1] = { path: `/q?v=${encoded}` };
    if (placement === 'path') options = { path: `/p/${encoded}` };
    if (placement === 'header') options = { headers: { 'x-data': headerSafe } };
    if (placement === 'cookie') options = { headers: { cookie: `a=${headerSafe}` } };
    if (placement === 'form') options = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `v=${encoded}` };
    if (placement === 'json') options = { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"v":${JSON.stringify(text)}` };
    if (placement === 'multipart') options = { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body: `--b\r\nContent-Disposition: form-data; name="v"\r\n\r\n${text}\r\n--b--\r\n` };
    if (placement === 'xml') options = { method: 'POST', headers: { 'content-type': 'application/xml' }, body: `<a>${text}</a>` };
    const response = await httpCall(balancer.port, { ...options, timeoutMs: 10_000 });
    t.true([200, 400, 403].includes(response.status), `${placement}: ${JSON.stringify(text)} → ${response.status}`);
  }
  t.deepEqual(balancer.process.crashReports(from), []);
  t.deepEqual(balancer.process.logsWith((line) => line.msg === 'waf failed on a request; passed uninspected', from), []);
});
