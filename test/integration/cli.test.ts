/**
 * The command line: bad flags exit 2 naming the flag, a bind failure exits 1
 * naming the address, --help and --version exit 0, and `demo` serves.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { runCli, startBalancer } from '../helpers/balancer.js';
import { httpCall } from '../helpers/client.js';
import { listenOnLoopback, startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const UPSTREAM = ['--upstream', '127.0.0.1:9'];

const usageErrors: { title: string; args: string[]; names: RegExp[] }[] = [
  { title: 'no --upstream', args: [], names: [/--upstream/] },
  { title: 'malformed --upstream address', args: ['--upstream', 'nope'], names: [/--upstream/, /nope/] },
  { title: '--upstream with no port', args: ['--upstream', '127.0.0.1:'], names: [/--upstream/] },
  { title: '--upstream with an out-of-range port', args: ['--upstream', '127.0.0.1:70000'], names: [/--upstream/, /70000/] },
  { title: '--upstream with no value', args: ['--upstream'], names: [/--upstream/] },
  {
    title: 'non-numeric --active-health-check-interval',
    args: [...UPSTREAM, '--active-health-check-interval', 'soon'],
    names: [/--active-health-check-interval/, /soon/],
  },
  { title: 'unknown flag', args: [...UPSTREAM, '--frobnicate'], names: [/--frobnicate/] },
  { title: 'malformed --bind', args: [...UPSTREAM, '--bind', 'localhost'], names: [/--bind/] },
  { title: '--workers 0', args: [...UPSTREAM, '--workers', '0'], names: [/--workers/] },
  { title: 'unknown --balance', args: [...UPSTREAM, '--balance', 'sideways'], names: [/--balance/, /sideways/] },
  { title: 'non-numeric --max-requests-per-minute', args: [...UPSTREAM, '--max-requests-per-minute', 'lots'], names: [/--max-requests-per-minute/] },
  { title: 'unknown --log-level', args: [...UPSTREAM, '--log-level', 'chatty'], names: [/--log-level/] },
  { title: 'a stray argument', args: [...UPSTREAM, 'serve'], names: [/serve/] },
];

// Serial: each test starts a node process, and a burst of them would starve the timing-sensitive tests
// running in the other ava worker; one at a time takes about as long on two cores.
for (const { title, args, names } of usageErrors) {
  test.serial(`usage error, exit 2: ${title}`, async (t) => {
    const result = await runCli(args);
    t.is(result.code, 2, `stderr: ${result.stderr}`);
    for (const name of names) t.regex(result.stderr, name);
    t.regex(result.stderr, /^balancebeam: /);
    t.is(result.stdout, '');
  });
}

async function occupiedPort(t: ExecutionContext): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return port;
}

for (const workers of ['1', '2']) {
  test.serial(`bind failure (--workers ${workers}): exit 1 with a message naming the address`, async (t) => {
    const port = await occupiedPort(t);
    const result = await runCli([...UPSTREAM, '--bind', `127.0.0.1:${port}`, '--workers', workers, '--active-health-check-interval', '0']);
    t.is(result.code, 1, `stderr: ${result.stderr}`);
    t.regex(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    t.regex(result.stderr, /EADDRINUSE/);
    t.notRegex(result.stderr, /"msg":"listening"/);
  });
}

test.serial('--help: exit 0 and every flag listed', async (t) => {
  const result = await runCli(['--help']);
  t.is(result.code, 0);
  for (const flag of [
    '--bind',
    '--upstream',
    '--balance',
    '--active-health-check-interval',
    '--active-health-check-path',
    '--max-requests-per-minute',
    '--max-requests-per-window',
    '--rate-limit-window-size',
    '--rate-limit-algorithm',
    '--workers',
    '--log-level',
    '--help',
    '--version',
  ]) {
    t.true(result.stdout.includes(flag), `--help does not mention ${flag}`);
  }
  t.regex(result.stdout, /demo/);
});

test.serial('--version: exit 0 and the package version', async (t) => {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const result = await runCli(['--version']);
  t.is(result.code, 0);
  t.is(result.stdout, `balancebeam ${manifest.version}\n`);
});

test.serial('demo: prints a curl URL on stdout that answers 200 from the demo upstreams', async (t) => {
  const demo = await startBalancer(t, ['demo']);
  const url = await waitFor(() => /curl -i (http:\/\/\S+)/.exec(demo.process.stdout)?.[1], {
    timeoutMs: 10_000,
    what: `a curl line on stdout (so far: ${JSON.stringify(demo.process.stdout)})`,
  });
  const target = new URL(url);
  t.is(target.hostname, '127.0.0.1');
  t.is(Number(target.port), demo.port);

  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) {
    const response = await httpCall(Number(target.port), { path: target.pathname });
    t.is(response.status, 200);
    bodies.push(response.body.toString());
  }
  for (const body of bodies) t.true(body.startsWith('hello from demo upstream'), body);
  // Three demo upstreams, round-robin: each answered once.
  t.deepEqual(
    bodies.map((body) => /#(\d)/.exec(body)?.[1]).sort(),
    ['1', '2', '3'],
  );
});

/** A YAML config file in a fresh temporary directory, removed with the test. */
function configFile(t: ExecutionContext, yaml: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-cli-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const path = join(directory, 'balancebeam.yaml');
  writeFileSync(path, yaml);
  return path;
}

