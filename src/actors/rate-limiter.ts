/**
 * The rate limiter: one per instance, in the primary, so a client's requests
 * are counted together whichever worker and connection they arrive on.
 * Answers each check with the pipeline's verdict (pass, or 429 with
 * Retry-After); forgets idle clients once a window.
 *
 * It runs whether limiting is on or not, so that a reload can turn limiting
 * on or off while checks are in flight: with no policy every check passes,
 * and no request ever waits on a limiter that is not there.
 */
import { setup } from 'xstate';
import type { RateLimiterEvent, RateLimitReconfigure } from '../protocol/index.js';
import { WindowCounter, type RateLimitPolicy } from '../rate-limit/window-counter.js';
import type { MailboxRouter } from './router.js';

export interface RateLimiterInput {
  /** null: limiting is off (every check passes). */
  readonly policy: RateLimitPolicy | null;
  readonly router: MailboxRouter;
  readonly now: () => number;
}

interface RateLimiterContext {
  readonly router: MailboxRouter;
  readonly now: () => number;
  /** Per-client counts, updated in place: it is this actor's own state and the check is the hot path. */
  readonly counter: WindowCounter;
  /** Limiting is on. While it is off every check passes and nothing is counted. */
  enabled: boolean;
  /** Checks answered while limiting is on, for /metrics: counted in place, like the windows. */
  readonly decisions: { admitted: number; denied: number };
}

/** How often idle clients are swept while limiting is off (nothing is counted then). */
const IDLE_SWEEP_MS = 60_000;

export const rateLimiterMachine = setup({
  types: {
    context: {} as RateLimiterContext,
    events: {} as RateLimiterEvent,
    input: {} as RateLimiterInput,
  },
  actions: {
    admitOrReject: ({ context, event }) => {
      if (event.type !== 'rate-limit.check') return;
      const admission = context.enabled ? context.counter.admit(event.clientIp, context.now()) : null;
      if (admission !== null) context.decisions[admission.allowed ? 'admitted' : 'denied']++;
      context.router.send(event.replyTo, {
        type: 'request.verdict',
        requestId: event.requestId,
        answer:
          admission === null || admission.allowed
            ? null
            : { outcome: 'rate-limited', headers: { 'retry-after': admission.retryAfterSeconds } },
      });
    },
    reconfigure: ({ context, event }) => {
      const { policy } = event as RateLimitReconfigure;
      context.enabled = policy !== null;
      if (policy !== null) context.counter.reconfigure(policy);
    },
    expireIdleClients: ({ context }) => {
      context.counter.expireIdle(context.now());
    },
  },
  delays: {
    sweepInterval: ({ context }) => (context.enabled ? context.counter.windowMs : IDLE_SWEEP_MS),
  },
}).createMachine({
  id: 'rate-limiter',
  context: ({ input }) => ({
    router: input.router,
    now: input.now,
    counter: new WindowCounter(input.policy ?? { algorithm: 'sliding-window', limit: 0, windowMs: IDLE_SWEEP_MS }),
    enabled: input.policy !== null,
    decisions: { admitted: 0, denied: 0 },
  }),
  initial: 'admitting',
  states: {
    admitting: {
      on: {
        'rate-limit.check': { actions: 'admitOrReject' },
        // Re-entered so the sweep is scheduled on the new window length.
        'rate-limit.reconfigure': { target: 'admitting', reenter: true, actions: 'reconfigure' },
      },
      after: { sweepInterval: { target: 'admitting', reenter: true, actions: 'expireIdleClients' } },
    },
  },
});
