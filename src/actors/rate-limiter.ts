/**
 * The rate limiter: the memory store, one per instance, in the primary, so a
 * client's requests are counted together whichever worker and connection
 * they arrive on. Answers each check with the pipeline's verdict (pass, or
 * 429 with Retry-After and the RateLimit fields); counts failed logins for
 * brute-force protection; forgets expired keys periodically.
 *
 * It runs whether limiting is on or not, so that a reload can turn limiting
 * on while checks are in flight. Each check carries its limits, so a reload
 * needs no message here.
 */
import { setup } from 'xstate';
import { log } from '../log.js';
import type { RateLimiterEvent } from '../protocol/index.js';
import { LimitEngine } from '../rate-limit/limit-math.js';
import { verdictFor } from '../rate-limit/verdict.js';
import type { MailboxRouter } from './router.js';

export interface RateLimiterInput {
  readonly router: MailboxRouter;
  readonly now: () => number;
}

interface RateLimiterContext {
  readonly router: MailboxRouter;
  readonly now: () => number;
  /** Every key's state, updated in place: it is this actor's own state and the check is the hot path. */
  readonly engine: LimitEngine;
  /** Checks answered, for /metrics: counted in place, like the keys. */
  readonly decisions: { admitted: number; denied: number };
}

/** How often expired keys are swept (each key also expires when next touched). */
export const SWEEP_INTERVAL_MS = 10_000;

export const rateLimiterMachine = setup({
  types: {
    context: {} as RateLimiterContext,
    events: {} as RateLimiterEvent,
    input: {} as RateLimiterInput,
  },
  actions: {
    admitOrReject: ({ context, event }) => {
      if (event.type !== 'rate-limit.check') return;
      const decision = context.engine.decide(event.checks, context.now());
      if (event.checks.length > 0) context.decisions[decision.allowed ? 'admitted' : 'denied']++;
      context.router.send(event.replyTo, verdictFor(event.requestId, event.checks, decision, event.headersWhenAllowed));
    },
    countLoginFailure: ({ context, event }) => {
      if (event.type !== 'rate-limit.login-failed') return;
      const lockoutMs = context.engine.recordFailure(event.key, event.policy, context.now());
      if (lockoutMs > 0) log.warn('client locked out', { client: event.key, lockoutMs, reason: 'failed logins' });
    },
    expireIdleKeys: ({ context }) => {
      context.engine.expireIdle(context.now());
    },
  },
}).createMachine({
  id: 'rate-limiter',
  context: ({ input }) => ({ router: input.router, now: input.now, engine: new LimitEngine(), decisions: { admitted: 0, denied: 0 } }),
  initial: 'admitting',
  states: {
    admitting: {
      on: {
        'rate-limit.check': { actions: 'admitOrReject' },
        'rate-limit.login-failed': { actions: 'countLoginFailure' },
      },
      after: { [SWEEP_INTERVAL_MS]: { target: 'admitting', reenter: true, actions: 'expireIdleKeys' } },
    },
  },
});
