#!/usr/bin/env -S node --max-semi-space-size=8 --no-allocation-site-pretenuring
// Two V8 flags, measured under load (BENCHMARKS.md, optimisation log and "Memory"); workers inherit them.
// --no-allocation-site-pretenuring: with it on, about 1.7 MB of per-request garbage survived every
// young-generation GC and was promoted (--trace-gc-nvp), making each scavenge four times longer.
// --max-semi-space-size=8: half V8's default young generation, chosen for RSS as well as CPU: at 500
// connections 16 MB of new space instead of 59 MB at 32 (RSS under load 146 -> 112 MB), for up to ~10 %
// more CPU per request there and none measurable at 50; below 8 more is promoted and old space grows.
/**
 * The balancebeam command. Exit status: 0 after a clean shutdown, 1 when the
 * instance cannot run (bind failure), 2 for a bad command line.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { runClusterWorker } from '../cluster/worker.js';
import { showHashKey } from '../balancing/request-key.js';
import { formatHostPort, type Config } from '../config/config.js';
import { runInstance, StartAborted } from '../instance.js';
import { ListenError, type Instance } from '../node/running-instance.js';
import { log } from '../log.js';
import type { AdminServer } from '../admin/server.js';
import { SettingsControl } from '../node/settings-control.js';
import type { UpstreamTarget } from '../protocol/index.js';
import { redactedUrl } from '../rate-limit/store-url.js';
import { HELP, parseCommandLine, reloadConfig, UsageError, type Command } from './options.js';

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function exitAfterLogging(code: number): never {
  log.flushSync();
  process.exit(code);
}

/**
 * What SIGHUP does in the primary (or the only process): re-read the config file (and the original
 * flags, which still override it) and apply what may change while running. Before the instance is
 * running, or when the new settings are invalid, it logs why and changes nothing; it is never fatal.
 * Workers ignore SIGHUP (src/cluster/worker.ts).
 */
let onReload = (): void => {
  log.info('SIGHUP before the instance is running: ignored');
};

/**
 * Installed before the instance starts, so that no signal during start-up is fatal: SIGHUP goes
 * to onReload; the first SIGTERM/SIGINT aborts the returned signal, which stops a start-up under
 * way (runInstance then shuts down what had started) or, later, the running instance.
 */
function handleSignals(): AbortSignal {
  const stopRequested = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    if (stopRequested.signal.aborted) return;
    log.info('shutting down', { signal });
    stopRequested.abort(signal);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => onReload());
  return stopRequested.signal;
}

async function run(
  argv: readonly string[],
  config: Config,
  warnings: readonly string[],
  demo: { readonly upstreams: readonly UpstreamTarget[]; close(): Promise<void> } | null,
): Promise<void> {
  log.configure(config.logLevel, 'p');
  for (const warning of warnings) log.warn(warning);
  const stop = handleSignals();
  let instance: Instance;
  try {
    instance = await runInstance(config, stop);
  } catch (error) {
    if (error instanceof StartAborted) {
      await demo?.close();
      exitAfterLogging(0);
    }
    if (error instanceof ListenError) {
      log.error(error.message);
      await demo?.close();
      exitAfterLogging(1);
    }
    throw error;
  }
  // Every change of the running settings goes through here: SIGHUP, and the admin API's reload and edits.
  const control = new SettingsControl(instance, config, () => reloadConfig(argv, demo?.upstreams ?? []));
  onReload = () => {
    // Whatever a config file does to the loader, a reload never stops a running instance (the control catches it).
    void control.reload('SIGHUP');
  };
  let admin: AdminServer | null = null;
  if (config.admin !== null) {
    try {
      // The admin server's code (prom-client, the visualizer) is loaded only when it runs.
      const { startAdmin } = await import('../admin/index.js');
      admin = await startAdmin(config.admin, instance, control);
    } catch (error) {
      log.error(`cannot listen on ${formatHostPort(config.admin.host, config.admin.port)} (--admin): ${error instanceof Error ? error.message : String(error)}`);
      await instance.shutdown();
      await demo?.close();
      exitAfterLogging(1);
    }
    log.info('admin listening', { address: admin.address, token: config.admin.token !== null });
  }
  log.info('listening', { address: instance.address, workers: config.workers, upstreams: config.upstreams.length });
  const shutDown = (): void => {
    void Promise.resolve(admin?.close())
      .then(async () => instance.shutdown())
      .then(async () => demo?.close())
      .then(() => exitAfterLogging(0));
  };
  if (stop.aborted) shutDown();
  else stop.addEventListener('abort', shutDown, { once: true });
  if (demo !== null) {
    const url = `http://${instance.address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}/`;
    process.stdout.write(
      `balancebeam demo: balancing over ${config.upstreams.map((u) => u.id).join(', ')}\n` +
        `try:  curl -i ${url}\n` +
        `stop: Ctrl-C\n`,
    );
  }
}

