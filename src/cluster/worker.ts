/**
 * A cluster worker: one proxy node whose router reaches the primary's actors
 * over IPC. It starts knowing only its node id, asks the primary for the
 * current settings, listens, and reports that it is listening (or why it
 * cannot); later `settings.changed` messages (reloads) update its node. It
 * drains and exits on SIGTERM/SIGINT, and when its primary is gone.
 */
import cluster from 'node:cluster';
import { localNameOf, MailboxRouter } from '../actors/router.js';
import { feedWanted } from '../admin/visualizer/feed-wanted.js';
import { log } from '../log.js';
import { followLogLevel } from '../node/log-level.js';
import { startProxyNode, type ProxyNode } from '../node/proxy-node.js';
import { LIFECYCLE, SETTINGS, settingsAddress, type Config, type SettingsChanged } from '../protocol/index.js';
import { describeListenError } from '../node/running-instance.js';
import { linkToPrimary } from './links.js';
import { WORKER_ENV } from './primary.js';

export function runClusterWorker(): void {
  const node = process.env[WORKER_ENV] ?? 'w?';
  log.configure('info', node);
  let proxy: ProxyNode | null = null;
  /** The newest settings received, and the version the node runs (0: not started). */
  let latest: SettingsChanged | null = null;
  let running = 0;
  let stopping = false;
  const stop = (reason: string, level: 'info' | 'warn' = 'info'): void => {
    if (stopping) return;
    stopping = true;
    if (proxy === null) {
      // Not listening yet, so no client to drain; and without a primary the listen would never complete.
      log[level]('stopping before listening', { reason });
      exitAfterLogging();
    }
    const { drainTimeoutMs } = (latest as SettingsChanged).config;
    log[level]('draining', { reason, drainTimeoutMs });
    void proxy.shutdown(drainTimeoutMs).then(exitAfterLogging);
  };
  // Installed before the node starts, so a signal during start-up is never fatal (nor a SIGTERM exit 143);
  // kept after the first, so a second one (Ctrl-C reaches workers, and the primary signals them too)
  // does not cut the drain. A stuck worker is the primary's to kill, or its drain deadline's.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A terminal hangup reaches the whole process group; the primary is the one that acts on it.
  process.on('SIGHUP', ignoreHangup);

  const router = new MailboxRouter(node);
  linkToPrimary(router);
  drainWhenPrimaryIsGone(() => {
    // Nobody answers what goes to the primary any more. A rate-limit check passes (fail open: without the
    // primary no count is shared), so a request on a kept-alive connection is not left waiting for a
    // verdict until the drain deadline; anything else is dropped. Checks already sent are lost.
    router.connectUplink({
      send: ({ message }) => {
        if (message.type === 'rate-limit.check') {
          router.send(message.replyTo, { type: 'request.verdict', requestId: message.requestId, answer: null });
        }
      },
    });
    stop('primary gone', 'warn');
  });
  const setLogLevel = followLogLevel(router);

  const start = async (config: Config): Promise<void> => {
    try {
      // This worker's part of the visualizer's feed: batches to the primary's collector every 250 ms.
      const feed = feedWanted(config) ? (await import('../admin/visualizer/index.js')).startFeedAgent(router) : null;
      const started = await startProxyNode(router, config, feed);
      proxy = started.node;
      if (config.admin !== null) {
        // The admin server (in the primary) asks this process for its metrics over the router.
        const { ProcessMetrics } = await import('../metrics/process-metrics.js');
        const metrics = new ProcessMetrics(router);
        if (proxy.metrics !== null) metrics.add(proxy.metrics);
        metrics.serve();
      }
      router.send(LIFECYCLE, { type: 'worker.listening', node, address: started.address });
      router.send(SETTINGS, { type: 'settings.applied', node, version: running });
      follow(); // a reload may have come while it was starting
    } catch (error) {
      router.send(LIFECYCLE, { type: 'worker.failed', node, reason: describeListenError(config, error) });
      log.flushSync();
    }
  };
  const follow = (): void => {
    if (proxy === null || latest === null || latest.version <= running) return;
    running = latest.version;
    proxy.update(latest.config);
    log.info('settings applied', { version: running });
    // The primary's applySettings (and so the admin API's answer) waits for this.
    router.send(SETTINGS, { type: 'settings.applied', node, version: running });
  };
  router.register(localNameOf(settingsAddress(node)), {
    send: (changed: SettingsChanged) => {
      if (stopping || (latest !== null && changed.version <= latest.version)) return;
      const first = latest === null;
      latest = changed;
      setLogLevel(changed.config.logLevel);
      if (!first) follow();
      else {
        running = changed.version;
        void start(changed.config);
      }
    },
  });
  router.send(SETTINGS, { type: 'settings.wanted', node, replyTo: settingsAddress(node) });
}

/**
 * Calls `onGone` when the IPC channel to the primary closes (the primary exited, was killed, or
 * crashed): nobody will tell this worker to stop, so it drains its in-flight requests and exits.
 *
 * Node's cluster child handles that disconnect first, with a 'disconnect' listener it installs on
 * `process` before any user code runs: it emits 'disconnect' on `cluster.worker`, then calls
 * `process.exit(0)` unless `worker.exitedAfterDisconnect` is true (lib/internal/cluster/child.js;
 * the cluster docs describe it under `worker.process`). That would cut every in-flight request.
 * So this listens to the worker's 'disconnect', which runs synchronously just before that check,
 * and sets the flag there: the disconnect counts as expected, Node does not exit, and the drain
 * decides when the process ends. Only documented API (the event and the property) is used, and
 * nothing changes before the disconnect actually happens. The primary-death test in
 * test/integration/primary-death.test.ts fails if a Node version stops honouring the flag.
 */
function drainWhenPrimaryIsGone(onGone: () => void): void {
  const self = cluster.worker;
  if (self === undefined) return;
  self.once('disconnect', () => {
    self.exitedAfterDisconnect = true;
    onGone();
  });
}

function ignoreHangup(): void {
  log.debug('SIGHUP ignored by a worker (the primary handles it)');
}

function exitAfterLogging(): never {
  log.flushSync();
  process.exit(0);
}
