/**
 * The balancer actor: one per process. It owns that process's candidates (one
 * per upstream: id, weight, health and the load figures the byte path keeps),
 * fed by the upstream actors it subscribes to, and the selection strategy,
 * which it rebuilds whenever membership, a weight or a health changes.
 *
 * Connection actors ask for an upstream on every request. That question is
 * answered by a synchronous read (`createChooser`) rather than a message
 * round-trip: it is the hottest decision in the system and a message pair would
 * cost two actor events (≈7 µs, measured) per request. Only this actor's
 * actions write the candidates' membership, weight and health; readers never do.
 */
import { setup } from 'xstate';
import type { Candidate, KeySource, RequestKeyOf, SelectionStrategy, UpstreamLoad, UpstreamLoads } from '../balancing/index.js';
import type { Address, BalancerEvent, UpstreamTarget } from '../protocol/index.js';
import { upstreamAddress } from '../protocol/index.js';
import type { MailboxRouter } from './router.js';

export interface BalancerInput {
  readonly address: Address;
  readonly router: MailboxRouter;
  /** The configured upstreams, in order. */
  readonly upstreams: readonly UpstreamTarget[];
  readonly strategy: SelectionStrategy;
  /** This process's load figures: each candidate reads its upstream's. */
  readonly loads: UpstreamLoads;
}

/** A candidate as its owner holds it: the strategy sees it read-only. */
class HeldCandidate implements Candidate {
  constructor(
    readonly id: string,
    public weight: number,
    public healthy: boolean,
    readonly load: UpstreamLoad,
  ) {}
}

interface BalancerContext extends BalancerInput {
  /** In configuration order; replaced (never edited in place) on a membership change. */
  candidates: HeldCandidate[];
}

/** A newly known upstream is taken as healthy until its actor's first report, which follows the subscription. */
function newCandidate(target: UpstreamTarget, loads: UpstreamLoads): HeldCandidate {
  return new HeldCandidate(target.id, target.weight, true, loads.of(target.id));
}

function subscribe(context: BalancerContext, upstreamId: string): void {
  context.router.send(upstreamAddress(upstreamId), { type: 'upstream.subscribe', replyTo: context.address });
}

/** A fresh array each time, so a strategy may keep what it was given. */
function rebuild(context: BalancerContext): void {
  context.strategy.rebuild(context.candidates.slice());
}

/**
 * The read side of the balancer, for connection actors: an upstream id for
 * this request, avoiding those it already tried. The key is computed only
 * for a strategy that reads it.
 */
export function createChooser(strategy: SelectionStrategy, keyOf: RequestKeyOf) {
  return (request: KeySource & { readonly tried: readonly string[] }): string | undefined =>
    strategy.pick(strategy.usesKey ? keyOf(request) : '', request.tried)?.id;
}

export const balancerMachine = setup({
  types: {
    context: {} as BalancerContext,
    events: {} as BalancerEvent,
    input: {} as BalancerInput,
  },
  actions: {
    subscribeToUpstreams: ({ context }) => {
      for (const candidate of context.candidates) subscribe(context, candidate.id);
    },
    rebuildStrategy: ({ context }) => rebuild(context),
    updateHealth: ({ context, event }) => {
      if (event.type !== 'upstream.health-changed') return;
      const candidate = context.candidates.find((held) => held.id === event.upstreamId);
      if (candidate === undefined || candidate.healthy === event.healthy) return;
      candidate.healthy = event.healthy;
      rebuild(context);
    },
    setUpstreams: ({ context, event }) => {
      if (event.type !== 'balancer.upstreams-set') return;
      const before = new Map(context.candidates.map((held) => [held.id, held]));
      const after: HeldCandidate[] = [];
      for (const target of event.upstreams) {
        if (after.some((held) => held.id === target.id)) continue; // listed twice: the first wins
        const known = before.get(target.id);
        if (known !== undefined) {
          known.weight = target.weight;
          after.push(known);
          before.delete(target.id);
        } else {
          after.push(newCandidate(target, context.loads));
        }
        // Every listed upstream, not just the new ones: a reload that changes the health policy restarts the
        // upstream actors, which then know no subscribers. Subscribing twice is harmless (one more report).
        subscribe(context, target.id);
      }
      // Attempts still under way to a removed upstream end on the figures they hold.
      for (const removed of before.keys()) context.loads.forget(removed);
      context.candidates = after;
      rebuild(context);
    },
  },
}).createMachine({
  id: 'balancer',
  context: ({ input }) => ({ ...input, candidates: input.upstreams.map((target) => newCandidate(target, input.loads)) }),
  initial: 'tracking',
  states: {
    tracking: {
      entry: ['rebuildStrategy', 'subscribeToUpstreams'],
      on: {
        'upstream.health-changed': { actions: 'updateHealth' },
        'balancer.upstreams-set': { actions: 'setUpstreams' },
      },
    },
  },
});
