/**
 * The upstream actor: one per upstream server, in the primary process. It is
 * the single authority on that upstream's health for the whole instance.
 *
 *   healthy ──`fall` failures in a row: connect failed / misbehaved (passive), probe failed (active)──▶ dead
 *   dead ──`rise` passing probes in a row──▶ healthy
 *   dead ──back-off expired (only when active checks are off)──▶ healthy
 *
 * A pass resets the count of failures and a failure the count of passes
 * (HAProxy's rise/fall), so one flaky probe need not take an upstream out.
 * Both counts start again from zero at every change of state.
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
import type { HealthThresholds } from '../config/config.js';
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
  readonly thresholds: HealthThresholds;
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
  readonly thresholds: HealthThresholds;
  /** Failures (passive or active) in a row while healthy: `fall` of them take it out. */
  readonly failuresInARow: number;
  /** Passing probes in a row while dead: `rise` of them bring it back. */
  readonly passesInARow: number;
}

type Failure = UpstreamConnectFailed | UpstreamMisbehaved | HealthProbeResult;

function failureReason(event: Failure): string {
  switch (event.type) {
    case 'upstream.connect-failed':
      return `connect failed: ${event.reason}`;
    case 'upstream.misbehaved':
      return `misbehaved: ${event.reason}`;
    case 'health.probe-result':
      return `health check failed: ${event.detail}`;
  }
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
    /** The failure that takes it out: it becomes the reason, and one more death in a row. */
    recordDeath: assign({
      reason: ({ event }) => failureReason(event as Failure),
      deathsInARow: ({ context }) => context.deathsInARow + 1,
    }),
    /** A failure short of `fall`, or any failure while dead: counted, and the passes forgotten. */
    countFailure: assign({
      failuresInARow: ({ context }) => context.failuresInARow + 1,
      passesInARow: 0,
    }),
    /** A pass short of `rise`, or any pass while healthy: counted, and the failures forgotten. */
    countPass: assign({
      passesInARow: ({ context }) => context.passesInARow + 1,
      failuresInARow: 0,
    }),
    logCountedResult: ({ context, event }) => {
      // Runs after the count was updated, so it reports this result's place in its run.
      if (event.type === 'upstream.subscribe' || !log.enabled('debug')) return;
      const { rise, fall } = context.thresholds;
      const passed = event.type === 'health.probe-result' && event.passed;
      log.debug(passed ? 'upstream check passed' : 'upstream check failed', {
        upstream: context.upstream.id,
        reason: passed ? `health check passed: ${event.detail}` : failureReason(event),
        inARow: passed ? `${context.passesInARow} of rise ${rise}` : `${context.failuresInARow} of fall ${fall}`,
      });
    },
    resetCounts: assign({ failuresInARow: 0, passesInARow: 0 }),
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
    /** This failure is the `fall`-th in a row. */
    fallReached: ({ context }) => context.failuresInARow + 1 >= context.thresholds.fall,
    /** This probe failed and is the `fall`-th failure in a row. */
    probeFailedAndFallReached: ({ context, event }) =>
      event.type === 'health.probe-result' && !event.passed && context.failuresInARow + 1 >= context.thresholds.fall,
    /** This probe passed and is the `rise`-th pass in a row. */
    probePassedAndRiseReached: ({ context, event }) =>
      event.type === 'health.probe-result' && event.passed && context.passesInARow + 1 >= context.thresholds.rise,
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
    thresholds: input.thresholds,
    failuresInARow: 0,
    passesInARow: 0,
  }),
  initial: 'healthy',
  on: {
    'upstream.subscribe': { actions: 'addSubscriber' },
  },
  states: {
    healthy: {
      entry: ['resetCounts', { type: 'publishHealth', params: { healthy: true } }],
      on: {
        'upstream.connect-failed': [
          { guard: 'fallReached', target: 'dead', actions: 'recordDeath' },
          { actions: ['countFailure', 'logCountedResult'] },
        ],
        'upstream.misbehaved': [
          { guard: 'fallReached', target: 'dead', actions: 'recordDeath' },
          { actions: ['countFailure', 'logCountedResult'] },
        ],
        'health.probe-result': [
          { guard: 'probeFailedAndFallReached', target: 'dead', actions: 'recordDeath' },
          { guard: 'probeFailed', actions: ['countFailure', 'logCountedResult'] },
          { actions: 'countPass' },
        ],
      },
      after: {
        stableFor: { guard: 'recoversByBackOff', actions: 'forgetPastDeaths' },
      },
    },
    dead: {
      entry: ['resetCounts', { type: 'publishHealth', params: { healthy: false } }],
      on: {
        'health.probe-result': [
          { guard: 'probePassedAndRiseReached', target: 'healthy', actions: 'recordProbePass' },
          { guard: 'probePassed', actions: ['countPass', 'logCountedResult'] },
          { actions: 'countFailure' },
        ],
        // Passive failures while dead (requests that were already under way) only break a run of passes.
        'upstream.connect-failed': { actions: 'countFailure' },
        'upstream.misbehaved': { actions: 'countFailure' },
      },
      after: {
        backOff: { guard: 'recoversByBackOff', target: 'healthy', actions: 'recordBackOffExpiry' },
      },
    },
  },
});
