/**
 * The actors that are global to an instance and so live in the primary
 * process: one upstream actor per upstream, the health supervisor and the
 * rate limiter. Workers reach them through the router. On a config reload
 * they follow the new settings: upstream actors are started for added
 * upstreams and stopped for removed ones, the supervisor is restarted when
 * what it probes changes, and the rate limiter is reconfigured in place.
 */
import { performance } from 'node:perf_hooks';
import type { Actor, AnyActorLogic } from 'xstate';
import { RATE_LIMIT_DECISIONS_HELP } from '../metrics/rate-limit-tally.js';
import { counterFamily, gaugeFamily, type MetricSource } from '../metrics/families.js';
import { healthSupervisorMachine, probeTimeoutMs } from '../actors/health-supervisor.js';
import { startActor } from '../actors/inspection.js';
import { rateLimiterMachine } from '../actors/rate-limiter.js';
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { DEFAULT_BACK_OFF, upstreamMachine, type UpstreamInput } from '../actors/upstream.js';
import type { Config } from '../config/config.js';
import { HEALTH_SUPERVISOR, RATE_LIMITER, upstreamAddress, type MetricSample, type UpstreamTarget } from '../protocol/index.js';

export interface PrimaryServices {
  /** Follow a reloaded configuration (bind and workers are not its business). */
  update(config: Config): void;
  stop(): void;
  /** Each upstream actor's judgement now, in configuration order (the admin API's list). */
  upstreamHealth(): UpstreamHealth[];
  /** Upstream health and rate-limit figures for /metrics (read when scraped). */
  readonly metrics: MetricSource;
}

export interface UpstreamHealth {
  readonly id: string;
  readonly healthy: boolean;
  /** Why it is in that state (`configured`, `connect failed: ECONNREFUSED`, `health check passed: status 200`). */
  readonly reason: string;
  /** Epoch ms of its last change of state (or of its actor's start). */
  readonly since: number;
}

/** What the primary keeps about one upstream actor, from a subscription to its snapshots (a few events a second at most). */
interface HealthRecord {
  healthy: boolean;
  reason: string;
  since: number;
}

/** What an upstream actor is started with, apart from its target: a change restarts the actor. */
function healthPolicy(config: Config): Omit<UpstreamInput, 'upstream' | 'router'> {
  return {
    recovery: config.activeHealthCheck === null ? DEFAULT_BACK_OFF : { mode: 'active-checks' },
    thresholds: config.healthThresholds,
  };
}

