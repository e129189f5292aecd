/**
 * The rate limiter: the memory store, one per instance, in the primary, so a
 * client's requests are counted together whichever worker and connection
 * they arrive on. Answers each check with the pipeline's verdict (pass, or
 * 429 with Retry-After and the RateLimit fields); counts failed logins for
 * brute-force protection; forgets expired keys periodically.
 *
 * It also leases quota to each process's lease holder (the memory store's
 * local part, src/rate-limit/lease-book.ts): permits counted here as
 * admitted at the grant and spent there without a message per request
 * (src/rate-limit/lease-ledger.ts keeps the records). A request whose limits
 * have no lease, a lock-out check, and every request once a limit's room is
 * too small to share, is decided here, one by one.
 *
 * It runs whether limiting is on or not, so that a reload can turn limiting
 * on while checks are in flight. Each check carries its limits, so a reload
 * needs no message here.
 */
import { setup } from 'xstate';
import { log } from '../log.js';
import type { RateLimitCheck, RateLimiterEvent } from '../protocol/index.js';
import { LeaseLedger } from '../rate-limit/lease-ledger.js';
import { LimitEngine } from '../rate-limit/limit-math.js';
import { verdictFor } from '../rate-limit/verdict.js';
import type { MailboxRouter } from './router.js';

export interface RateLimiterInput {
  readonly router: MailboxRouter;
  readonly now: () => number;
  /** How many processes hold leases (the workers, or 1): each lease takes at most 1 / (2 × this) of a limit's room. */
  readonly holders?: number;
}

interface RateLimiterContext {
  readonly router: MailboxRouter;
  readonly now: () => number;
  /** Every key's state, updated in place: it is this actor's own state and the check is the hot path. */
  readonly engine: LimitEngine;
  readonly leases: LeaseLedger;
  /** Checks about to be refused, waiting for the leases out on their limits to come back (`rate-limit.lease-recall`). */
  readonly held: HeldCheck[];
  /** Checks answered here, for /metrics (requests admitted on a lease are counted where they were): counted in place, like the keys. */
  readonly decisions: { admitted: number; denied: number };
}

/** How often expired keys are swept (each key also expires when next touched). */
export const SWEEP_INTERVAL_MS = 10_000;

interface HeldCheck {
  readonly check: RateLimitCheck;
  /** The recalled leases not yet back. */
  readonly waiting: Set<number>;
}

/**
 * Decide one request and answer it (and its holder's ask for leases). A refusal while leases of
 * its limits are out is held instead, those leases recalled, and decided again once they are back
 * (`mayRecall` false then: the second answer stands).
 */
function answerCheck(context: RateLimiterContext, check: RateLimitCheck, mayRecall: boolean): void {
  const now = context.now();
  const decision = context.engine.decide(check.checks, now);
  if (!decision.allowed && mayRecall) {
    const recalls = context.leases.recallsFor(check.checks, decision);
    if (recalls.size > 0) {
      const waiting = new Set<number>();
      for (const [holder, ids] of recalls) {
        for (const id of ids) waiting.add(id);
        context.router.send(holder, { type: 'rate-limit.lease-recall', ids });
      }
      context.held.push({ check, waiting });
      return;
    }
  }
  if (check.checks.length > 0) context.decisions[decision.allowed ? 'admitted' : 'denied']++;
  context.router.send(check.replyTo, verdictFor(check.requestId, check.checks, decision, check.headersWhenAllowed));
  if (check.leaseFor === undefined) return;
  // Its ask is answered either way, so that the holder can ask again.
  const leases = decision.allowed ? context.leases.grant(check.checks, check.leaseFor, now) : LeaseLedger.refusals(check.checks);
  context.router.send(check.leaseFor, { type: 'rate-limit.lease-granted', leases });
}

/** Held checks whose recalled leases are all back (or forgotten with their holder) are decided again. */
function releaseHeld(context: RateLimiterContext): void {
  const held = context.held;
  for (let i = 0; i < held.length; ) {
    const entry = held[i] as HeldCheck;
    for (const id of entry.waiting) if (!context.leases.has(id)) entry.waiting.delete(id);
    if (entry.waiting.size > 0) {
      i++;
      continue;
    }
    held.splice(i, 1);
    answerCheck(context, entry.check, false);
  }
}

export const rateLimiterMachine = setup({
  types: {
    context: {} as RateLimiterContext,
    events: {} as RateLimiterEvent,
    input: {} as RateLimiterInput,
  },
  actions: {
    admitOrReject: ({ context, event }) => {
      if (event.type !== 'rate-limit.check') return;
      answerCheck(context, event, true);
    },
    grantLeases: ({ context, event }) => {
      if (event.type !== 'rate-limit.lease-wanted') return;
      context.router.send(event.leaseFor, { type: 'rate-limit.lease-granted', leases: context.leases.grant(event.checks, event.leaseFor, context.now()) });
    },
    takeBackLease: ({ context, event }) => {
      if (event.type !== 'rate-limit.lease-ended') return;
      context.leases.ended(event.id, event.unused, context.now());
      if (context.held.length > 0) releaseHeld(context);
    },
    forgetHolder: ({ context, event }) => {
      if (event.type !== 'rate-limit.holder-gone') return;
      const forgotten = context.leases.holderGone(event.node);
      if (forgotten > 0) log.info('rate-limit leases of a gone worker counted as spent', { worker: event.node, leases: forgotten });
      if (context.held.length > 0) releaseHeld(context);
    },
    countLoginFailure: ({ context, event }) => {
      if (event.type !== 'rate-limit.login-failed') return;
      const lockoutMs = context.engine.recordFailure(event.key, event.policy, context.now());
      if (lockoutMs > 0) log.warn('client locked out', { client: event.key, lockoutMs, reason: 'failed logins' });
    },
    expireIdleKeys: ({ context }) => {
      const now = context.now();
      context.engine.expireIdle(now);
      context.leases.expire(now);
      if (context.held.length > 0) releaseHeld(context);
    },
  },
}).createMachine({
  id: 'rate-limiter',
  context: ({ input }) => {
    const engine = new LimitEngine();
    return { router: input.router, now: input.now, engine, leases: new LeaseLedger(engine, 2 * (input.holders ?? 1)), held: [], decisions: { admitted: 0, denied: 0 } };
  },
  initial: 'admitting',
  states: {
    admitting: {
      on: {
        'rate-limit.check': { actions: 'admitOrReject' },
        'rate-limit.login-failed': { actions: 'countLoginFailure' },
        'rate-limit.lease-wanted': { actions: 'grantLeases' },
        'rate-limit.lease-ended': { actions: 'takeBackLease' },
        'rate-limit.holder-gone': { actions: 'forgetHolder' },
      },
      after: { [SWEEP_INTERVAL_MS]: { target: 'admitting', reenter: true, actions: 'expireIdleKeys' } },
    },
  },
});
