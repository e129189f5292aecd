/**
 * One process's share of the proxying: its balancer actor, its upstream
 * connection pools and its listener. Runs in every worker, or in the single
 * process when `--workers 1`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { balancerMachine, createChooser } from '../actors/balancer.js';
import { createStrategy, DEFAULT_LATENCY_ESTIMATE, requestKeyOf, UpstreamLoads } from '../balancing/index.js';
import { startActor } from '../actors/inspection.js';
import type { MailboxRouter } from '../actors/router.js';
import { formatHostPort, type Config } from '../config/config.js';
import type { Pipeline } from '../pipeline/filter.js';
import { buildPipeline } from '../pipeline/index.js';
import { CacheRegistry } from '../cache/registry.js';
import { PoolFetcher } from '../proxy/background-fetch.js';
import { balancerAddress, type BalancerPolicy } from '../protocol/index.js';
import { Tunnels, type TunnelSettings } from '../proxy/tunnel.js';
import { DEFAULT_POOL_SETTINGS, UpstreamPools, type PoolSettings } from '../proxy/upstream-pools.js';
import { createRateLimitStore } from '../rate-limit/create-store.js';
import { TrustedProxies } from './client-ip.js';
import type { MetricSource } from '../metrics/families.js';
import { CacheMetrics } from '../metrics/cache-metrics.js';
import { WafMetrics } from '../metrics/waf-metrics.js';
import { WafCounters } from '../waf/counters.js';
import { ProxyNodeMetrics } from '../metrics/proxy-node-metrics.js';
import { RequestMetrics } from '../metrics/request-metrics.js';
import { RateLimitTally } from '../metrics/rate-limit-tally.js';
import type { FeedAgent } from '../admin/visualizer/feed/feed-agent.js';
import { createProxyServer } from './listener.js';

/** How often a draining node closes the keep-alive connections that have just gone idle. */
const DRAIN_SWEEP_MS = 50;

export interface ProxyNode {
  readonly server: Server;
  /**
   * Stop accepting, close idle keep-alive connections, let in-flight requests
   * finish (closing each connection as its last response goes out), cut what is
   * left after `drainMs`, then release the upstream pools.
   */
  shutdown(drainMs: number): Promise<void>;
  /**
   * Follow reloaded settings: pools and the balancer's candidates to the new
   * upstream list, a new pipeline and limits for new requests and connections.
   * `bind`, `workers`, `balance` and `hashing` are not its business (they need a restart).
   */
  update(config: Config): void;
  /** This node's metrics for the admin server; null when it is off (nothing is counted then). */
  readonly metrics: MetricSource | null;
  /** This process's response cache, if on: the admin API purges through it (`caches.purge`). */
  readonly caches: CacheRegistry;
}

function poolSettings(config: Config): PoolSettings {
  return {
    ...DEFAULT_POOL_SETTINGS,
    connectTimeoutMs: config.upstreamTimeouts.connectMs,
    responseTimeoutMs: config.upstreamTimeouts.responseMs,
    bodyIdleTimeoutMs: config.upstreamTimeouts.bodyIdleMs,
  };
}

function tunnelSettings(config: Config, pipeline: Pipeline): Omit<TunnelSettings, 'router' | 'targetOf' | 'chooseUpstream'> {
  return {
    pipeline,
    requestPolicy: config.requestPolicy,
    connectTimeoutMs: config.upstreamTimeouts.connectMs,
    responseTimeoutMs: config.upstreamTimeouts.responseMs,
    idleMs: config.clientLimits.bodyTimeoutMs,
  };
}

function balancerPolicy(config: Config): BalancerPolicy {
  return { slowStartMs: config.slowStartMs, panicThreshold: config.panicThreshold };
}

