/**
 * A process's lease holder: the memory store's local part. It owns the
 * process's LeaseBook (src/rate-limit/lease-book.ts), takes the rate
 * limiter's grants into it and, while it holds any (`holding`), gives back
 * leases past their end every 250 ms; the store
 * (src/rate-limit/leased-store.ts) spends their permits synchronously on
 * the request path, so a request with leases costs no message at all.
 */
import { setup } from 'xstate';
import type { LeaseHolderEvent } from '../protocol/index.js';
import type { LeaseBook } from '../rate-limit/lease-book.js';

export interface LeaseHolderInput {
  readonly book: LeaseBook;
  readonly now: () => number;
}

interface LeaseHolderContext {
  readonly book: LeaseBook;
  readonly now: () => number;
}

/** How often leases past their end are given back (a lease lives up to a second). */
export const LEASE_SWEEP_MS = 250;

export const leaseHolderMachine = setup({
  types: {
    context: {} as LeaseHolderContext,
    events: {} as LeaseHolderEvent,
    input: {} as LeaseHolderInput,
  },
  guards: {
    holdsNothing: ({ context }) => context.book.leases === 0,
  },
  actions: {
    takeGrants: ({ context, event }) => {
      if (event.type === 'rate-limit.lease-granted') context.book.grant(event.leases, context.now());
    },
    giveBackRecalled: ({ context, event }) => {
      if (event.type === 'rate-limit.lease-recall') context.book.recall(event.ids);
    },
    giveBackExpired: ({ context }) => {
      context.book.expire(context.now());
    },
  },
}).createMachine({
  id: 'rate-limit-leases',
  context: ({ input }) => ({ book: input.book, now: input.now }),
  initial: 'idle',
  states: {
    // No lease held: no timer (most processes, most of the time, with limiting off or clients below a lease's worth).
    idle: {
      on: {
        'rate-limit.lease-granted': { target: 'holding', actions: 'takeGrants' },
        'rate-limit.lease-recall': { actions: 'giveBackRecalled' },
      },
    },
    holding: {
      always: { guard: 'holdsNothing', target: 'idle' },
      on: {
        'rate-limit.lease-granted': { actions: 'takeGrants' },
        'rate-limit.lease-recall': { actions: 'giveBackRecalled' },
      },
      after: { [LEASE_SWEEP_MS]: { target: 'holding', reenter: true, actions: 'giveBackExpired' } },
    },
  },
});
