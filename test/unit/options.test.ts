/** Command-line parsing: flags to a validated Config, or a UsageError naming the flag. */
import { availableParallelism } from 'node:os';
import test from 'ava';
import { parseCommandLine, UsageError, type Command } from '../../src/cli/options.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_HASHING, DEFAULT_HEALTH_THRESHOLDS, DEFAULT_REQUEST_POLICY, type Config } from '../../src/config/config.js';

const UPSTREAM = ['--upstream', '127.0.0.1:8080'];

function runConfig(argv: readonly string[]): Config {
  const command: Command = parseCommandLine(argv);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.config;
}

test('defaults', (t) => {
  t.deepEqual(runConfig(UPSTREAM), {
    bind: { host: '0.0.0.0', port: 1100 },
    upstreams: [{ id: '127.0.0.1:8080', host: '127.0.0.1', port: 8080, weight: 1 }],
    activeHealthCheck: { intervalMs: 10_000, path: '/' },
    rateLimit: null,
    balance: 'round-robin',
    hashing: DEFAULT_HASHING,
    slowStartMs: 0,
    panicThreshold: 50,
    latencyEstimate: { decayMs: 10_000, initialMs: 30 },
    workers: availableParallelism(),
    logLevel: 'info',
    clientLimits: {
      headerTimeoutMs: 10_000,
      bodyTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      maxHeaderSize: 16_384,
      maxHeaders: 100,
      maxUriLength: 8_192,
      maxBodySize: 0,
      maxConnections: 10_000,
      maxPipelinedRequests: 8,
      sendTimeoutMs: 60_000,
    },
    requestPolicy: { allowUnderscoresInHeaders: false, allowTrace: false },
    healthThresholds: { rise: 1, fall: 1 },
    upstreamTimeouts: { connectMs: 5_000, responseMs: 60_000, bodyIdleMs: 60_000 },
    retries: 1,
    drainTimeoutMs: 10_000,
    trustedProxies: [],
    limiting: {
      rules: [],
      store: { kind: 'memory' },
      storeTimeoutMs: 5,
      storeFailure: 'local',
      ipv6Prefix: 64,
      headersWhenAllowed: false,
      bruteForce: null,
    },
    admin: null,
    trace: null,
    cache: null,
    waf: null,
  });
});

test('every flag given', (t) => {
  const config = runConfig([
    '--bind', '127.0.0.1:0',
    '--upstream', 'a.internal:81',
    '--balance', 'random',
    '--slow-start', '2.5',
    '--panic-threshold', '0',
    '--ewma-decay', '2',
    '--ewma-initial-latency', '0.05',
    '--active-health-check-interval', '2.5',
    '--active-health-check-path', '/healthz',
    '--max-requests-per-window', '20',
    '--rate-limit-window-size', '10',
    '--rate-limit-algorithm', 'fixed-window',
    '--workers', '3',
    '--log-level', 'warn',
    '--upstream-connect-timeout', '0.25',
    '--upstream-response-timeout', '30',
    '--upstream-body-timeout', '15',
    '--retries', '3',
    '--drain-timeout', '0',
    '--rate-limit-store', 'rediss://user:secret@redis.internal:6380/2',
    '--rate-limit-store-timeout', '0.01',
    '--rate-limit-store-failure', 'closed',
    '--rate-limit-ipv6-prefix', '56',
    '--rate-limit-headers',
    '--rate-limit-rules', '[{"name":"api","limit":10,"window":1,"key":"header:X-Api-Key"}]',
    '--trusted-proxy', '10.0.0.0/8',
    '--trusted-proxy', '::1',
    '--brute-force-path', '/login',
    '--brute-force-failure-status', '401',
    '--brute-force-failure-header', 'X-Login-Failed',
    '--brute-force-max-failures', '3',
    '--brute-force-window', '60',
    '--brute-force-lockout', '30',
    '--waf', 'block',
    '--waf-paranoia', '3',
    '--waf-threshold', '8',
    '--waf-body-limit', '0',
    '--waf-exclude', '230100,arg=q',
  ]); // prettier-ignore
  t.deepEqual(config, {
    bind: { host: '127.0.0.1', port: 0 },
    upstreams: [{ id: 'a.internal:81', host: 'a.internal', port: 81, weight: 1 }],
    activeHealthCheck: { intervalMs: 2_500, path: '/healthz' },
    rateLimit: { algorithm: 'fixed-window', limit: 20, windowMs: 10_000 },
    balance: 'random',
    hashing: DEFAULT_HASHING,
    slowStartMs: 2_500,
    panicThreshold: 0,
    latencyEstimate: { decayMs: 2_000, initialMs: 50 },
    workers: 3,
    logLevel: 'warn',
    clientLimits: DEFAULT_CLIENT_LIMITS,
    requestPolicy: DEFAULT_REQUEST_POLICY,
    healthThresholds: DEFAULT_HEALTH_THRESHOLDS,
    upstreamTimeouts: { connectMs: 250, responseMs: 30_000, bodyIdleMs: 15_000 },
    retries: 3,
    drainTimeoutMs: 0,
    trustedProxies: ['10.0.0.0/8', '::1'],
    limiting: {
      rules: [
        {
          name: 'api',
          limit: { algorithm: 'sliding-window', limit: 10, windowMs: 1_000 },
          pathPrefix: null,
          header: null,
          key: { from: 'header', name: 'x-api-key' },
        },
      ],
      store: { kind: 'redis', url: 'rediss://user:secret@redis.internal:6380/2' },
      storeTimeoutMs: 10,
      storeFailure: 'closed',
      ipv6Prefix: 56,
      headersWhenAllowed: true,
      bruteForce: {
        paths: ['/login'],
        failureStatuses: [401],
        failureHeader: 'x-login-failed',
        policy: { maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000, maxLockoutMs: 1_920_000 },
      },
    },
    admin: null,
    trace: null,
    cache: null,
    waf: { mode: 'block', paranoia: 3, threshold: 8, bodyLimit: 0, ruleFiles: [], exclusions: [{ ruleFrom: 230100, ruleTo: 230100, pathPrefix: null, arg: 'q' }] },
  });
});