/** `feed`: this process's visualizer feed agent, when the feed runs; it gets the request figures and load counts. */
export async function startProxyNode(router: MailboxRouter, config: Config, feed: FeedAgent | null = null): Promise<{ node: ProxyNode; address: string }> {
  const pools = new UpstreamPools(config.upstreams, poolSettings(config));
  // With the admin server on, requests are counted and upstream latencies kept for /metrics and the API.
  const metricsOn = config.admin !== null;
  const estimate = { ...DEFAULT_LATENCY_ESTIMATE, ...config.latencyEstimate };
  const loads = new UpstreamLoads(estimate, metricsOn);
  const requestMetrics = metricsOn ? new RequestMetrics() : null;
  const strategy = createStrategy(config.balance, { hashing: config.hashing, estimate });
  const balancer = startActor(balancerMachine, {
    id: balancerAddress(router.node),
    input: {
      address: balancerAddress(router.node),
      router,
      upstreams: config.upstreams,
      strategy,
      loads,
      policy: balancerPolicy(config),
    },
  });
  router.register('balancer', balancer);

  const chooseUpstream = createChooser(strategy, requestKeyOf(config.hashing.key));
  let responseTimeoutMs = config.upstreamTimeouts.responseMs;
  // One cache per process, kept across reloads; requests waiting on a fill are woken with a verdict.
  const caches = new CacheRegistry(
    (replyTo, requestId) => router.send(replyTo, { type: 'request.verdict', requestId, answer: null }),
    new PoolFetcher(pools, chooseUpstream, () => responseTimeoutMs),
  );
  // One store per process for its whole life: a Redis connection is not rebuilt per settings version.
  const createdStore = await createRateLimitStore(config.limiting, router);
  // Requests admitted on a lease send no message for the feed's tap to see: the store tallies them.
  if (feed !== null && createdStore.localFigures !== undefined) feed.attachRateLimit(createdStore.localFigures());
  // A store that decides in this process (Redis) is counted here, for /metrics and the visualizer.
  const rateLimitTally = (metricsOn || feed !== null) && config.limiting.store.kind !== 'memory' ? new RateLimitTally(createdStore, config.limiting.ipv6Prefix) : null;
  const rateLimitStore = rateLimitTally ?? createdStore;
  // Features outside the pipeline that see every finished request: /metrics (admin server on), the visualizer's figures.
  const finishedHooks = [...(requestMetrics === null ? [] : [requestMetrics]), ...(feed === null ? [] : [feed.requestFigures]), ...(rateLimitTally === null ? [] : [rateLimitTally])];
  const wafCounters = metricsOn || feed !== null ? new WafCounters(router.node) : null;
  if (wafCounters !== null) wafCounters.on = config.waf !== null;
  const services = { router, rateLimitStore, finishedHooks, caches, wafCounters };
  const pipeline = buildPipeline(config, services);
  let targets = new Map(config.upstreams.map((upstream) => [upstream.id, upstream]));
  feed?.attachLoads(loads, () => targets.keys());
  feed?.attachFigures({ caches, waf: wafCounters, rateLimit: rateLimitTally });
  caches.answerPurges(router);
  const tunnels = new Tunnels({
    router,
    ...tunnelSettings(config, pipeline),
    targetOf: (upstreamId) => targets.get(upstreamId),
    chooseUpstream,
  });
  const listener = createProxyServer({
    router,
    pools,
    pipeline,
    limits: config.clientLimits,
    requestPolicy: config.requestPolicy,
    retries: config.retries,
    trustedProxies: new TrustedProxies(config.trustedProxies),
    loads,
    chooseUpstream,
    tunnels,
  });
  const { server } = listener;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.bind.port, config.bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;

  // The proxy node's, the cache's (nothing while it is off) and the WAF's.
  const metricSources: MetricSource[] = [];
  if (requestMetrics !== null) metricSources.push(new ProxyNodeMetrics(requestMetrics, loads, () => listener.openConnections()), new CacheMetrics(caches));
  if (wafCounters !== null) metricSources.push(new WafMetrics(wafCounters));
  if (metricsOn && createdStore.metrics !== undefined) metricSources.push(createdStore.metrics);
  if (rateLimitTally !== null) metricSources.push(rateLimitTally);
  const node: ProxyNode = {
    server,
    metrics: metricsOn ? { families: () => metricSources.flatMap((source) => source.families()) } : null,
    caches,
    update: (next) => {
      // Pools first, so the balancer never picks an upstream this process has no pool for.
      pools.update(next.upstreams, poolSettings(next));
      targets = new Map(next.upstreams.map((upstream) => [upstream.id, upstream]));
      router.send(balancerAddress(router.node), {
        type: 'balancer.upstreams-set',
        upstreams: next.upstreams,
        policy: balancerPolicy(next),
      });
      requestMetrics?.keepUpstreams(new Set(next.upstreams.map((upstream) => upstream.id)));
      responseTimeoutMs = next.upstreamTimeouts.responseMs;
      if (rateLimitTally !== null) rateLimitTally.ipv6Prefix = next.limiting.ipv6Prefix;
      if (wafCounters !== null) wafCounters.on = next.waf !== null;
      const nextPipeline = buildPipeline(next, services);
      listener.update({
        pipeline: nextPipeline,
        limits: next.clientLimits,
        requestPolicy: next.requestPolicy,
        retries: next.retries,
        trustedProxies: new TrustedProxies(next.trustedProxies),
      });
      tunnels.settings = { ...tunnels.settings, ...tunnelSettings(next, nextPipeline) };
    },
    shutdown: async (drainMs) => {
      const started = performance.now();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection whose last response goes out while draining is closed soon after, not
      // left idle until the deadline. A sweep while draining keeps that check off the per-request path.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
      let cut = false;
      const deadline = setTimeout(() => {
        cut = true;
        server.closeAllConnections();
        // Upgraded sockets are no longer Node's HTTP connections: closeAllConnections does not see them.
        tunnels.closeAll();
      }, drainMs);
      await closed;
      clearTimeout(deadline);
      clearInterval(sweep);
      balancer.stop();
      caches.stopAnsweringPurges(router);
      await rateLimitStore.close();
      // Upstream requests whose clients have gone are aborted, so this rarely waits; it never outlasts the deadline.
      await pools.close(cut ? 0 : Math.max(0, drainMs - (performance.now() - started)));
    },
  };
  return { node, address: formatHostPort(bound.address, bound.port) };
}
