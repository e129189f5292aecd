/**
 * Live reload: SIGHUP re-reads the config file (the original flags still
 * override it) and the new settings reach every worker as a message. Under
 * keep-alive load through `--workers 2`, three reloads (an upstream added,
 * one removed, a rate limit changed) fail no request and drop no connection.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import test, { type ExecutionContext } from 'ava';
import { Client } from 'undici';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall } from '../helpers/client.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const LOOPS = 4;

/** A config file in a fresh temporary directory; `write` replaces its text. */
function configFile(t: ExecutionContext): { path: string; write(yaml: string): void } {
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-reload-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const path = join(directory, 'balancebeam.yaml');
  return { path, write: (yaml) => writeFileSync(path, yaml) };
}

const yamlFor = (upstreams: readonly TestUpstream[], extra = ''): string =>
  `upstream:\n${upstreams.map((upstream) => `  - ${upstream.id}\n`).join('')}active-health-check-interval: 0\n${extra}`;

/** SIGHUP, then the primary's answer: the `config reloaded` (or failed) line that follows it. */
async function reload(balancer: RunningBalancer, what: string): Promise<{ msg: string; changed?: unknown; errors?: unknown }> {
  const from = balancer.process.mark();
  process.kill(balancer.process.pid, 'SIGHUP');
  const line = await balancer.process.waitForLog(
    (entry) => entry.node === 'p' && (entry.msg === 'config reloaded' || entry.msg === 'config reload failed; the running settings are kept'),
    { timeoutMs: 10_000, from, what },
  );
  return line as { msg: string; changed?: unknown; errors?: unknown };
}

/** Both workers have applied settings version `version`. */
async function appliedEverywhere(balancer: RunningBalancer, version: number): Promise<void> {
  await waitFor(
    () => {
      const nodes = new Set(
        balancer.process.logsWith((line) => line.msg === 'settings applied' && line.version === version).map((line) => line.node),
      );
      return nodes.size >= 2 ? true : undefined;
    },
    { timeoutMs: 10_000, what: `settings version ${version} applied by both workers` },
  );
}

test('three reloads under keep-alive load (--workers 2): no failed request, no dropped connection, an added upstream served within a second', async (t) => {
  const [a, b, c] = [await startUpstream(t, { name: 'a' }), await startUpstream(t, { name: 'b' }), await startUpstream(t, { name: 'c' })] as [
    TestUpstream,
    TestUpstream,
    TestUpstream,
  ];
  const file = configFile(t);
  file.write(yamlFor([a, b]));
  const balancer = await startBalancer(t, ['--config', file.path, '--workers', '2']);

  let connects = 0;
  let disconnects = 0;
  const failures: string[] = [];
  let answered = 0;
  const clients = Array.from({ length: LOOPS }, () => {
    const client = new Client(balancer.origin, { pipelining: 1 });
    client.on('connect', () => connects++);
    client.on('disconnect', () => disconnects++);
    return client;
  });
  t.teardown(() => Promise.all(clients.map((client) => client.destroy())));
  let running = true;
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
  const served = (upstream: TestUpstream): number => upstream.proxied().length;
  await waitFor(() => (served(a) >= 20 && served(b) >= 20 ? true : undefined), { timeoutMs: 15_000, what: 'load on a and b' });

  // 1. Add c.
  file.write(yamlFor([a, b, c]));
  const added = await reload(balancer, 'the reload adding c');
  t.is(added.msg, 'config reloaded');
  const addedAt = performance.now();
  await waitFor(() => (served(c) > 0 ? true : undefined), { timeoutMs: 5_000, what: 'a request at c' });
  const firstAtC = performance.now() - addedAt;
  t.log(`c got its first request ${firstAtC.toFixed(0)} ms after the reload was logged`);
  t.true(firstAtC < 1_000, `c first served after ${firstAtC} ms`);

  // 2. Remove a: once both workers have the new settings, a gets nothing new (at most the requests already in flight).
  file.write(yamlFor([b, c]));
  t.is((await reload(balancer, 'the reload removing a')).msg, 'config reloaded');
  await appliedEverywhere(balancer, 3);
  const atA = served(a);
  const [atB, atC] = [served(b), served(c)];
  await waitFor(() => (served(b) >= atB + 50 && served(c) >= atC + 50 ? true : undefined), { timeoutMs: 15_000, what: '50 more at b and c' });
  t.true(served(a) - atA <= LOOPS, `a got ${served(a) - atA} requests after its removal was applied`);

  // 3. Change the rate limit (high enough that this load stays under it).
  file.write(yamlFor([b, c], 'max-requests-per-minute: 1000000\n'));
  const limited = await reload(balancer, 'the reload setting a rate limit');
  t.is(limited.msg, 'config reloaded');
  t.regex(String(limited.changed), /rateLimit/);
  await appliedEverywhere(balancer, 4);
  const before = answered;
  await waitFor(() => (answered >= before + 100 ? true : undefined), { timeoutMs: 15_000, what: '100 more answers' });

  running = false;
  await Promise.all(loops);
  t.log(`${answered} answered; ${connects} connections opened, ${disconnects} closed during the load`);
  t.deepEqual(failures, [], 'no request failed');
  t.is(connects, LOOPS, 'one connection per client, none re-opened');
  t.is(disconnects, 0, 'no connection dropped');
  t.deepEqual(balancer.process.crashReports(), []);
});

