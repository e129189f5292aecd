/**
 * The balancer actor: one per process. It keeps that process's view of which
 * upstreams are healthy, fed by the upstream actors it subscribes to, and owns
 * the selection strategy.
 *
 * Connection actors ask it for an upstream on every request. That question is
 * answered by a synchronous read (`chooseUpstream`) rather than a message
 * round-trip: it is the hottest decision in the system and a message pair would
 * cost two actor events (≈7 µs, measured) per request. Only this actor's
 * actions write the view; readers never do.
 */
import { setup } from 'xstate';
import { createStrategy, type BalanceAlgorithm, type UpstreamView } from '../balancing/index.js';
import type { Address, BalancerEvent, UpstreamTarget } from '../protocol/index.js';
import { upstreamAddress } from '../protocol/index.js';
import type { MailboxRouter } from './router.js';

export interface BalancerInput {
  readonly address: Address;
  readonly router: MailboxRouter;
  /** The shared view: one entry per configured upstream, written by this actor only. */
  readonly views: readonly UpstreamView[];
}

type BalancerContext = BalancerInput;

export function createUpstreamViews(upstreams: readonly UpstreamTarget[]): UpstreamView[] {
  return upstreams.map((target) => ({ target, healthy: true }));
}

/** The read side of the balancer, for connection actors. */
export function createChooser(views: readonly UpstreamView[], algorithm: BalanceAlgorithm) {
  const strategy = createStrategy(algorithm);
  return (exclude: readonly string[]): string | undefined => strategy.pick(views, exclude)?.target.id;
}

export const balancerMachine = setup({
  types: {
    context: {} as BalancerContext,
    events: {} as BalancerEvent,
    input: {} as BalancerInput,
  },
  actions: {
    subscribeToUpstreams: ({ context }) => {
      for (const view of context.views) {
        context.router.send(upstreamAddress(view.target.id), { type: 'upstream.subscribe', replyTo: context.address });
      }
    },
    updateView: ({ context, event }) => {
      const view = context.views.find((candidate) => candidate.target.id === event.upstreamId);
      if (view !== undefined) view.healthy = event.healthy;
    },
  },
}).createMachine({
  id: 'balancer',
  context: ({ input }) => input,
  initial: 'tracking',
  states: {
    tracking: {
      entry: 'subscribeToUpstreams',
      on: { 'upstream.health-changed': { actions: 'updateView' } },
    },
  },
});