test('--upstream repeats, in order; --flag=value works too', (t) => {
  const config = runConfig(['--upstream', '10.0.0.1:80', '--upstream=10.0.0.2:80', '--upstream', 'backend:8080']);
  t.deepEqual(
    config.upstreams.map((upstream) => upstream.id),
    ['10.0.0.1:80', '10.0.0.2:80', 'backend:8080'],
  );
});

test('IPv6 addresses are bracketed', (t) => {
  const config = runConfig(['--upstream', '[::1]:80', '--bind', '[::]:1100']);
  t.deepEqual(config.upstreams, [{ id: '[::1]:80', host: '::1', port: 80, weight: 1 }]);
  t.deepEqual(config.bind, { host: '::', port: 1100 });
});

test('--max-requests-per-minute is a limit per 60 s window, sliding by default', (t) => {
  t.deepEqual(runConfig([...UPSTREAM, '--max-requests-per-minute', '100']).rateLimit, {
    algorithm: 'sliding-window',
    limit: 100,
    windowMs: 60_000,
  });
});

test('--max-requests-per-window without a size uses 60 s windows', (t) => {
  t.deepEqual(runConfig([...UPSTREAM, '--max-requests-per-window', '5']).rateLimit, {
    algorithm: 'sliding-window',
    limit: 5,
    windowMs: 60_000,
  });
});

test('a limit of 0 turns rate limiting off', (t) => {
  t.is(runConfig([...UPSTREAM, '--max-requests-per-minute', '0']).rateLimit, null);
  t.is(runConfig([...UPSTREAM, '--max-requests-per-window', '0', '--rate-limit-window-size', '5']).rateLimit, null);
});

test('an interval of 0 turns active health checks off', (t) => {
  t.is(runConfig([...UPSTREAM, '--active-health-check-interval', '0']).activeHealthCheck, null);
});

test('help, version and demo', (t) => {
  t.deepEqual(parseCommandLine(['--help']), { kind: 'help' });
  t.deepEqual(parseCommandLine(['--version', ...UPSTREAM]), { kind: 'version' });
  const demo = parseCommandLine(['demo', '--workers', '1']);
  if (demo.kind !== 'demo') return t.fail(demo.kind);
  t.deepEqual(demo.config.bind, { host: '127.0.0.1', port: 1100 });
  t.is(demo.config.workers, 1);
});

