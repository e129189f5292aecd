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
import { healthSupervisorMachine, probeTimeoutMs } from '../actors/health-supervisor.js';
import { startActor } from '../actors/inspection.js';
import { rateLimiterMachine } from '../actors/rate-limiter.js';
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { DEFAULT_BACK_OFF, upstreamMachine, type UpstreamInput } from '../actors/upstream.js';
import type { Config } from '../config/config.js';
import { HEALTH_SUPERVISOR, RATE_LIMITER, upstreamAddress, type UpstreamTarget } from '../protocol/index.js';

export interface PrimaryServices {
  /** Follow a reloaded configuration (bind and workers are not its business). */
  update(config: Config): void;
  stop(): void;
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
  const upstreamActors = new Map<string, Actor<AnyActorLogic>>();
  let policyKey = '';
  let supervisor: Actor<AnyActorLogic> | null = null;
  let supervisorKey = '';

  const startUpstream = (upstream: UpstreamTarget, current: Config): void => {
    const address = upstreamAddress(upstream.id);
    const actor = startActor(upstreamMachine, { id: address, input: { upstream, router, ...healthPolicy(current) } });
    router.register(localNameOf(address), actor);
    upstreamActors.set(upstream.id, actor);
  };
  const stopUpstream = (id: string): void => {
    const actor = upstreamActors.get(id);
    if (actor === undefined) return;
    router.unregister(upstreamAddress(id));
    actor.stop();
    upstreamActors.delete(id);
  };

  const reconcileUpstreams = (current: Config): void => {
    const key = JSON.stringify(healthPolicy(current));
    // A new recovery mode or thresholds: every upstream actor starts again (healthy; the checks re-judge
    // it), and the balancers subscribe again when the new settings reach them.
    const restartAll = key !== policyKey;
    policyKey = key;
    const wanted = new Set(current.upstreams.map((upstream) => upstream.id));
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

  return {
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
