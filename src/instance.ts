/**
 * Running one balancebeam instance: in this process alone (`--workers 1`), or
 * as a primary with worker processes. Either way the same actors do the same
 * work; only where they live differs.
 */
import { MailboxRouter } from './actors/router.js';
import { feedWanted } from './admin/visualizer/feed-wanted.js';
import { runClusterPrimary } from './cluster/primary.js';
import type { Config } from './config/config.js';
import { followLogLevel } from './node/log-level.js';
import { startPrimaryServices } from './node/primary-services.js';
import { startProxyNode } from './node/proxy-node.js';
import { describeListenError, ListenError, type AppliedSettings, type Instance } from './node/running-instance.js';
import { PRIMARY_NODE } from './protocol/index.js';

/** `stop` was aborted while the instance was starting: what had started has been shut down. */
export class StartAborted extends Error {}

/**
 * Starts the instance; resolves once it is accepting. Aborting `stop` during start-up (a SIGTERM
 * then) shuts down what has started, workers included, and rejects with StartAborted; after it
 * resolves, stopping is `shutdown()`'s job.
 */
export async function runInstance(config: Config, stop?: AbortSignal): Promise<Instance> {
  if (config.workers > 1) {
    try {
      return await runClusterPrimary(config, stop);
    } catch (error) {
      if (stop?.aborted === true) throw new StartAborted('stopped during start-up');
      throw new ListenError(error instanceof Error ? error.message : String(error));
    }
  }
  const router = new MailboxRouter(PRIMARY_NODE);
  const setLogLevel = followLogLevel(router);
  setLogLevel(config.logLevel);
  // Before the actors, so that their first health reports are in the feed.
  // The feed's code only when it is wanted (--admin or --trace).
  const feed = feedWanted(config) ? (await import('./admin/visualizer/index.js')).startPrimaryFeed(router, config) : null;
  const services = startPrimaryServices(router, config);
  let started: Awaited<ReturnType<typeof startProxyNode>>;
  try {
    started = await startProxyNode(router, config, feed?.agent ?? null);
  } catch (error) {
    services.stop();
    await feed?.stop();
    throw new ListenError(describeListenError(config, error));
  }
  const { node, address } = started;
  let drainTimeoutMs = config.drainTimeoutMs;
  let version = 1;
  // prom-client (about 11 MB of RSS once loaded) only with the admin server.
  const metrics = config.admin === null ? null : new (await import('./metrics/process-metrics.js')).ProcessMetrics(router);
  metrics?.add(services.metrics);
  if (node.metrics !== null) metrics?.add(node.metrics);
  const shutdown = async (): Promise<void> => {
    await node.shutdown(drainTimeoutMs);
    services.stop();
    await feed?.stop();
  };
  // One process: the proxy node has applied the settings when update returns (its balancer's message is local).
  const applySettings = (next: Config): Promise<AppliedSettings> => {
    setLogLevel(next.logLevel);
    drainTimeoutMs = next.drainTimeoutMs;
    services.update(next);
    node.update(next);
    version++;
    return Promise.resolve({ version, confirmed: [PRIMARY_NODE], unconfirmed: [] });
  };
  if (stop?.aborted === true) {
    await shutdown();
    throw new StartAborted('stopped during start-up');
  }
  return {
    address,
    shutdown,
    applySettings,
    router,
    services,
    metrics,
    feed: feed?.collector ?? null,
    proxyNodes: () => [PRIMARY_NODE],
    workerNodes: () => [],
  };
}