/** Each bad command line, and the flag its error must name. */
const BAD: readonly (readonly [argv: readonly string[], names: string])[] = [
  [[], '--upstream'],
  [['--upstream'], '--upstream'],
  [['--upstream', 'localhost'], '--upstream'],
  [['--upstream', '::1:80'], '--upstream'],
  [['--upstream', 'host:0'], '--upstream'],
  [['--upstream', 'host:65536'], '--upstream'],
  [['--upstream', 'host:http'], '--upstream'],
  [['--upstream', ':80'], '--upstream'],
  [['--upstream', 'a:1', '--upstream', 'a:1'], '--upstream'],
  [['demo', ...UPSTREAM], '--upstream'],
  [[...UPSTREAM, '--bind', '1100'], '--bind'],
  [[...UPSTREAM, '--bind', '0.0.0.0:-1'], '--bind'],
  [[...UPSTREAM, '--balance', 'leastconn'], '--balance'],
  [[...UPSTREAM, '--slow-start', '0.05'], '--slow-start'],
  [[...UPSTREAM, '--slow-start', '3601'], '--slow-start'],
  [[...UPSTREAM, '--panic-threshold', '101'], '--panic-threshold'],
  [[...UPSTREAM, '--panic-threshold', '12.5'], '--panic-threshold'],
  [[...UPSTREAM, '--ewma-decay', '0'], '--ewma-decay'],
  [[...UPSTREAM, '--ewma-initial-latency', '61'], '--ewma-initial-latency'],
  [[...UPSTREAM, '--active-health-check-interval', 'soon'], '--active-health-check-interval'],
  [[...UPSTREAM, '--active-health-check-interval=-1'], '--active-health-check-interval'],
  [[...UPSTREAM, '--active-health-check-interval', '-1'], '--active-health-check-interval'],
  [[...UPSTREAM, '--active-health-check-interval', ''], '--active-health-check-interval'],
  [[...UPSTREAM, '--active-health-check-path', 'healthz'], '--active-health-check-path'],
  [[...UPSTREAM, '--max-requests-per-minute', '1.5'], '--max-requests-per-minute'],
  [[...UPSTREAM, '--max-requests-per-minute', 'lots'], '--max-requests-per-minute'],
  [[...UPSTREAM, '--max-requests-per-window=-3'], '--max-requests-per-window'],
  [[...UPSTREAM, '--max-requests-per-window', '10', '--rate-limit-window-size', '0'], '--rate-limit-window-size'],
  [[...UPSTREAM, '--max-requests-per-window', '10', '--rate-limit-window-size', 'x'], '--rate-limit-window-size'],
  [[...UPSTREAM, '--rate-limit-algorithm', 'token-bucket'], '--rate-limit-algorithm'],
  [[...UPSTREAM, '--workers', '0'], '--workers'],
  [[...UPSTREAM, '--workers', '257'], '--workers'],
  [[...UPSTREAM, '--workers', 'many'], '--workers'],
  [[...UPSTREAM, '--log-level', 'loud'], '--log-level'],
  [[...UPSTREAM, '--verbose'], '--verbose'],
  [[...UPSTREAM, '--upstream-connect-timeout', '0'], '--upstream-connect-timeout'],
  [[...UPSTREAM, '--upstream-connect-timeout', 'fast'], '--upstream-connect-timeout'],
  [[...UPSTREAM, '--upstream-response-timeout', '-1'], '--upstream-response-timeout'],
  [[...UPSTREAM, '--upstream-response-timeout', '86401'], '--upstream-response-timeout'],
  [[...UPSTREAM, '--upstream-body-timeout', ''], '--upstream-body-timeout'],
  [[...UPSTREAM, '--retries', '-1'], '--retries'],
  [[...UPSTREAM, '--retries', '1.5'], '--retries'],
  [[...UPSTREAM, '--retries', '11'], '--retries'],
  [[...UPSTREAM, '--drain-timeout', 'never'], '--drain-timeout'],
  [[...UPSTREAM, '--drain-timeout', '-5'], '--drain-timeout'],
  [[...UPSTREAM, 'serve'], 'serve'],
];

for (const [argv, names] of BAD) {
  test(`rejects: ${argv.join(' ') || '(nothing)'}`, (t) => {
    const error = t.throws(() => parseCommandLine(argv), { instanceOf: UsageError });
    t.true(error?.message.includes(names), error?.message);
  });
}

test('per-minute and per-window limits cannot both be given', (t) => {
  const error = t.throws(
    () => parseCommandLine([...UPSTREAM, '--max-requests-per-minute', '10', '--max-requests-per-window', '10']),
    { instanceOf: UsageError },
  );
  t.regex(error?.message ?? '', /--max-requests-per-minute/);
  t.regex(error?.message ?? '', /--max-requests-per-window/);
});

