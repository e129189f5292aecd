/**
 * The config file: flat keys named after the flags, errors naming `file:line`,
 * flags over the file, live reload reading it again, and the workers warning.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { parseCommandLine, reloadConfig, UsageError, type Command } from '../../src/cli/options.js';
import { DEFAULT_HASHING, type Config } from '../../src/config/config.js';
import { parseConfigText } from '../../src/config/config-file.js';
import { configWarnings, loadConfig } from '../../src/config/load.js';

/** A YAML file in a fresh temporary directory, removed with the test. */
function configFile(t: ExecutionContext, yaml: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-config-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const path = join(directory, 'balancebeam.yaml');
  writeFileSync(path, yaml);
  return path;
}

function runConfig(argv: readonly string[]): Config {
  const command: Command = parseCommandLine(argv);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.config;
}

function problems(argv: readonly string[]): readonly string[] {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  throw new Error('expected a UsageError');
}

test('every setting has a flat key named after its flag', (t) => {
  const path = configFile(
    t,
    `bind: 127.0.0.1:0
upstream:
  - 10.0.0.5:8080
  - { address: 10.0.0.6:8080, weight: 3 }
  - address: "[::1]:8081"
balance: random
slow-start: 30
panic-threshold: 25
workers: 3
log-level: warn
active-health-check-interval: 2.5
active-health-check-path: /healthz
health-check-rise: 2
health-check-fall: 3
max-requests-per-window: 20
rate-limit-window-size: 10
rate-limit-algorithm: fixed-window
client-header-timeout: 2.5
client-body-timeout: 30
client-send-timeout: 45
keep-alive-timeout: 75
max-header-size: 8192
max-headers: 50
max-uri-length: 2048
max-body-size: 1048576
max-connections: 500
max-pipelined-requests: 16
allow-underscores-in-headers: true
allow-trace: false
upstream-connect-timeout: 0.25
upstream-response-timeout: 30
upstream-body-timeout: 15
retries: 3
drain-timeout: 0
rate-limit-burst: 0
rate-limit-store: redis://127.0.0.1:6379
rate-limit-store-timeout: 0.02
rate-limit-store-failure: open
rate-limit-ipv6-prefix: 48
rate-limit-headers: true
rate-limit-rules:
  - { name: signin, limit: 5, window: 60, path-prefix: /signin }
  - name: api
    limit: 100
    window: 60
    algorithm: gcra
    burst: 20
    header: X-Api-Key
    key: header:X-Api-Key
trusted-proxy: [10.0.0.0/8]
brute-force-path: [/login, /admin/login]
brute-force-failure-status: [401, 403]
brute-force-failure-header: ''
brute-force-max-failures: 10
brute-force-window: 600
brute-force-lockout: 120
admin: 127.0.0.1:9100
admin-token: file-token-0123456789
trace-file: /var/tmp/bb.trace
trace-file-size: 1048576
cache-size: 1048576
cache-max-object-size: 65536
cache-serve-stale-on-error: 60
cache-heuristic-freshness: true
cache-set-cookie: strip
cache-eviction: lru
cache-lock-timeout: 2
waf: detect
waf-paranoia: 2
waf-threshold: 10
waf-body-limit: 4096
waf-rules: []
waf-exclude:
  - 942100
  - 941000-941999,path=/cms
`,
  );
  t.deepEqual(runConfig(['--config', path]), {
    bind: { host: '127.0.0.1', port: 0 },
    upstreams: [
      { id: '10.0.0.5:8080', host: '10.0.0.5', port: 8080, weight: 1 },
      { id: '10.0.0.6:8080', host: '10.0.0.6', port: 8080, weight: 3 },
      { id: '[::1]:8081', host: '::1', port: 8081, weight: 1 },
    ],
    activeHealthCheck: { intervalMs: 2_500, path: '/healthz' },
    rateLimit: { algorithm: 'fixed-window', limit: 20, windowMs: 10_000 },
    balance: 'random',
    hashing: DEFAULT_HASHING,
    slowStartMs: 30_000,
    panicThreshold: 25,
    latencyEstimate: { decayMs: 10_000, initialMs: 30 },
    workers: 3,
    logLevel: 'warn',
    clientLimits: {
      headerTimeoutMs: 2_500,
      bodyTimeoutMs: 30_000,
      keepAliveTimeoutMs: 75_000,
      maxHeaderSize: 8_192,
      maxHeaders: 50,
      maxUriLength: 2_048,
      maxBodySize: 1_048_576,
      maxConnections: 500,
      maxPipelinedRequests: 16,
      sendTimeoutMs: 45_000,
    },
    requestPolicy: { allowUnderscoresInHeaders: true, allowTrace: false },
    healthThresholds: { rise: 2, fall: 3 },
    upstreamTimeouts: { connectMs: 250, responseMs: 30_000, bodyIdleMs: 15_000 },
    retries: 3,
    drainTimeoutMs: 0,
    trustedProxies: ['10.0.0.0/8'],
    limiting: {
      rules: [
        { name: 'signin', limit: { algorithm: 'sliding-window', limit: 5, windowMs: 60_000 }, pathPrefix: '/signin', header: null, key: { from: 'client-ip' } },
        {
          name: 'api',
          limit: { algorithm: 'gcra', limit: 100, windowMs: 60_000, burst: 20 },
          pathPrefix: null,
          header: 'x-api-key',
          key: { from: 'header', name: 'x-api-key' },
        },
      ],
      store: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
      storeTimeoutMs: 20,
      storeFailure: 'open',
      ipv6Prefix: 48,
      headersWhenAllowed: true,
      bruteForce: {
        paths: ['/login', '/admin/login'],
        failureStatuses: [401, 403],
        failureHeader: null,
        policy: { maxFailures: 10, windowMs: 600_000, lockoutMs: 120_000, maxLockoutMs: 7_680_000 },
      },
    },
    admin: { host: '127.0.0.1', port: 9100, token: 'file-token-0123456789' },
    trace: { path: '/var/tmp/bb.trace', maxBytes: 1_048_576 },
    cache: {
      sizeBytes: 1_048_576,
      maxObjectBytes: 65_536,
      serveStaleOnErrorMs: 60_000,
      heuristicFreshness: true,
      setCookie: 'strip',
      eviction: 'lru',
      lockTimeoutMs: 2_000,
    },
    waf: {
      mode: 'detect',
      paranoia: 2,
      threshold: 10,
      bodyLimit: 4096,
      ruleFiles: [],
      exclusions: [
        { ruleFrom: 942100, ruleTo: 942100, pathPrefix: null, arg: null },
        { ruleFrom: 941000, ruleTo: 941999, pathPrefix: '/cms', arg: null },
      ],
    },
  });
});