test('an invalid file on reload changes nothing: the error is logged, the instance keeps serving', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const file = configFile(t);
  file.write(yamlFor([a]));
  const balancer = await startBalancer(t, ['--config', file.path, '--workers', '1']);
  file.write('upstream: [\nmax-headers: lots\n');
  const line = await reload(balancer, 'the failed reload');
  t.is(line.msg, 'config reload failed; the running settings are kept');
  t.regex(String(line.errors), /balancebeam\.yaml:\d+/);
  t.is((await httpCall(balancer.port)).status, 200);
  t.is(a.proxied().length, 1);
});

test('bind and workers changes are refused on reload with a line naming them; the rest applies (a lower rate limit at once)', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const file = configFile(t);
  file.write(yamlFor([a], 'workers: 1\nbind: 127.0.0.1:0\n'));
  // bind and workers from the file alone: flags would override the file on reload too.
  const balancer = await startBalancer(t, ['--config', file.path], { bind: null });
  for (let i = 0; i < 3; i++) t.is((await httpCall(balancer.port)).status, 200);
  file.write(yamlFor([a], 'workers: 2\nbind: 127.0.0.1:1\nmax-requests-per-minute: 2\n'));
  const from = balancer.process.mark();
  t.is((await reload(balancer, 'the reload with bind and workers')).msg, 'config reloaded');
  const refused = balancer.process.logsWith((entry) => String(entry.msg).startsWith('config reload: '), from).map((entry) => String(entry.msg));
  t.is(refused.length, 2, refused.join('\n'));
  t.true(refused.some((msg) => msg.startsWith('config reload: bind: changing it needs a restart')));
  t.true(refused.some((msg) => msg.startsWith('config reload: workers: changing it needs a restart')));
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await httpCall(balancer.port)).status);
  t.deepEqual(statuses, [200, 200, 429], 'the new limit counts from the reload on');
});

test('a worker started after a reload (a replacement) gets the reloaded settings, not the start-up ones', async (t) => {
  const [a, b] = [await startUpstream(t, { name: 'a' }), await startUpstream(t, { name: 'b' })];
  const file = configFile(t);
  file.write(yamlFor([a]));
  const balancer = await startBalancer(t, ['--config', file.path, '--workers', '2']);
  file.write(yamlFor([b]));
  t.is((await reload(balancer, 'the reload to b')).msg, 'config reloaded');
  await appliedEverywhere(balancer, 2);
  const [w1] = balancer.process.logsWith((line) => line.msg === 'worker started' && line.worker === 'w1');
  const from = balancer.process.mark();
  process.kill(Number(w1?.pid), 'SIGKILL');
  await balancer.process.waitForLog((line) => line.msg === 'worker started' && line.worker === 'w1', {
    timeoutMs: 15_000,
    from,
    what: 'the replacement w1',
  });
  const atA = a.proxied().length;
  // A connection each: the primary hands them to the workers in turn, so the replacement serves some.
  await waitFor(
    async () => {
      t.is((await httpCall(balancer.port)).status, 200);
      return balancer.process.logsWith((line) => line.msg === 'request' && line.node === 'w1', from).length > 0 ? true : undefined;
    },
    { timeoutMs: 15_000, what: 'a request served by the replacement w1' },
  );
  t.is(a.proxied().length, atA, 'no request reached a, which the reload removed');
});

test('a reload to --log-level debug (from the file) turns on actor-event lines in the workers; back to info turns them off', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const file = configFile(t);
  file.write(yamlFor([a]));
  const balancer = await startBalancer(t, ['--config', file.path, '--workers', '2']);
  file.write(yamlFor([a], 'log-level: debug\n'));
  t.is((await reload(balancer, 'the reload to debug')).msg, 'config reloaded');
  await appliedEverywhere(balancer, 2);
  t.is((await httpCall(balancer.port)).status, 200);
  await balancer.process.waitForLog((line) => line.msg === 'actor event' && line.event === 'request.received', {
    timeoutMs: 10_000,
    what: "a worker's actor-event line",
  });
  file.write(yamlFor([a]));
  t.is((await reload(balancer, 'the reload back to info')).msg, 'config reloaded');
  await appliedEverywhere(balancer, 3);
  const from = balancer.process.mark();
  t.is((await httpCall(balancer.port)).status, 200);
  await balancer.process.waitForLog((line) => line.msg === 'request' && line.status === 200, { timeoutMs: 10_000, from });
  t.deepEqual(balancer.process.logsWith((line) => line.msg === 'actor event', from), []);
});
