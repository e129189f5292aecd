/**
 * Running one balancebeam instance: in this process alone (`--workers 1`), or
 * as a primary with worker processes. Either way the same actors do the same
 * work; only where they live differs.
 */
import { logActorEvents } from './actors/inspection.js';
import { MailboxRouter } from './actors/router.js';
import { runClusterPrimary } from './cluster/primary.js';
import { formatHostPort, type Config } from './config/config.js';
import { log } from './log.js';
import { startPrimaryServices } from './node/primary-services.js';
import { startProxyNode } from './node/proxy-node.js';
import { PRIMARY_NODE } from './protocol/index.js';

export interface Instance {
  /** Where clients connect, `host:port` (the real port when `--bind` asked for port 0). */
  readonly address: string;
  shutdown(): Promise<void>;
}

export class ListenError extends Error {}

export function describeListenError(config: Config, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const reason = error instanceof Error ? error.message : String(error);
  return `cannot listen on ${formatHostPort(config.bind.host, config.bind.port)}: ${reason}${typeof code === "string" && !reason.includes(code) ? ` (${code})` : ""}`;
}

export async function runInstance(config: Config): Promise<Instance> {
  if (config.workers > 1) {
    try {
      return await runClusterPrimary(config);
    } catch (error) {
      throw new ListenError(error instanceof Error ? error.message : String(error));
    }
  }
  const router = new MailboxRouter(PRIMARY_NODE);
  if (config.logLevel === 'debug') logActorEvents(router, (msg, fields) => log.debug(msg, fields));
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
