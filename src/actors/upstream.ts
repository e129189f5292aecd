/**
 * The upstream actor: one per upstream server, in the primary process. It is
 * the single authority on that upstream's health for the whole instance.
 *
 *   healthy ──connect failed / misbehaved (passive), probe failed (active)──▶ dead
 *   dead ──probe passed──▶ healthy
 *   dead ──back-off expired (only when active checks are off)──▶ healthy
 *
 * Every change is published to the subscribers (each process's balancer), so
 * an upstream one worker finds dead is dead for all of them.
 */
import { assign, setup } from 'xstate';
import type {
  Address,
  HealthProbeResult,
  UpstreamConnectFailed,
  UpstreamEvent,
  UpstreamMisbehaved,
  UpstreamTarget,
} from '../protocol/index.js';
import { log } from '../log.js';
import type { MailboxRouter } from './router.js';

/** How a dead upstream comes back. */
export type Recovery =
  | { readonly mode: 'active-checks' }
  /** Without active checks: retried after a back-off that doubles with each death in a row. */
  | { readonly mode: 'back-off'; readonly initialMs: number; readonly maxMs: number };

export const DEFAULT_BACK_OFF: Recovery = { mode: 'back-off', initialMs: 1_000, maxMs: 30_000 };

export interface UpstreamInput {
  readonly upstream: UpstreamTarget;
  readonly router: MailboxRouter;
  readonly recovery: Recovery;
}

interface UpstreamContext {
  readonly upstream: UpstreamTarget;
  readonly router: MailboxRouter;
  readonly recovery: Recovery;
  readonly subscribers: readonly Address[];
  /** Why the upstream is in its current state, for logs and subscribers. */
  readonly reason: string;
  /** Deaths since the upstream last stayed healthy for a full maximum back-off. */
  readonly deathsInARow: number;
}

/** The longest delay a Node timer takes (≈24.8 days): "never" for a transition that does not apply. */
const NEVER_MS = 2_147_483_647;

export const upstreamMachine = setup({
  types: {
    context: {} as UpstreamContext,
    events: {} as UpstreamEvent,
    input: {} as UpstreamInput,
  },
  actions: {
    addSubscriber: ({ context, event, self }) => {
      if (event.type !== 'upstream.subscribe') return;
      if (!context.subscribers.includes(event.replyTo)) (context.subscribers as Address[]).push(event.replyTo);
      context.router.send(event.replyTo, {
        type: 'upstream.health-changed',
        upstreamId: context.upstream.id,
        healthy: self.getSnapshot().matches('healthy'),
        reason: context.reason,
      });
    },
    recordConnectFailure: assign({
      reason: ({ event }) => `connect failed: ${(event as UpstreamConnectFailed).reason}`,
      deathsInARow: ({ context }) => context.deathsInARow + 1,
    }),
    recordMisbehaviour: assign({
      reason: ({ event }) => `misbehaved: ${(event as UpstreamMisbehaved).reason}`,
      deathsInARow: ({ context }) => context.deathsInARow + 1,
    }),
    recordProbeFailure: assign({
      reason: ({ event }) => `health check failed: ${(event as HealthProbeResult).detail}`,
      deathsInARow: ({ context }) => context.deathsInARow + 1,
    }),
    recordProbePass: assign({
      reason: ({ event }) => `health check passed: ${(event as HealthProbeResult).detail}`,
    }),
    recordBackOffExpiry: assign({ reason: 'back-off expired; trying it again' }),
    forgetPastDeaths: assign({ deathsInARow: 0 }),
    publishHealth: ({ context }, params: { healthy: boolean }) => {
      const { upstream, reason } = context;
      if (params.healthy) log.info('upstream healthy', { upstream: upstream.id, reason });
      else log.warn('upstream marked dead', { upstream: upstream.id, reason });
      for (const subscriber of context.subscribers) {
        context.router.send(subscriber, {
          type: 'upstream.health-changed',
          upstreamId: upstream.id,
          healthy: params.healthy,
          reason,
        });
      }
    },
  },
  guards: {
    probePassed: ({ event }) => event.type === 'health.probe-result' && event.passed,
    probeFailed: ({ event }) => event.type === 'health.probe-result' && !event.passed,
    recoversByBackOff: ({ context }) => context.recovery.mode === 'back-off',
  },
  delays: {
    backOff: ({ context }) => {
      const { recovery } = context;
      if (recovery.mode !== 'back-off') return NEVER_MS;
      return Math.min(recovery.maxMs, recovery.initialMs * 2 ** Math.max(0, context.deathsInARow - 1));
    },
    stableFor: ({ context }) => (context.recovery.mode === 'back-off' ? context.recovery.maxMs : NEVER_MS),
  },
}).createMachine({
  id: 'upstream',
  context: ({ input }) => ({
    upstream: input.upstream,
    router: input.router,
    recovery: input.recovery,
    subscribers: [],
    reason: 'configured',
    deathsInARow: 0,
  }),
  initial: 'healthy',
  on: {
    'upstream.subscribe': { actions: 'addSubscriber' },
  },
  states: {
    healthy: {
      entry: { type: 'publishHealth', params: { healthy: true } },
      on: {
        'upstream.connect-failed': { target: 'dead', actions: 'recordConnectFailure' },
        'upstream.misbehaved': { target: 'dead', actions: 'recordMisbehaviour' },
        'health.probe-result': { guard: 'probeFailed', target: 'dead', actions: 'recordProbeFailure' },
      },
      after: {
        stableFor: { guard: 'recoversByBackOff', actions: 'forgetPastDeaths' },
      },
    },
    dead: {
      entry: { type: 'publishHealth', params: { healthy: false } },
      on: {
        'health.probe-result': { guard: 'probePassed', target: 'healthy', actions: 'recordProbePass' },
      },
      after: {
        backOff: { guard: 'recoversByBackOff', target: 'healthy', actions: 'recordBackOffExpiry' },
      },
    },
  },
});
