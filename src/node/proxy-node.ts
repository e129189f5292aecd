/**
 * One process's share of the proxying: its balancer actor, its upstream
 * connection pools and its listener. Runs in every worker, or in the single
 * process when `--workers 1`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { balancerMachine, createChooser, createUpstreamViews } from '../actors/balancer.js';
import { startActor } from '../actors/inspection.js';
import type { MailboxRouter } from '../actors/router.js';
import { formatHostPort, type Config } from '../config.js';
import { balancerAddress } from '../protocol/index.js';
import { UpstreamPools } from '../proxy/upstream-pools.js';
import { createProxyServer } from './listener.js';

export interface ProxyNode {
  readonly server: Server;
  /** Stop accepting, let in-flight requests finish (up to `graceMs`), then release everything. */
  shutdown(graceMs: number): Promise<void>;
}

export async function startProxyNode(router: MailboxRouter, config: Config): Promise<{ node: ProxyNode; address: string }> {
  const views = createUpstreamViews(config.upstreams);
  const balancerAt = balancerAddress(router.node);
  const balancer = startActor(balancerMachine, { input: { address: balancerAt, router, views } });
  router.register('balancer', balancer);

  const pools = new UpstreamPools(config.upstreams);
  const server = createProxyServer({
    router,
    pools,
    rateLimited: config.rateLimit !== null,
    limits: config.clientLimits,
    chooseUpstream: createChooser(views, config.balance),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.bind.port, config.bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;

  const node: ProxyNode = {
    server,
    shutdown: async (graceMs) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      deadline.unref();
      await closed;
      clearTimeout(deadline);
      balancer.stop();
      await pools.close();
    },
  };
  return { node, address: formatHostPort(bound.address, bound.port) };
}
