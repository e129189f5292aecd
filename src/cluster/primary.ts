/**
 * `--workers N` with N > 1: the primary hosts the instance-wide actors
 * (upstreams, health supervisor, rate limiter) and forks N workers that each
 * accept client connections (Node's cluster hands out accepted sockets round
 * robin). A worker that dies is replaced under the same node id.
 *
 * Settings reach workers as messages, never through the environment: a
 * worker starts knowing only its node id and asks the primary's `settings`
 * mailbox; a reload sends `settings.changed` to every worker, and a worker
 * started later (a replacement) asks and gets the current version.
 */
import cluster, { type Worker } from 'node:cluster';
import { localNameOf, MailboxRouter } from '../actors/router.js';
import { feedWanted } from '../admin/visualizer/feed-wanted.js';
import type { Config } from '../config/config.js';
import { log } from '../log.js';
import {
  LIFECYCLE,
  PRIMARY_NODE,
  RATE_LIMITER,
  SETTINGS,
  settingsAddress,
  type LifecycleEvent,
  type SettingsApplied,
  type SettingsChanged,
  type SettingsWanted,
} from '../protocol/index.js';
import { followLogLevel } from '../node/log-level.js';
import { startPrimaryServices } from '../node/primary-services.js';
import { linkWorker } from './links.js';
import type { AppliedSettings, Instance } from '../node/running-instance.js';

/** The environment variable that gives a worker its node id (and nothing else). */
export const WORKER_ENV = 'BALANCEBEAM_WORKER';

/** Time a worker gets, beyond the drain deadline, to close its pools and exit. */
const WORKER_EXIT_MARGIN_MS = 5_000;

/** A replacement that could not listen is tried again after this, doubling per failure in a row, up to the maximum. */
const REPLACEMENT_DELAY_MS = 1_000;
const REPLACEMENT_MAX_DELAY_MS = 30_000;

/** How long applySettings waits for the workers to confirm a version (the admin API answers then). */
const APPLY_WAIT_MS = 5_000;

/**
 * Resolves once every worker is listening. When `stop` is aborted before that (SIGTERM during
 * start-up), the workers already forked are stopped as in a shutdown and this rejects.
 */