test('a window size goes with per-window limits, not per-minute ones', (t) => {
  t.throws(
    () => parseCommandLine([...UPSTREAM, '--max-requests-per-minute', '10', '--rate-limit-window-size', '30']),
    { instanceOf: UsageError, message: /--rate-limit-window-size/ },
  );
  t.deepEqual(runConfig([...UPSTREAM, '--max-requests-per-window', '10', '--rate-limit-window-size', '30']).rateLimit, {
    algorithm: 'sliding-window',
    limit: 10,
    windowMs: 30_000,
  });
});

test('client limit flags', (t) => {
  const config = runConfig([
    ...UPSTREAM,
    '--client-header-timeout', '2.5',
    '--client-body-timeout', '30',
    '--keep-alive-timeout', '75',
    '--max-header-size', '8192',
    '--max-headers', '50',
    '--max-uri-length', '2048',
    '--max-body-size', '1048576',
    '--max-connections', '500',
  ]); // prettier-ignore
  t.deepEqual(config.clientLimits, {
    headerTimeoutMs: 2_500,
    bodyTimeoutMs: 30_000,
    keepAliveTimeoutMs: 75_000,
    maxHeaderSize: 8_192,
    maxHeaders: 50,
    maxUriLength: 2_048,
    maxBodySize: 1_048_576,
    maxConnections: 500,
    maxPipelinedRequests: 8,
    sendTimeoutMs: 60_000,
  });
});

for (const [flag, value] of [
  ['--client-header-timeout', '0'],
  ['--client-body-timeout', '-1'],
  ['--keep-alive-timeout', 'soon'],
  ['--max-header-size', '100'],
  ['--max-headers', '0'],
  ['--max-uri-length', '1.5'],
  ['--max-body-size', '-5'],
  ['--max-connections', '0'],
] as const) {
  test(`a bad ${flag} is a usage error naming it`, (t) => {
    const error = t.throws(() => parseCommandLine([...UPSTREAM, flag, value]), { instanceOf: UsageError });
    t.true(error?.message.startsWith(`${flag}:`), error?.message);
  });
}

test('the new flags: pipelining depth, send timeout, request policy, health thresholds', (t) => {
  const config = runConfig([
    ...UPSTREAM,
    '--max-pipelined-requests', '16',
    '--client-send-timeout', '30',
    '--allow-underscores-in-headers',
    '--allow-trace',
    '--health-check-rise', '2',
    '--health-check-fall', '3',
  ]); // prettier-ignore
  t.is(config.clientLimits.maxPipelinedRequests, 16);
  t.is(config.clientLimits.sendTimeoutMs, 30_000);
  t.deepEqual(config.requestPolicy, { allowUnderscoresInHeaders: true, allowTrace: true });
  t.deepEqual(config.healthThresholds, { rise: 2, fall: 3 });
});

for (const [flag, value] of [
  ['--max-pipelined-requests', '0'],
  ['--max-pipelined-requests', '1025'],
  ['--client-send-timeout', '0'],
  ['--health-check-rise', '0'],
  ['--health-check-fall', '101'],
] as const) {
  test(`rejects ${flag} ${value}`, (t) => {
    const error = t.throws(() => parseCommandLine([...UPSTREAM, flag, value]), { instanceOf: UsageError });
    t.true(error?.message.startsWith(`${flag}:`), error?.message);
  });
}

test('a switch takes no value', (t) => {
  t.throws(() => parseCommandLine([...UPSTREAM, '--allow-trace=false']), { instanceOf: UsageError, message: /^--allow-trace: takes no value/ });
});

test('--upstream HOST:PORT,weight=N', (t) => {
  t.deepEqual(runConfig(['--upstream', '10.0.0.5:8080,weight=3', '--upstream', '[::1]:80,weight=1000']).upstreams, [
    { id: '10.0.0.5:8080', host: '10.0.0.5', port: 8080, weight: 3 },
    { id: '[::1]:80', host: '::1', port: 80, weight: 1000 },
  ]);
  for (const bad of ['a:1,weight=0', 'a:1,weight=1001', 'a:1,weight=2.5', 'a:1,weight=', 'a:1,weigth=2', 'nope,weight=2']) {
    const error = t.throws(() => parseCommandLine(['--upstream', bad]), { instanceOf: UsageError });
    t.true(error?.message.startsWith('--upstream:'), error?.message);
  }
  t.throws(() => parseCommandLine(['--upstream', 'a:1,weight=2', '--upstream', 'a:1']), { message: /a:1 is given twice/ });
});