test.serial('check: valid settings print "configuration ok" and a summary, exit 0, nothing started', async (t) => {
  const path = configFile(t, 'upstream:\n  - 10.0.0.5:8080\n  - { address: 10.0.0.6:8080, weight: 3 }\nworkers: 1\n');
  const result = await runCli(['check', '--config', path, '--max-requests-per-minute', '100']);
  t.is(result.code, 0, `stderr: ${result.stderr}`);
  t.regex(result.stdout, new RegExp(`^balancebeam: configuration ok \\(${path.replaceAll('/', '\\/')}\\)\n`));
  t.regex(result.stdout, /upstreams: 10\.0\.0\.5:8080, 10\.0\.0\.6:8080 \(weight 3\)/);
  t.regex(result.stdout, /rate limit: 100 per 60 s/);
  t.notRegex(result.stderr, /listening/);
});

test.serial('check: every error listed with the file and line or the flag, exit 2', async (t) => {
  const path = configFile(t, 'upstream:\n  - 10.0.0.5:8080\n  - { address: 10.0.0.6:8080, weight: 0 }\nmax-headers: lots\nfrobnicate: true\n');
  const result = await runCli(['check', '--config', path, '--rate-limit-window-size', '0.0001']);
  t.is(result.code, 2, `stdout: ${result.stdout}`);
  t.is(result.stdout, '');
  t.deepEqual(result.stderr.trimEnd().split('\n'), [
    "balancebeam: --rate-limit-window-size: '0.0001' is not a number of seconds from 0.1 to 2073600",
    `balancebeam: ${path}:3: upstream: weight '0' is not a whole number from 1 to 1000`,
    `balancebeam: ${path}:4: max-headers: 'lots' (text) is not a whole number from 1 to 10000`,
    `balancebeam: ${path}:5: unknown key 'frobnicate'`,
    '(see balancebeam --help)',
  ]);
});

test.serial('check: more than twice as many workers as CPUs is a warning naming the CPU count, still exit 0', async (t) => {
  const cpus = availableParallelism();
  const result = await runCli(['check', ...UPSTREAM, '--workers', String(2 * cpus + 1)]);
  t.is(result.code, 0, `stderr: ${result.stderr}`);
  t.regex(result.stdout, new RegExp(`warning: --workers ${2 * cpus + 1} is more than twice the ${cpus} CPU`));
  const within = await runCli(['check', ...UPSTREAM, '--workers', String(2 * cpus)]);
  t.notRegex(within.stdout, /warning/);
});

test.serial('--config: upstreams from the file alone; the instance serves them', async (t) => {
  const upstream = await startUpstream(t);
  const path = configFile(t, `upstream:\n  - { address: 127.0.0.1:${upstream.port}, weight: 2 }\nactive-health-check-interval: 0\n`);
  const balancer = await startBalancer(t, ['--config', path]);
  const response = await httpCall(balancer.port, { path: '/from-config' });
  t.is(response.status, 200);
  t.is(upstream.requests.length, 1);
});

test.serial('--log-level debug (--workers 2): one line per actor event, from the primary and the workers', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--workers', '2', '--active-health-check-interval', '0', '--log-level', 'debug']);
  // Each worker's balancer subscribes to the upstream actor in the primary at start.
  const subscribed = await balancer.process.waitForLog((line) => line.msg === 'actor event' && line.event === 'upstream.subscribe', {
    timeoutMs: 10_000,
    what: "the upstream actor's upstream.subscribe",
  });
  t.like(subscribed, { node: 'p', actor: `p/upstream/${upstream.id}`, kind: 'upstream', state: '"healthy"' });
  t.is((await httpCall(balancer.port, { path: '/' })).status, 200);
  const received = await balancer.process.waitForLog((line) => line.msg === 'actor event' && line.event === 'request.received', {
    timeoutMs: 10_000,
    what: "a connection actor's request.received",
  });
  t.like(received, { kind: 'connection', state: '"open"' });
  t.regex(String(received.node), /^w[12]$/);
  t.true(String(received.actor).startsWith(`${String(received.node)}/conn/`), String(received.actor));
});