export async function runClusterPrimary(config: Config, stop?: AbortSignal): Promise<Instance> {
  const router = new MailboxRouter(PRIMARY_NODE);
  const setLogLevel = followLogLevel(router);
  setLogLevel(config.logLevel);
  // Before the actors, so that their first health reports are in the feed; workers send theirs here.
  const feed = feedWanted(config) ? (await import('../admin/visualizer/index.js')).startPrimaryFeed(router, config) : null;
  const services = startPrimaryServices(router, config);
  const workers = new Map<string, Worker>();
  let stopping = false;
  let settings: SettingsChanged = { type: 'settings.changed', version: 1, config };
  /** The settings version each worker last confirmed (`settings.applied`); forgotten when it exits. */
  const applied = new Map<string, number>();
  /** applySettings calls waiting for every worker to confirm their version. */
  const confirmations = new Set<{ readonly version: number; check(): void }>();
  const checkConfirmations = (): void => {
    for (const waiting of confirmations) waiting.check();
  };
  router.register(localNameOf(SETTINGS), {
    send: (message: SettingsWanted | SettingsApplied) => {
      if (message.type === 'settings.wanted') {
        router.send(message.replyTo, settings);
        return;
      }
      applied.set(message.node, Math.max(applied.get(message.node) ?? 0, message.version));
      checkConfirmations();
    },
  });
  // prom-client (about 11 MB of RSS once loaded) only with the admin server.
  const metrics = config.admin === null ? null : new (await import('../metrics/process-metrics.js')).ProcessMetrics(router);
  metrics?.add(services.metrics);

  let announce: (address: string) => void = () => {};
  let fail: (reason: string) => void = () => {};
  const ready = new Promise<string>((resolve, reject) => {
    announce = resolve;
    fail = (reason) => reject(new Error(reason));
  });
  const abortStart = (): void => fail('stopped during start-up');
  stop?.addEventListener('abort', abortStart, { once: true });
  const listening = new Set<string>();

  /** Replacements in a row that could not listen, per node: the next one waits longer. */
  const failedStarts = new Map<string, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  router.register(localNameOf(LIFECYCLE), {
    send: (event: LifecycleEvent) => {
      if (event.type === 'worker.failed') {
        fail(event.reason);
        // After start-up (a replacement): without this it would stay, not listening, counted as a worker
        // (settings wait for its confirmation, scrapes for its metrics). It is stopped and tried again later.
        const worker = workers.get(event.node);
        if (listening.size === config.workers && worker !== undefined && !stopping) {
          failedStarts.set(event.node, (failedStarts.get(event.node) ?? 0) + 1);
          log.error('replacement worker could not listen; stopping it', { worker: event.node, reason: event.reason });
          worker.process.kill('SIGTERM');
        }
        return;
      }
      failedStarts.delete(event.node);
      listening.add(event.node);
      if (listening.size === config.workers) announce(event.address);
    },
  });

  const fork = (node: string): void => {
    const worker = cluster.fork({ [WORKER_ENV]: node });
    workers.set(node, worker);
    linkWorker(router, node, worker);
    worker.once('online', () => log.info('worker started', { worker: node, pid: worker.process.pid }));
    worker.on('exit', (code, signal) => {
      router.disconnectNode(node);
      // Its rate-limit leases die with it: counted as spent, since it may have spent any of them.
      router.send(RATE_LIMITER, { type: 'rate-limit.holder-gone', node });
      applied.delete(node);
      checkConfirmations();
      if (workers.get(node) === worker) workers.delete(node);
      if (stopping) return;
      const failures = failedStarts.get(node) ?? 0;
      if (failures === 0) {
        log.warn('worker exited; starting a replacement', { worker: node, code, signal });
        fork(node);
        return;
      }
      // One that could not listen: the cause (no descriptors, the address taken) may last; back off.
      const delayMs = Math.min(REPLACEMENT_MAX_DELAY_MS, REPLACEMENT_DELAY_MS * 2 ** Math.min(10, failures - 1));
      log.warn('worker exited; starting a replacement later', { worker: node, code, signal, delayMs });
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) fork(node);
      }, delayMs);
      restartTimers.add(timer);
    });
  };
  for (let i = 1; i <= config.workers; i++) fork(`w${i}`);

  const shutdown = async (): Promise<void> => {
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    restartTimers.clear();
    const exits = [...workers.values()].map(
      (worker) => new Promise<void>((resolve) => {
        if (worker.isDead()) resolve();
        else worker.once('exit', () => resolve());
      }),
    );
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
    // Each worker drains for up to --drain-timeout; one that is stuck past that (and a margin) is killed.
    const stuck = setTimeout(() => {
      for (const worker of workers.values()) {
        log.warn('worker did not exit after draining; killing it', { pid: worker.process.pid });
        worker.process.kill('SIGKILL');
      }
    }, settings.config.drainTimeoutMs + WORKER_EXIT_MARGIN_MS);
    await Promise.all(exits);
    clearTimeout(stuck);
    services.stop();
    await feed?.stop();
  };

  const applySettings = (next: Config): Promise<AppliedSettings> => {
    settings = { type: 'settings.changed', version: settings.version + 1, config: next };
    setLogLevel(next.logLevel);
    // The primary's actors first, so upstreams a worker's balancer is told about already have their actor.
    services.update(next);
    for (const node of workers.keys()) router.send(settingsAddress(node), settings);
    const { version } = settings;
    // Resolves once every live worker has confirmed this version (a replacement confirms the version it starts
    // with), or after APPLY_WAIT_MS with the ones that did not named.
    return new Promise<AppliedSettings>((resolve) => {
      const result = (): AppliedSettings => {
        const nodes = [...workers.keys()];
        return {
          version,
          confirmed: nodes.filter((node) => (applied.get(node) ?? 0) >= version),
          unconfirmed: nodes.filter((node) => (applied.get(node) ?? 0) < version),
        };
      };
      const waiting = {
        version,
        check: () => {
          if (result().unconfirmed.length > 0) return;
          finish();
        },
      };
      const timer = setTimeout(() => finish(), APPLY_WAIT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        confirmations.delete(waiting);
        resolve(result());
      };
      confirmations.add(waiting);
      waiting.check();
    });
  };

  try {
    if (stop?.aborted === true) abortStart();
    const address = await ready;
    return {
      address,
      shutdown,
      applySettings,
      router,
      services,
      metrics,
      feed: feed?.collector ?? null,
      proxyNodes: () => [...workers.keys()],
      workerNodes: () => [...workers.keys()],
    };
  } catch (error) {
    await shutdown();
    throw error;
  } finally {
    stop?.removeEventListener('abort', abortStart);
  }
}
