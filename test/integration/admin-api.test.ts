/**
 * The admin API through the real CLI: the token guard, drain and restore
 * across workers, add and remove under load, weights, reload, the effective
 * configuration and the change log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Client } from 'undici';
import { startBalancerWithAdmin, upstreamPath } from '../helpers/admin.js';
import { runCli } from '../helpers/balancer.js';
import { httpCall } from '../helpers/client.js';
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'test-admin-token-0123456789';

/** `/hold` requests wait until `release()`; the rest are answered at once. */
function holdingHandler(): { handler: UpstreamHandler; held: number; release(): void } {
  const waiting: (() => void)[] = [];
  const state = {
    held: 0,
    handler: ((req, res) => {
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
        res.end('ok');
      };
      if (req.url !== '/hold') return answer();
      state.held++;
      waiting.push(answer);
    }) as UpstreamHandler,
    release: () => {
      for (const answer of waiting.splice(0)) answer();
    },
  };
  return state;
}

function configFile(t: ExecutionContext, text: string): { path: string; write(yaml: string): void } {
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-admin-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const path = join(directory, 'balancebeam.yaml');
  writeFileSync(path, text);
  return { path, write: (yaml) => writeFileSync(path, yaml) };
}

test('with a token, every request needs it: 401 without or with a wrong one, then 404 and 405 from the server', async (t) => {
  const upstream = await startUpstream(t, { name: 'a' });
  const { admin } = await startBalancerWithAdmin(t, ['--upstream', upstream.id, '--admin-token', TOKEN, '--active-health-check-interval', '0']);
  for (const token of [undefined, '', 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1), TOKEN.toUpperCase()]) {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    for (const path of ['/api/upstreams', '/metrics', '/nowhere']) {
      const answer = await admin.call('GET', path, { headers });
      t.is(answer.status, 401, `${path} with ${String(token)}`);
      t.regex(answer.headers.get('www-authenticate') ?? '', /^Bearer realm="balancebeam admin"/);
    }
  }
  const drain = await admin.call('POST', `${upstreamPath(upstream.id)}/drain`);
  t.is(drain.status, 401, 'a change without the token is refused too');
  t.is((await admin.call('GET', '/api/upstreams', { token: TOKEN })).status, 200);
  t.is((await admin.call('GET', '/nowhere', { token: TOKEN })).status, 404);
  const wrongMethod = await admin.call('DELETE', '/metrics', { token: TOKEN });
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('allow'), 'GET');
  t.false((await admin.call('GET', '/api/upstreams', { token: TOKEN })).text.includes(TOKEN));
});

test('bound beyond loopback without a token, it refuses to start (exit 2, naming --admin)', async (t) => {
  const result = await runCli(['--upstream', '127.0.0.1:9', '--bind', '127.0.0.1:0', '--admin', '0.0.0.0:0']);
  t.is(result.code, 2);
  t.regex(result.stderr, /--admin: 0\.0\.0\.0:0 is not a loopback address: give --admin-token or --admin-token-file/);
  const short = await runCli(['--upstream', '127.0.0.1:9', '--bind', '127.0.0.1:0', '--admin', '0.0.0.0:0', '--admin-token', 'short']);
  t.is(short.code, 2);
  t.regex(short.stderr, /--admin-token: a token needs at least 16 characters/);
});

test('drain (--workers 2): no new request reaches a drained upstream from any worker, its in-flight ones complete, restore brings it back', async (t) => {
  const hold = holdingHandler();
  const a = await startUpstream(t, { name: 'a', handler: hold.handler });
  const b = await startUpstream(t, { name: 'b' });
  const { balancer, admin } = await startBalancerWithAdmin(t, [
    '--upstream', a.id, '--upstream', b.id, '--workers', '2', '--active-health-check-interval', '0', '--balance', 'round-robin',
  ]); // prettier-ignore

  // Requests held at a: round robin sends every other one there, and each worker has its own turn.
  // A long bound: they stay held while the drain is applied and checked, which takes seconds on a busy machine.
  const held = Array.from({ length: 6 }, () => httpCall(balancer.port, { path: '/hold', timeoutMs: 45_000 }));
  await waitFor(() => (hold.held >= 2 ? true : undefined), { timeoutMs: 10_000, what: 'requests held at a' });
  const heldAtA = hold.held;
  await waitFor(async () => ((await admin.upstreams()).get(a.id)?.inFlight ?? 0) >= heldAtA || undefined, {
    timeoutMs: 5_000,
    what: "a's in-flight count in /api/upstreams",
  });

  const drained = await admin.ok('POST', `${upstreamPath(a.id)}/drain`);
  t.is(drained.result, 'applied');
  t.deepEqual([...(drained.confirmed as string[])].sort(), ['w1', 'w2'], 'both workers confirmed before the answer');
  const listed = (await admin.upstreams()).get(a.id);
  t.true(listed?.draining);
  t.is(listed?.health, 'healthy', 'drained, not dead');

  const atA = a.proxied().length;
  const statuses = await Promise.all(Array.from({ length: 40 }, (_, n) => httpCall(balancer.port, { path: `/after-drain/${n}` }).then((r) => r.status)));
  t.true(statuses.every((status) => status === 200), statuses.join(' '));
  t.is(a.proxied().length, atA, 'no new request reached the drained upstream');

  hold.release();
  const answers = await Promise.all(held);
  t.true(answers.every((answer) => answer.status === 200), answers.map((answer) => answer.status).join(' '));
  t.is(answers.filter((answer) => answer.body.toString() === 'ok').length, hold.held, 'every request held at a completed after the drain');

  t.is((await admin.ok('POST', `${upstreamPath(a.id)}/restore`)).result, 'applied');
  t.false((await admin.upstreams()).get(a.id)?.draining);
  await Promise.all(Array.from({ length: 20 }, (_, n) => httpCall(balancer.port, { path: `/after-restore/${n}` })));
  t.true(a.proxied().length > atA, 'restored: a gets requests again');
  t.is((await admin.call('POST', `${upstreamPath('127.0.0.1:1')}/drain`)).status, 404);
  t.is(balancer.process.crashReports().length, 0);
});

