/**
 * A cluster worker: one proxy node whose router reaches the primary's actors
 * over IPC. Reports to the primary when it is listening, or why it cannot.
 */
import { logActorEvents } from '../actors/inspection.js';
import { MailboxRouter } from '../actors/router.js';
import { log } from '../log.js';
import { startProxyNode } from '../node/proxy-node.js';
import { LIFECYCLE } from '../protocol/index.js';
import { describeListenError } from '../instance.js';
import { linkToPrimary } from './links.js';
import { WORKER_ENV, type WorkerAssignment } from './primary.js';

export async function runClusterWorker(): Promise<void> {
  const { node, config } = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerAssignment;
  log.configure(config.logLevel, node);
  const router = new MailboxRouter(node);
  if (config.logLevel === 'debug') logActorEvents(router, (msg, fields) => log.debug(msg, fields));
  linkToPrimary(router);
  try {
    const started = await startProxyNode(router, config);
    router.send(LIFECYCLE, { type: 'worker.listening', node, address: started.address });
    const stop = (): void => {
      void started.node.shutdown(config.drainTimeoutMs).then(() => {
        log.flushSync();
        process.exit(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // The primary is gone: nobody will tell this worker to stop, so stop now.
    process.once('disconnect', stop);
  } catch (error) {
    router.send(LIFECYCLE, { type: 'worker.failed', node, reason: describeListenError(config, error) });
    log.flushSync();
  }
}