/** Durations: [flag, smallest accepted, largest accepted, values refused]. Nothing rounds to 0 ms, nothing reaches setTimeout's overflow. */
const DURATIONS: readonly (readonly [flag: string, min: string, max: string, refused: readonly string[]])[] = [
  ['--active-health-check-interval', '0.1', '2073600', ['0.0001', '0.09', '3000000', '2073600.5']],
  ['--rate-limit-window-size', '0.1', '2073600', ['0', '0.0001', '0.09', '3000000']],
  ['--client-header-timeout', '0.001', '86400', ['0', '0.0001', '0.0009', '86401', '3000000']],
  ['--client-body-timeout', '0.001', '86400', ['0.0001', '3000000']],
  ['--client-send-timeout', '0.001', '86400', ['0.0001', '3000000']],
  ['--keep-alive-timeout', '0.001', '86400', ['0.0001', '3000000']],
  ['--upstream-connect-timeout', '0.001', '86400', ['0.0001', '3000000']],
  ['--upstream-response-timeout', '0.001', '86400', ['0.0001', '3000000']],
  ['--upstream-body-timeout', '0.001', '86400', ['0.0001', '3000000']],
  ['--drain-timeout', '0.001', '86400', ['0.0001', '3000000']],
];

/** The field a duration flag lands in, in milliseconds. */
function durationMs(flag: string, argv: readonly string[]): number | undefined {
  const config = runConfig(flag === '--rate-limit-window-size' ? [...argv, '--max-requests-per-window', '5'] : argv);
  const fields: Record<string, number | undefined> = {
    '--active-health-check-interval': config.activeHealthCheck?.intervalMs,
    '--rate-limit-window-size': config.rateLimit?.windowMs,
    '--client-header-timeout': config.clientLimits.headerTimeoutMs,
    '--client-body-timeout': config.clientLimits.bodyTimeoutMs,
    '--client-send-timeout': config.clientLimits.sendTimeoutMs,
    '--keep-alive-timeout': config.clientLimits.keepAliveTimeoutMs,
    '--upstream-connect-timeout': config.upstreamTimeouts.connectMs,
    '--upstream-response-timeout': config.upstreamTimeouts.responseMs,
    '--upstream-body-timeout': config.upstreamTimeouts.bodyIdleMs,
    '--drain-timeout': config.drainTimeoutMs,
  };
  return fields[flag];
}

for (const [flag, min, max, refused] of DURATIONS) {
  test(`${flag}: ${min} and ${max} s accepted, ${refused.join(', ')} refused naming the flag and the range`, (t) => {
    t.is(durationMs(flag, [...UPSTREAM, flag, min]), Math.round(Number(min) * 1000));
    const maxMs = durationMs(flag, [...UPSTREAM, flag, max]) ?? Infinity;
    t.is(maxMs, Number(max) * 1000);
    t.true(maxMs < 2 ** 31 - 1, 'below the setTimeout overflow');
    for (const value of refused) {
      const error = t.throws(() => parseCommandLine([...UPSTREAM, flag, value]), { instanceOf: UsageError });
      t.true(error?.message.startsWith(`${flag}: '${value}' is not`), error?.message);
      t.true(error?.message.includes(`from ${min} to ${max}`), error?.message);
    }
  });
}

test('0 is "off" only where documented: health checks off, drain at once', (t) => {
  t.is(runConfig([...UPSTREAM, '--active-health-check-interval', '0']).activeHealthCheck, null);
  t.is(runConfig([...UPSTREAM, '--drain-timeout', '0']).drainTimeoutMs, 0);
});

test('every problem is listed, not only the first', (t) => {
  const error = t.throws(
    () => parseCommandLine(['--upstream', 'nope', '--upstream', 'a:1,weight=0', '--workers', '0', '--rate-limit-window-size', '0.0001']),
    { instanceOf: UsageError },
  );
  t.deepEqual(error?.problems, [
    "--upstream: 'nope' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)",
    "--upstream: 'a:1,weight=0': weight '0' is not a whole number from 1 to 1000",
    "--workers: '0' is not a whole number from 1 to 256",
    "--rate-limit-window-size: '0.0001' is not a number of seconds from 0.1 to 2073600",
  ]);
});

test('check: validated like a run, with where the settings came from', (t) => {
  const command = parseCommandLine(['check', ...UPSTREAM]);
  if (command.kind !== 'check') return t.fail(command.kind);
  t.deepEqual(command.config, runConfig(UPSTREAM));
  t.is(command.configFile, null);
  t.throws(() => parseCommandLine(['check']), { instanceOf: UsageError, message: /^--upstream: at least one upstream/ });
});
