#!/usr/bin/env -S node --max-semi-space-size=32 --no-allocation-site-pretenuring
// Two V8 flags, measured under load (BENCHMARKS.md, optimisation log); workers inherit them.
// --no-allocation-site-pretenuring: with it on, about 1.7 MB of per-request garbage survived every
// young-generation GC and was promoted (--trace-gc-nvp), making each scavenge four times longer.
// --max-semi-space-size=32: a young generation twice V8's default; fewer GCs per request.
/**
 * The balancebeam command. Exit status: 0 after a clean shutdown, 1 when the
 * instance cannot run (bind failure), 2 for a bad command line.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { runClusterWorker } from '../cluster/worker.js';
import type { Config } from '../config/config.js';
import { startDemoUpstreams } from '../demo.js';
import { ListenError, runInstance, type Instance } from '../instance.js';
import { log } from '../log.js';
import { HELP, parseCommandLine, UsageError, type Command } from './options.js';

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function exitAfterLogging(code: number): never {
  log.flushSync();
  process.exit(code);
}

function onSignalShutdown(instance: Instance, cleanup: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    void instance
      .shutdown()
      .then(cleanup)
      .then(() => exitAfterLogging(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function run(config: Config, demo: { close(): Promise<void> } | null): Promise<void> {
  log.configure(config.logLevel, 'p');
  let instance: Instance;
  try {
    instance = await runInstance(config);
  } catch (error) {
    if (error instanceof ListenError) {
      log.error(error.message);
      await demo?.close();
      exitAfterLogging(1);
    }
    throw error;
  }
  log.info('listening', { address: instance.address, workers: config.workers, upstreams: config.upstreams.length });
  onSignalShutdown(instance, async () => demo?.close());
  if (demo !== null) {
    const url = `http://${instance.address.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}/`;
    process.stdout.write(
      `balancebeam demo: balancing over ${config.upstreams.map((u) => u.id).join(', ')}\n` +
        `try:  curl -i ${url}\n` +
        `stop: Ctrl-C\n`,
    );
  }
}

async function main(argv: readonly string[]): Promise<void> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`balancebeam: ${error.message}\n(see balancebeam --help)\n`);
    process.exit(2);
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(HELP);
      return;
    case 'version':
      process.stdout.write(`balancebeam ${version()}\n`);
      return;
    case 'run':
      await run(command.config, null);
      return;
    case 'demo': {
      const demo = await startDemoUpstreams();
      await run({ ...command.config, upstreams: demo.upstreams }, demo);
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

if (cluster.isWorker) await runClusterWorker();
else await main(process.argv.slice(2));