export function startPrimaryServices(router: MailboxRouter, config: Config): PrimaryServices {
  const now = () => performance.now();
  // By id (host:port): a weight is the balancers' business, not the health actor's.
  const upstreamActors = new Map<string, Actor<typeof upstreamMachine>>();
  const health = new Map<string, HealthRecord>();
  /** Changes of health by upstream and direction; an upstream's counts go with it when it is removed. */
  const healthChanges = new Map<string, { healthy: number; dead: number }>();
  let order: readonly string[] = config.upstreams.map((upstream) => upstream.id);
  let policyKey = '';
  let supervisor: Actor<AnyActorLogic> | null = null;
  let supervisorKey = '';

  const startUpstream = (upstream: UpstreamTarget, current: Config): void => {
    const address = upstreamAddress(upstream.id);
    const actor = startActor(upstreamMachine, { id: address, input: { upstream, router, ...healthPolicy(current) } });
    router.register(localNameOf(address), actor);
    upstreamActors.set(upstream.id, actor);
    const record: HealthRecord = { healthy: true, reason: actor.getSnapshot().context.reason, since: Date.now() };
    health.set(upstream.id, record);
    actor.subscribe((snapshot) => {
      record.reason = snapshot.context.reason;
      const healthy = snapshot.value === 'healthy';
      if (healthy === record.healthy) return;
      record.healthy = healthy;
      record.since = Date.now();
      const changes = healthChanges.get(upstream.id) ?? { healthy: 0, dead: 0 };
      changes[healthy ? 'healthy' : 'dead']++;
      healthChanges.set(upstream.id, changes);
    });
  };
  const stopUpstream = (id: string): void => {
    const actor = upstreamActors.get(id);
    if (actor === undefined) return;
    router.unregister(upstreamAddress(id));
    actor.stop();
    upstreamActors.delete(id);
    health.delete(id);
  };

  const reconcileUpstreams = (current: Config): void => {
    const key = JSON.stringify(healthPolicy(current));
    // A new recovery mode or thresholds: every upstream actor starts again (healthy; the checks re-judge
    // it), and the balancers subscribe again when the new settings reach them.
    const restartAll = key !== policyKey;
    policyKey = key;
    const wanted = new Set(current.upstreams.map((upstream) => upstream.id));
    order = current.upstreams.map((upstream) => upstream.id);
    for (const id of [...healthChanges.keys()]) if (!wanted.has(id)) healthChanges.delete(id);
    for (const id of [...upstreamActors.keys()]) if (restartAll || !wanted.has(id)) stopUpstream(id);
    for (const upstream of current.upstreams) if (!upstreamActors.has(upstream.id)) startUpstream(upstream, current);
  };

  const reconcileSupervisor = (current: Config): void => {
    const check = current.activeHealthCheck;
    const key = check === null ? '' : JSON.stringify([check, current.upstreams.map((upstream) => upstream.id)]);
    if (key === supervisorKey) return;
    supervisorKey = key;
    supervisor?.stop();
    supervisor = null;
    router.unregister(HEALTH_SUPERVISOR);
    if (check === null) return;
    supervisor = startActor(healthSupervisorMachine, {
      id: HEALTH_SUPERVISOR,
      input: {
        upstreams: current.upstreams,
        path: check.path,
        intervalMs: check.intervalMs,
        timeoutMs: probeTimeoutMs(check.intervalMs),
        router,
        now,
      },
    });
    // Nobody sends to it; registered so that an inspection attached later finds it.
    router.register(localNameOf(HEALTH_SUPERVISOR), supervisor);
  };

  reconcileUpstreams(config);
  reconcileSupervisor(config);
  // Started even with limiting off, so that a reload can turn it on (or off) with checks in flight.
  const limiter = startActor(rateLimiterMachine, { id: RATE_LIMITER, input: { router, now } });
  router.register(localNameOf(RATE_LIMITER), limiter);

  const upstreamHealth = (): UpstreamHealth[] =>
    order.flatMap((id) => {
      const record = health.get(id);
      return record === undefined ? [] : [{ id, ...record }];
    });
  const metrics: MetricSource = {
    families: () => {
      const list = upstreamHealth();
      const changes: MetricSample[] = [];
      for (const [upstream, counts] of healthChanges) {
        changes.push({ labels: { upstream, to: 'healthy' }, value: counts.healthy }, { labels: { upstream, to: 'dead' }, value: counts.dead });
      }
      const { decisions } = limiter.getSnapshot().context;
      return [
        gaugeFamily(
          'balancebeam_upstream_healthy',
          'Whether the upstream is judged healthy (1) or dead (0) by its actor in the primary',
          list.map((entry) => ({ labels: { upstream: entry.id }, value: entry.healthy ? 1 : 0 })),
        ),
        counterFamily('balancebeam_upstream_health_changes_total', 'Changes of upstream health, by the state changed to', changes),
        counterFamily('balancebeam_rate_limit_decisions_total', RATE_LIMIT_DECISIONS_HELP, [
          { labels: { decision: 'admitted' }, value: decisions.admitted },
          { labels: { decision: 'denied' }, value: decisions.denied },
        ]),
      ];
    },
  };

  return {
    upstreamHealth,
    metrics,
    update: (next) => {
      reconcileUpstreams(next);
      reconcileSupervisor(next);
    },
    stop: () => {
      for (const id of [...upstreamActors.keys()]) stopUpstream(id);
      supervisor?.stop();
      router.unregister(HEALTH_SUPERVISOR);
      limiter.stop();
    },
  };
}