test('add and remove under keep-alive load (--workers 2): no failed request; the added one is served, the removed one gets nothing new', async (t) => {
  const [a, b, c] = [await startUpstream(t, { name: 'a' }), await startUpstream(t, { name: 'b' }), await startUpstream(t, { name: 'c' })] as [
    TestUpstream,
    TestUpstream,
    TestUpstream,
  ];
  const { balancer, admin } = await startBalancerWithAdmin(t, ['--upstream', a.id, '--upstream', b.id, '--workers', '2', '--active-health-check-interval', '0']);
  const failures: string[] = [];
  let answered = 0;
  let running = true;
  const clients = Array.from({ length: 4 }, () => new Client(balancer.origin, { pipelining: 1 }));
  t.teardown(() => Promise.all(clients.map((client) => client.destroy())));
  const loops = clients.map(async (client, index) => {
    for (let n = 0; running; n++) {
      try {
        const response = await client.request({ path: `/l${index}/${n}`, method: 'GET', headersTimeout: 10_000 });
        await response.body.dump();
        if (response.statusCode === 200) answered++;
        else failures.push(`status ${response.statusCode}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  });
  await waitFor(() => (a.proxied().length >= 20 && b.proxied().length >= 20 ? true : undefined), { timeoutMs: 15_000, what: 'load on a and b' });

  const added = await admin.call('POST', '/api/upstreams', { body: { address: c.id, weight: 2 } });
  t.is(added.status, 201, added.text);
  await waitFor(() => (c.proxied().length >= 10 ? true : undefined), { timeoutMs: 10_000, what: 'requests at the added upstream' });
  t.is((await admin.call('POST', '/api/upstreams', { body: { address: c.id } })).status, 409, 'added twice');
  t.is((await admin.call('POST', '/api/upstreams', { body: { address: 'nonsense' } })).status, 400);
  t.is((await admin.call('POST', '/api/upstreams', { body: { address: '127.0.0.1:9', weight: 0 } })).status, 400);

  const removed = await admin.ok('DELETE', upstreamPath(a.id));
  t.deepEqual([...(removed.confirmed as string[])].sort(), ['w1', 'w2']);
  const atA = a.proxied().length;
  const before = answered;
  await waitFor(() => (answered >= before + 100 ? true : undefined), { timeoutMs: 15_000, what: '100 more answers' });
  t.is(a.proxied().length, atA, 'the removed upstream got nothing once both workers confirmed');
  t.deepEqual([...(await admin.upstreams()).keys()], [b.id, c.id]);
  t.is((await admin.upstreams()).get(c.id)?.weight, 2);
  t.is((await admin.call('DELETE', upstreamPath(a.id))).status, 404);

  running = false;
  await Promise.all(loops);
  t.deepEqual(failures, []);
  t.true(answered > 100);
});

test('a weight change shows in the traffic shares (weighted-round-robin)', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const b = await startUpstream(t, { name: 'b' });
  const { balancer, admin } = await startBalancerWithAdmin(t, [
    '--upstream', a.id, '--upstream', b.id, '--balance', 'weighted-round-robin', '--active-health-check-interval', '0',
  ]); // prettier-ignore
  const share = async (count: number): Promise<number> => {
    const atA = a.proxied().length;
    for (let n = 0; n < count; n++) await httpCall(balancer.port, { path: `/${n}` });
    return (a.proxied().length - atA) / count;
  };
  t.is(await share(40), 0.5);
  const changed = await admin.ok('PUT', `${upstreamPath(a.id)}/weight`, { body: { weight: 3 } });
  t.is(changed.result, 'applied');
  t.is(await share(80), 0.75);
  t.is((await admin.upstreams()).get(a.id)?.weight, 3);
  t.is((await admin.call('PUT', `${upstreamPath(a.id)}/weight`, { body: { weight: 1001 } })).status, 400);
  t.is((await admin.call('PUT', `${upstreamPath(a.id)}/weight`, { body: 'weight=2' })).status, 400);
  t.is((await admin.call('PUT', `${upstreamPath(a.id)}/weight`, { headers: { 'content-type': 'text/plain' } })).status, 415);
});

test('reload through the API re-reads the file; the API changes survive it; a bad file changes nothing; the log says who', async (t) => {
  const [a, b, c] = [await startUpstream(t, { name: 'a' }), await startUpstream(t, { name: 'b' }), await startUpstream(t, { name: 'c' })] as [
    TestUpstream,
    TestUpstream,
    TestUpstream,
  ];
  const file = configFile(t, `upstream:\n  - ${a.id}\n  - ${b.id}\nactive-health-check-interval: 0\n`);
  const { balancer, admin } = await startBalancerWithAdmin(t, ['--config', file.path, '--admin-token', TOKEN], { token: TOKEN });

  t.is((await admin.ok('POST', `${upstreamPath(a.id)}/drain`)).result, 'applied');
  file.write(`upstream:\n  - ${a.id}\n  - ${b.id}\n  - ${c.id}\nactive-health-check-interval: 0\nretries: 2\n`);
  const reloaded = await admin.ok('POST', '/api/reload');
  t.is(reloaded.result, 'applied');
  t.deepEqual([...(reloaded.changed as string[])].sort(), ['retries', 'upstreams']);
  const listed = await admin.upstreams();
  t.deepEqual([...listed.keys()], [a.id, b.id, c.id]);
  t.true(listed.get(a.id)?.draining, 'the drain made through the API survives the reload');
  const atA = a.proxied().length;
  for (let n = 0; n < 9; n++) await httpCall(balancer.port, { path: `/${n}` });
  t.is(a.proxied().length, atA);
  t.true(c.proxied().length > 0);

  t.is((await admin.ok('POST', '/api/reload')).result, 'unchanged');
  file.write('upstream: [\n');
  const failed = await admin.call('POST', '/api/reload');
  t.is(failed.status, 422);
  t.is((await admin.upstreams()).size, 3, 'the running settings are kept');

  // SIGHUP goes the same way, and lands in the same log.
  const mark = balancer.process.mark();
  process.kill(balancer.process.pid, 'SIGHUP');
  await balancer.process.waitForLog((line) => line.msg === 'settings change' && line.who === 'SIGHUP', { timeoutMs: 10_000, from: mark });
  const { changes } = (await admin.ok('GET', '/api/changes')) as { changes: { seq: number; who: string; what: string; result: string; time: string }[] };
  t.deepEqual(
    changes.map((change) => [change.what, change.result]),
    [
      [`drain ${a.id}`, 'applied'],
      ['reload', 'applied'],
      ['reload', 'unchanged'],
      ['reload', 'failed'],
      ['reload', 'failed'],
    ],
  );
  t.regex(changes[0]?.who ?? '', /^token holder at 127\.0\.0\.1:\d+$/);
  t.is(changes[4]?.who, 'SIGHUP');
  t.false(Number.isNaN(Date.parse(changes[0]?.time ?? '')));
  const later = (await admin.ok('GET', `/api/changes?since=${changes[3]?.seq ?? 0}`)) as { changes: unknown[] };
  t.is(later.changes.length, 1);
});

test('GET /api/config: the effective configuration, the token redacted, the runtime changes listed', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const { admin } = await startBalancerWithAdmin(t, ['--upstream', a.id, '--admin-token', TOKEN, '--retries', '3'], { token: TOKEN });
  await admin.ok('PUT', `${upstreamPath(a.id)}/weight`, { body: { weight: 7 } });
  const answer = await admin.call('GET', '/api/config');
  t.is(answer.status, 200);
  t.false(answer.text.includes(TOKEN), 'the token never appears');
  const { effective, runtimeChanges } = answer.json as {
    effective: { admin: { token: string }; retries: number; upstreams: { id: string; weight: number }[] };
    runtimeChanges: { weights: Record<string, number> };
  };
  t.is(effective.admin.token, '[redacted]');
  t.is(effective.retries, 3);
  t.deepEqual(effective.upstreams.map((u) => [u.id, u.weight]), [[a.id, 7]]);
  t.deepEqual(runtimeChanges.weights, { [a.id]: 7 });
});

test('loopback without a token: a state-changing request from another origin is refused (a web page cannot drive it)', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const { admin } = await startBalancerWithAdmin(t, ['--upstream', a.id]);
  const forged = await admin.call('POST', `${upstreamPath(a.id)}/drain`, { headers: { origin: 'http://evil.example' } });
  t.is(forged.status, 403);
  t.false((await admin.upstreams()).get(a.id)?.draining);
  // fetch keeps Host to itself: node:http sends the one given (a DNS-rebound page's request looks like this).
  const rebound = await httpCall(Number(new URL(admin.origin).port), { path: '/api/config', headers: { host: 'evil.example' } });
  t.is(rebound.status, 421);
});