/** The algorithm, with what a hash hashes on (a wrong key silently sends everyone to the fallback). */
function balanceSummary(config: Config): string {
  if (config.balance !== 'consistent-hash') return config.balance;
  const { key, balanceFactor, fallback } = config.hashing;
  return `consistent-hash on ${showHashKey(key)} (balance factor ${balanceFactor === 0 ? 'off' : balanceFactor}, fallback ${fallback})`;
}

/** What `balancebeam check` prints for valid settings: the few a reader wants to confirm. */
function checkSummary(config: Config, warnings: readonly string[], configFile: string | null): string {
  const upstreams = config.upstreams.map((u) => (u.weight === 1 ? u.id : `${u.id} (weight ${u.weight})`)).join(', ');
  const health = config.activeHealthCheck === null ? 'off' : `GET ${config.activeHealthCheck.path} every ${config.activeHealthCheck.intervalMs / 1000} s`;
  const rate = config.rateLimit === null ? 'off' : `${config.rateLimit.limit} per ${config.rateLimit.windowMs / 1000} s (${config.rateLimit.algorithm})`;
  const { limiting } = config;
  const store = limiting.store.kind === 'memory' ? 'memory' : redactedUrl(limiting.store.url);
  const extras = [
    limiting.rules.length > 0 ? `${limiting.rules.length} rule${limiting.rules.length === 1 ? '' : 's'}` : '',
    limiting.bruteForce === null ? '' : `brute-force on ${limiting.bruteForce.paths.join(', ')}`,
    config.trustedProxies.length > 0 ? `trusted proxies ${config.trustedProxies.join(', ')}` : '',
  ].filter((part) => part !== '');
  const limitingLine = `  rate-limit store: ${store}${extras.length > 0 ? `; ${extras.join('; ')}` : ''}\n`;
  return (
    `balancebeam: configuration ok${configFile === null ? '' : ` (${configFile})`}\n` +
    `  bind ${formatHostPort(config.bind.host, config.bind.port)}, ${config.workers} worker${config.workers === 1 ? '' : 's'}, ${balanceSummary(config)}\n` +
    `  upstreams: ${upstreams}\n` +
    `  active health checks: ${health}; rate limit: ${rate}\n` +
    limitingLine +
    warnings.map((warning) => `warning: ${warning}\n`).join('')
  );
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'replay') {
    // Not a balancer: a page over a recorded trace, running until interrupted (-1).
    // Imported only here: the replay page's code (the admin server, the charts, dagre) stays out of a balancer.
    const { runReplay } = await import('./replay.js');
    const status = await runReplay(argv.slice(1));
    if (status >= 0) process.exit(status);
    return;
  }
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.problems.map((problem) => `balancebeam: ${problem}\n`).join('')}(see balancebeam --help)\n`);
    process.exit(2);
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(HELP);
      return;
    case 'version':
      process.stdout.write(`balancebeam ${version()}\n`);
      return;
    case 'check':
      process.stdout.write(checkSummary(command.config, command.warnings, command.configFile));
      return;
    case 'run':
      await run(argv, command.config, command.warnings, null);
      return;
    case 'demo': {
      const { startDemoUpstreams } = await import('../demo.js');
      const demo = await startDemoUpstreams();
      await run(argv, { ...command.config, upstreams: demo.upstreams }, command.warnings, demo);
      return;
    }
  }
}

process.on('uncaughtException', (error) => {
  log.error('uncaught exception', { error: error.stack ?? String(error) });
  exitAfterLogging(1);
});
process.on('unhandledRejection', (reason) => {
  log.error('unhandled rejection', { error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason) });
  exitAfterLogging(1);
});

if (cluster.isWorker) runClusterWorker();
else await main(process.argv.slice(2));
