/**
 * The actors that are global to an instance and so live in the primary
 * process: one upstream actor per upstream, the health supervisor and the
 * rate limiter. Workers reach them through the router.
 */
import { performance } from 'node:perf_hooks';
import type { Actor, AnyActorLogic } from 'xstate';
import { healthSupervisorMachine, probeTimeoutMs } from '../actors/health-supervisor.js';
import { startActor } from '../actors/inspection.js';
import { rateLimiterMachine } from '../actors/rate-limiter.js';
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { DEFAULT_BACK_OFF, upstreamMachine } from '../actors/upstream.js';
import type { Config } from '../config/config.js';
import { HEALTH_SUPERVISOR, RATE_LIMITER, upstreamAddress } from '../protocol/index.js';

export interface PrimaryServices {
  stop(): void;
}

export function startPrimaryServices(router: MailboxRouter, config: Config): PrimaryServices {
  const actors: Actor<AnyActorLogic>[] = [];
  const now = () => performance.now();

  for (const upstream of config.upstreams) {
    const actor = startActor(upstreamMachine, {
      id: upstreamAddress(upstream.id),
      input: {
        upstream,
        router,
        recovery: config.activeHealthCheck === null ? DEFAULT_BACK_OFF : { mode: 'active-checks' },
      },
    });
    router.register(localNameOf(upstreamAddress(upstream.id)), actor);
    actors.push(actor);
  }

  if (config.activeHealthCheck !== null) {
    const { intervalMs, path } = config.activeHealthCheck;
    const supervisor = startActor(healthSupervisorMachine, {
      id: HEALTH_SUPERVISOR,
      input: { upstreams: config.upstreams, path, intervalMs, timeoutMs: probeTimeoutMs(intervalMs), router, now },
    });
    router.register(localNameOf(HEALTH_SUPERVISOR), supervisor);
    actors.push(supervisor);
  }

  if (config.rateLimit !== null) {
    const limiter = startActor(rateLimiterMachine, { id: RATE_LIMITER, input: { policy: config.rateLimit, router, now } });
    router.register(localNameOf(RATE_LIMITER), limiter);
    actors.push(limiter);
  }

  return {
    stop: () => {
      for (const actor of actors) actor.stop();
    },
  };
}