test('flags override the file; a repeated flag replaces the whole list', (t) => {
  const path = configFile(t, 'upstream: [a:1, b:2]\nworkers: 3\nmax-headers: 50\n');
  const fromFile = runConfig(['--config', path]);
  t.deepEqual(fromFile.upstreams.map((u) => u.id), ['a:1', 'b:2']);
  const overridden = runConfig(['--config', path, '--workers', '1', '--upstream', 'c:3']);
  t.is(overridden.workers, 1);
  t.is(overridden.clientLimits.maxHeaders, 50);
  t.deepEqual(overridden.upstreams.map((u) => u.id), ['c:3']);
});

test('an empty file is fine: defaults, with --upstream from the command line', (t) => {
  const path = configFile(t, '# nothing yet\n');
  t.deepEqual(runConfig(['--config', path, '--upstream', 'a:1']), runConfig(['--upstream', 'a:1']));
});

test('unknown keys, wrong types and out-of-range values: every one listed with its line', (t) => {
  const path = configFile(
    t,
    `upstream:
  - 10.0.0.5:8080
  - address: nope
  - { address: 10.0.0.7:80, weight: 0 }
  - 10.0.0.5:8080
max-headers: lots
allow-trace: yes
frobnicate: 1
--workers: 2
active-health-check-interval: 0.0001
rate-limit-window-size: 3000000
`,
  );
  t.deepEqual(problems(['--config', path, '--retries', '11']), [
    "--retries: '11' is not a whole number from 0 to 10",
    `${path}:3: upstream: 'nope' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)`,
    `${path}:4: upstream: weight '0' is not a whole number from 1 to 1000`,
    `${path}:5: upstream: 10.0.0.5:8080 is given twice`,
    `${path}:6: max-headers: 'lots' (text) is not a whole number from 1 to 10000`,
    `${path}:7: allow-trace: 'yes' (text) is not true or false`,
    `${path}:8: unknown key 'frobnicate'`,
    `${path}:9: unknown key '--workers' (keys are flag names without the dashes)`,
    `${path}:10: active-health-check-interval: '0.0001' is not 0 (off) or a number of seconds from 0.1 to 2073600`,
    `${path}:11: rate-limit-window-size: '3000000' is not a number of seconds from 0.1 to 2073600`,
  ]);
});

test('a rule between two settings names them as they were given', (t) => {
  const path = configFile(t, 'upstream: [a:1]\nmax-requests-per-minute: 10\nmax-requests-per-window: 5\n');
  t.deepEqual(problems(['--config', path]), [`${path}:2: max-requests-per-minute: give either it or max-requests-per-window, not both`]);
  t.deepEqual(runConfig(['--config', path, '--max-requests-per-minute', '0', '--rate-limit-window-size', '1']).rateLimit, {
    algorithm: 'sliding-window',
    limit: 5,
    windowMs: 1_000,
  });
});

