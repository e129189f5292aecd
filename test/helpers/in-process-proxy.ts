/**
 * The real listener, undici pools and round robin over loopback upstreams,
 * in this process (no CLI child): for tests that look at what the proxy
 * node's parts do with each request (load figures, actor events).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { createChooser } from '../../src/actors/balancer.js';
import { MailboxRouter } from '../../src/actors/router.js';
import { clientIpKey, UpstreamLoads } from '../../src/balancing/index.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_REQUEST_POLICY, type ClientLimits } from '../../src/config/config.js';
import { createProxyServer } from '../../src/node/listener.js';
import { buildPipeline } from '../../src/pipeline/index.js';
import { Tunnels } from '../../src/proxy/tunnel.js';
import { UpstreamPools } from '../../src/proxy/upstream-pools.js';
import type { Exchange } from '../../src/proxy/exchange.js';

export interface InProcessProxyOptions<L extends UpstreamLoads> {
  readonly loads: L;
  readonly limits?: ClientLimits;
  readonly retries?: number;
  /** Wraps the round robin's choice (a test may make it fail). */
  readonly wrapChooser?: (choose: (exchange: Exchange) => string | undefined) => (exchange: Exchange) => string | undefined;
}

export interface InProcessProxy<L extends UpstreamLoads> {
  readonly port: number;
  /** The listener's node:http server, for a test that watches its requests and responses. */
  readonly server: Server;
  readonly router: MailboxRouter;
  readonly loads: L;
  /** Upstream ids, in the order of the ports given. */
  readonly upstreamIds: readonly string[];
}

/** Closed (connections, server, pools) when the test ends. */
export async function startInProcessProxy<L extends UpstreamLoads>(t: ExecutionContext, ports: readonly number[], options: InProcessProxyOptions<L>): Promise<InProcessProxy<L>> {
  const { loads } = options;
  const limits = options.limits ?? DEFAULT_CLIENT_LIMITS;
  const upstreams = ports.map((port) => ({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1 }));
  const strategy = new RoundRobin();
  strategy.rebuild(upstreams.map(({ id, weight }) => ({ id, weight, healthy: true, load: loads.of(id) })));
  const pools = new UpstreamPools(upstreams, { connectionsPerUpstream: 4, connectTimeoutMs: 2_000, responseTimeoutMs: 5_000, bodyIdleTimeoutMs: 5_000 });
  const router = new MailboxRouter('p');
  const pipeline = buildPipeline({ clientLimits: limits, requestPolicy: DEFAULT_REQUEST_POLICY, rateLimit: null }, { router });
  const roundRobin = createChooser(strategy, clientIpKey);
  const chooseUpstream = options.wrapChooser?.(roundRobin) ?? roundRobin;
  const tunnels = new Tunnels({
    router,
    pipeline,
    requestPolicy: DEFAULT_REQUEST_POLICY,
    connectTimeoutMs: 2_000,
    responseTimeoutMs: 5_000,
    idleMs: 5_000,
    targetOf: (id) => upstreams.find((upstream) => upstream.id === id),
    chooseUpstream,
  });
  const { server } = createProxyServer({ router, pools, loads, pipeline, tunnels, limits, requestPolicy: DEFAULT_REQUEST_POLICY, retries: options.retries ?? 0, chooseUpstream });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    pools.destroy();
  });
  return { port: (server.address() as AddressInfo).port, server, router, loads, upstreamIds: upstreams.map((upstream) => upstream.id) };
}
