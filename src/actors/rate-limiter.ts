/**
 * The rate limiter: one per instance, in the primary, so a client's requests
 * are counted together whichever worker and connection they arrive on.
 * Answers each check with the pipeline's verdict (pass, or 429 with
 * Retry-After); forgets idle clients once a window.
 */
import { setup } from 'xstate';
import type { RateLimiterEvent } from '../protocol/index.js';
import { WindowCounter, type RateLimitPolicy } from '../rate-limit/window-counter.js';
import type { MailboxRouter } from './router.js';

export interface RateLimiterInput {
  readonly policy: RateLimitPolicy;
  readonly router: MailboxRouter;
  readonly now: () => number;
}

interface RateLimiterContext {
  readonly policy: RateLimitPolicy;
  readonly router: MailboxRouter;
  readonly now: () => number;
  /** Per-client counts, updated in place: it is this actor's own state and the check is the hot path. */
  readonly counter: WindowCounter;
}

export const rateLimiterMachine = setup({
  types: {
    context: {} as RateLimiterContext,
    events: {} as RateLimiterEvent,
    input: {} as RateLimiterInput,
  },
  actions: {
    admitOrReject: ({ context, event }) => {
      const admission = context.counter.admit(event.clientIp, context.now());
      context.router.send(event.replyTo, {
        type: 'request.verdict',
        requestId: event.requestId,
        answer: admission.allowed
          ? null
          : { outcome: 'rate-limited', headers: { 'retry-after': admission.retryAfterSeconds } },
      });
    },
    expireIdleClients: ({ context }) => {
      context.counter.expireIdle(context.now());
    },
  },
  delays: {
    sweepInterval: ({ context }) => context.policy.windowMs,
  },
}).createMachine({
  id: 'rate-limiter',
  context: ({ input }) => ({ ...input, counter: new WindowCounter(input.policy) }),
  initial: 'admitting',
  states: {
    admitting: {
      on: { 'rate-limit.check': { actions: 'admitOrReject' } },
      after: { sweepInterval: { target: 'admitting', reenter: true, actions: 'expireIdleClients' } },
    },
  },
});