test('files that cannot be used: missing, not YAML, not a map, duplicate keys', (t) => {
  t.deepEqual(problems(['--config', '/nonexistent/balancebeam.yaml']), ['/nonexistent/balancebeam.yaml: cannot be read (ENOENT)']);
  const broken = configFile(t, 'workers: 2\nupstream: [a:1\n');
  t.regex(problems(['--config', broken])[0] ?? '', new RegExp(`^${broken}:\\d+: not valid YAML: `));
  t.deepEqual(parseConfigText('f.yaml', '- a:1\n').errors, ['f.yaml:1: the file must be a map of settings (key: value)']);
  t.deepEqual(parseConfigText('f.yaml', 'workers: 1\nworkers: 2\n').errors, ['f.yaml:2: not valid YAML: Map keys must be unique']);
});

test('with --config, the upstreams may come from the file alone, or be missing from both', (t) => {
  const path = configFile(t, 'workers: 1\n');
  t.deepEqual(problems(['--config', path]), [
    `--upstream: at least one upstream is required: --upstream HOST:PORT, or an upstream list in ${path}`,
  ]);
  const demo = parseCommandLine(['demo', '--config', path]);
  t.is(demo.kind, 'demo');
  const withUpstream = configFile(t, 'upstream: a:1\n');
  t.deepEqual(problems(['demo', '--config', withUpstream]), [
    `${withUpstream}:1: upstream: demo starts its own upstreams; leave upstream out`,
  ]);
});

test('reloadConfig reads the file again, and reports errors without throwing or exiting', (t) => {
  const path = configFile(t, 'upstream: [a:1]\nmax-requests-per-minute: 10\n');
  const argv = ['--config', path, '--workers', '2'];
  const first = reloadConfig(argv);
  if (!first.ok) return t.fail(first.errors.join('\n'));
  t.deepEqual(first.config.upstreams.map((u) => u.id), ['a:1']);
  t.is(first.config.rateLimit?.limit, 10);

  writeFileSync(path, 'upstream:\n  - a:1\n  - { address: b:2, weight: 2 }\nmax-requests-per-minute: 20\n');
  const second = reloadConfig(argv);
  if (!second.ok) return t.fail(second.errors.join('\n'));
  t.deepEqual(second.config.upstreams.map((u) => [u.id, u.weight]), [['a:1', 1], ['b:2', 2]]);
  t.is(second.config.rateLimit?.limit, 20);
  t.is(second.config.workers, 2);

  writeFileSync(path, 'upstream: [a:1]\nmax-requests-per-minute: lots\n');
  t.deepEqual(reloadConfig(argv), { ok: false, errors: [`${path}:2: max-requests-per-minute: 'lots' (text) is not a whole number from 0 to 1000000000`] });

  const demoUpstreams = [{ id: 'd:1', host: 'd', port: 1, weight: 1 }];
  const demo = reloadConfig(['demo', '--workers', '1'], demoUpstreams);
  t.true(demo.ok && demo.config.upstreams === demoUpstreams);
});

test('more workers than twice the CPUs: one warning naming the CPU count', (t) => {
  t.deepEqual(configWarnings({ workers: 4 }, 2), []);
  t.deepEqual(configWarnings({ workers: 5 }, 2), [
    '--workers 5 is more than twice the 2 CPUs: each worker costs memory and start-up time, and they share the CPUs',
  ]);
  const loaded = loadConfig({ upstream: ['a:1'], workers: '3' }, null, 'run', 1);
  t.true(loaded.ok && loaded.warnings.length === 1 && loaded.warnings[0]?.includes('1 CPU:') === true);
});

test('slow start with round-robin (which ignores weights): a warning', (t) => {
  t.deepEqual(configWarnings({ workers: 1, balance: 'weighted-round-robin', slowStartMs: 5_000 }, 2), []);
  t.deepEqual(configWarnings({ workers: 1, balance: 'round-robin', slowStartMs: 0 }, 2), []);
  t.deepEqual(configWarnings({ workers: 1, balance: 'round-robin', slowStartMs: 5_000 }, 2), [
    '--slow-start has no effect with --balance round-robin, which ignores weights: use weighted-round-robin',
  ]);
  const loaded = loadConfig({ upstream: ['a:1'], 'slow-start': '5' }, null, 'run', 4);
  t.true(loaded.ok && loaded.warnings.length === 1 && loaded.warnings[0]?.startsWith('--slow-start') === true);
});

test('a YAML alias bomb is an error naming its key and line, not an exception', (t) => {
  const ten = (name: string): string => `[${Array.from({ length: 10 }, () => `*${name}`).join(', ')}]`;
  const source = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b ${ten('a')}\nc: &c ${ten('b')}\nd: ${ten('c')}\n`;
  const parsed = parseConfigText('bomb.yaml', source);
  t.true(parsed.errors.some((error) => /^bomb\.yaml:\d+: [a-d]: /.test(error)), parsed.errors.join('\n'));
});
