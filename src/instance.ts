/**
 * Running one balancebeam instance: in this process alone (`--workers 1`), or
 * as a primary with worker processes. Either way the same actors do the same
 * work; only where they live differs.
 */
import { MailboxRouter } from './actors/router.js';
import { runClusterPrimary } from './cluster/primary.js';
import type { Config } from './config/config.js';
import { startPrimaryServices } from './node/primary-services.js';
import { startProxyNode } from './node/proxy-node.js';
import { describeListenError, ListenError, type Instance } from './node/running-instance.js';
import { PRIMARY_NODE } from './protocol/index.js';

export async function runInstance(config: Config): Promise<Instance> {
  if (config.workers > 1) {
    try {
      return await runClusterPrimary(config);
    } catch (error) {
      throw new ListenError(error instanceof Error ? error.message : String(error));
    }
  }
  const router = new MailboxRouter(PRIMARY_NODE);
  const services = startPrimaryServices(router, config);
  try {
    const { node, address } = await startProxyNode(router, config);
    return {
      address,
      shutdown: async () => {
        await node.shutdown(config.drainTimeoutMs);
        services.stop();
      },
    };
  } catch (error) {
    services.stop();
    throw new ListenError(describeListenError(config, error));
  }
}
