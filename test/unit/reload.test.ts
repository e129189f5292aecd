/** What a reload may change while running: everything but bind, workers and balance. */
import test from 'ava';
import { acceptReload } from '../../src/config/reload.js';
import { parseCommandLine } from '../../src/cli/options.js';
import type { Config } from '../../src/config/config.js';

function config(...flags: string[]): Config {
  const command = parseCommandLine(['--upstream', '127.0.0.1:8080', '--workers', '2', ...flags]);
  if (command.kind !== 'run') throw new Error(command.kind);
  return command.config;
}

test('unchanged settings: nothing to do', (t) => {
  const running = config();
  t.deepEqual(acceptReload(running, config()), { config: running, needsRestart: [], changed: [] });
});

test('upstreams, limits and the rate limit change; the list of what changed says which', (t) => {
  const next = config('--upstream', '127.0.0.1:8081', '--max-requests-per-minute', '5', '--client-header-timeout', '2');
  const accepted = acceptReload(config(), next);
  t.deepEqual(accepted.config, next);
  t.deepEqual(accepted.needsRestart, []);
  t.deepEqual([...accepted.changed].sort(), ['clientLimits', 'rateLimit', 'upstreams']);
});

test('bind, workers and balance keep their running values, each with a line saying a restart is needed', (t) => {
  const running = config();
  const next = config('--bind', '127.0.0.1:9', '--balance', 'random', '--retries', '3');
  const changedWorkers = { ...next, workers: 4 };
  const accepted = acceptReload(running, changedWorkers);
  t.deepEqual(accepted.config, { ...changedWorkers, bind: running.bind, workers: running.workers, balance: running.balance });
  t.is(accepted.needsRestart.length, 3);
  t.regex(accepted.needsRestart.join('\n'), /^bind: changing it needs a restart/m);
  t.regex(accepted.needsRestart.join('\n'), /^workers: changing it needs a restart; keeping 2, not 4/m);
  t.regex(accepted.needsRestart.join('\n'), /^balance: changing it needs a restart/m);
  t.deepEqual(accepted.changed, ['retries']);
});

test('the rate-limit store needs a restart; rules, trusted proxies and the rest of limiting change at once', (t) => {
  const running = config('--max-requests-per-minute', '5');
  const next = config(
    '--max-requests-per-minute', '5', '--rate-limit-store', 'redis://127.0.0.1:6379', '--rate-limit-store-failure', 'closed',
    '--rate-limit-headers', '--trusted-proxy', '10.0.0.0/8',
  ); // prettier-ignore
  const accepted = acceptReload(running, next);
  t.is(accepted.needsRestart.length, 1);
  t.regex(accepted.needsRestart[0] ?? '', /^rate-limit-store, rate-limit-store-timeout, rate-limit-store-failure: changing them needs a restart/);
  t.deepEqual(accepted.config.limiting.store, { kind: 'memory' });
  t.is(accepted.config.limiting.storeFailure, 'local');
  t.true(accepted.config.limiting.headersWhenAllowed);
  t.deepEqual(accepted.config.trustedProxies, ['10.0.0.0/8']);
  t.deepEqual([...accepted.changed].sort(), ['limiting', 'trustedProxies']);
});

test('the latency estimate settings keep their running values until a restart (the load figures are built with them)', (t) => {
  const running = config();
  const accepted = acceptReload(running, config('--ewma-decay', '1', '--ewma-initial-latency', '0.005'));
  t.deepEqual(accepted.config.latencyEstimate, { decayMs: 10_000, initialMs: 30 });
  t.deepEqual(accepted.needsRestart.length, 1);
  t.regex(accepted.needsRestart[0] ?? '', /^latencyEstimate: changing it needs a restart/);
  t.deepEqual(accepted.changed, []);
});
