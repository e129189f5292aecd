/**
 * A balancer in the test's own process (`--workers 1`) with the visualizer's
 * feed running and its routes served on a plain HTTP server, as the admin
 * server will mount them: the page's tests drive it from Chromium and read
 * the collector directly.
 */
import type { ExecutionContext } from 'ava';
import { MailboxRouter } from '../../src/actors/router.js';
import { startPrimaryFeed, type PrimaryFeed } from '../../src/admin/visualizer/index.js';
import { visualizerRoutes } from '../../src/admin/visualizer/routes.js';
import { startAdminServer } from '../../src/admin/server.js';
import { parseCommandLine } from '../../src/cli/options.js';
import type { Config } from '../../src/config/config.js';
import { followLogLevel } from '../../src/node/log-level.js';
import { startPrimaryServices } from '../../src/node/primary-services.js';
import { startProxyNode } from '../../src/node/proxy-node.js';
import { PRIMARY_NODE } from '../../src/protocol/index.js';

export interface VisualizedInstance {
  readonly config: Config;
  /** Where clients connect. */
  readonly proxyPort: number;
  /** `http://127.0.0.1:PORT`: the page is at `/`. */
  readonly vizUrl: string;
  readonly feed: PrimaryFeed;
  /** Drains the proxy, stops the actors and the feed (the trace file is complete once it resolves). */
  stop(): Promise<void>;
}

export async function startVisualizedInstance(t: ExecutionContext, args: readonly string[]): Promise<VisualizedInstance> {
  const command = parseCommandLine([...args, '--workers', '1', '--bind', '127.0.0.1:0', '--log-level', 'warn']);
  if (command.kind !== 'run') throw new Error(`not a run command: ${command.kind}`);
  const { config } = command;
  const router = new MailboxRouter(PRIMARY_NODE);
  followLogLevel(router)(config.logLevel);
  const feed = startPrimaryFeed(router, config);
  const services = startPrimaryServices(router, config);
  const { node, address } = await startProxyNode(router, config, feed.agent);
  const served = await startAdminServer({ host: '127.0.0.1', port: 0, token: null }, visualizerRoutes({ source: feed.collector }));
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await served.close();
      await node.shutdown(500);
      services.stop();
      await feed.stop();
    })());
  t.teardown(stop);
  return { config, proxyPort: Number(address.slice(address.lastIndexOf(':') + 1)), vizUrl: `http://${served.address}`, feed, stop };
}
