/**
 * A cluster worker: one proxy node whose router reaches the primary's actors
 * over IPC. Reports to the primary when it is listening, or why it cannot.
 * It drains and exits on SIGTERM/SIGINT, and when its primary is gone.
 */
import cluster from 'node:cluster';
import { logActorEvents } from '../actors/inspection.js';
import { MailboxRouter } from '../actors/router.js';
import { log } from '../log.js';
import { startProxyNode, type ProxyNode } from '../node/proxy-node.js';
import { LIFECYCLE } from '../protocol/index.js';
import { describeListenError } from '../node/running-instance.js';
import { linkToPrimary } from './links.js';
import { WORKER_ENV, type WorkerAssignment } from './primary.js';

export async function runClusterWorker(): Promise<void> {
  const { node, config } = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerAssignment;
  log.configure(config.logLevel, node);
  let proxy: ProxyNode | null = null;
  let stopping = false;
  const stop = (reason: string, level: 'info' | 'warn' = 'info'): void => {
    if (stopping) return;
    stopping = true;
    if (proxy === null) {
      // Not listening yet, so no client to drain; and without a primary the listen would never complete.
      log[level]('stopping before listening', { reason });
      exitAfterLogging();
    }
    log[level]('draining', { reason, drainTimeoutMs: config.drainTimeoutMs });
    void proxy.shutdown(config.drainTimeoutMs).then(exitAfterLogging);
  };
  // Installed before the node starts, so a signal during start-up is never fatal (nor a SIGTERM exit 143);
  // kept after the first, so a second one (Ctrl-C reaches workers, and the primary signals them too)
  // does not cut the drain. A stuck worker is the primary's to kill, or its drain deadline's.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A terminal hangup reaches the whole process group; the primary is the one that acts on it.
  process.on('SIGHUP', ignoreHangup);
  drainWhenPrimaryIsGone(() => stop('primary gone', 'warn'));

  const router = new MailboxRouter(node);
  if (config.logLevel === 'debug') logActorEvents(router, (msg, fields) => log.debug(msg, fields));
  linkToPrimary(router);
  try {
    const started = await startProxyNode(router, config);
    proxy = started.node;
    router.send(LIFECYCLE, { type: 'worker.listening', node, address: started.address });
  } catch (error) {
    router.send(LIFECYCLE, { type: 'worker.failed', node, reason: describeListenError(config, error) });
    log.flushSync();
  }
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
