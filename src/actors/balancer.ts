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
 *
 * Two policies apply to every strategy because they live here, in what the
 * candidates say, not in the strategies:
 * - panic (`--panic-threshold`): when fewer than that share of the upstreams
 *   are healthy, every candidate reads healthy, so the pick spreads over all
 *   of them instead of crushing the few left; a request's tried upstreams
 *   stay excluded, so a dead one's refused connect fails over as usual.
 * - slow start (`--slow-start`): an upstream added by a reload or back from
 *   dead reads a tenth of its weight at first, one tenth more at each of nine
 *   steps across the window. Weights are integers, so while slow start is on
 *   every candidate's weight reads ×10 (a ramping one 1..10 × its weight);
 *   every strategy compares weights only relative to each other.
 *   A timer runs only while some candidate ramps.
 * - drain (the admin API): a drained upstream (`draining` in its target) reads
 *   unhealthy to every strategy, panic or not, so it gets no new request in
 *   any process, while the attempts it has in flight finish; it does not
 *   count toward panic.
 */
import { setup } from 'xstate';
import type { Candidate, KeySource, RequestKeyOf, SelectionStrategy, UpstreamLoad, UpstreamLoads } from '../balancing/index.js';
import { log as processLog, type Logger } from '../log.js';
import type { Address, BalancerEvent, BalancerPolicy, UpstreamTarget } from '../protocol/index.js';
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
  /** Slow start and panic threshold; both off when not given. */
  readonly policy?: BalancerPolicy;
  /** Where panic mode is reported; the process log unless a test listens. */
  readonly log?: Pick<Logger, 'warn' | 'info'>;
}

/** While slow start is on, weights read ×STEPS so that a tenth of weight 1 is still a whole number. */
const STEPS = 10;
const NO_POLICY: BalancerPolicy = { slowStartMs: 0, panicThreshold: 0 };

/** A candidate as its owner holds it: the strategy sees it read-only (`weight`, `healthy`). */
class HeldCandidate implements Candidate {
  /** What strategies read, set by `present` from the fields below. */
  weight: number;
  healthy: boolean;
  /** Slow start: tenths of the weight it has now, 1..STEPS-1; 0 when not ramping. */
  ramp = 0;
  /** Drained through the admin API: reads unhealthy to strategies, whatever its health and panic say. */
  draining = false;

  constructor(
    readonly id: string,
    /** The configured weight. */
    public configuredWeight: number,
    /** As its upstream actor last reported. */
    public reportedHealthy: boolean,
    readonly load: UpstreamLoad,
  ) {
    this.weight = configuredWeight;
    this.healthy = reportedHealthy;
  }
}

interface BalancerContext extends Omit<BalancerInput, 'policy' | 'log'> {
  /** In configuration order; replaced (never edited in place) on a membership change. */
  candidates: HeldCandidate[];
  policy: BalancerPolicy;
  log: Pick<Logger, 'warn' | 'info'>;
  panicking: boolean;
}

/** A newly known upstream is taken as healthy until its actor's first report, which follows the subscription. */
function newCandidate(target: UpstreamTarget, loads: UpstreamLoads): HeldCandidate {
  const candidate = new HeldCandidate(target.id, target.weight, true, loads.of(target.id));
  candidate.draining = target.draining === true;
  return candidate;
}

function subscribe(context: BalancerContext, upstreamId: string): void {
  context.router.send(upstreamAddress(upstreamId), { type: 'upstream.subscribe', replyTo: context.address });
}

/** Slow start begins for this candidate (a no-op when slow start is off). */
function startRamp(context: BalancerContext, candidate: HeldCandidate): void {
  candidate.ramp = context.policy.slowStartMs > 0 ? 1 : 0;
}

/** Panic starts or ends on this membership and health: logged on each change. */
function updatePanic(context: BalancerContext): void {
  const { candidates, policy } = context;
  // Drained upstreams are out of the count both ways: draining one must not tip the rest into panic.
  let healthy = 0;
  let total = 0;
  for (const candidate of candidates) {
    if (candidate.draining) continue;
    total++;
    if (candidate.reportedHealthy) healthy++;
  }
  const panicking = policy.panicThreshold > 0 && total > 0 && healthy * 100 < policy.panicThreshold * total;
  if (panicking === context.panicking) return;
  context.panicking = panicking;
  const fields = { healthy, upstreams: total, threshold: policy.panicThreshold };
  if (panicking) context.log.warn(`panic mode: ${healthy} of ${total} upstreams healthy, balancing over all`, fields);
  else context.log.info(`panic mode over: ${healthy} of ${total} upstreams healthy`, fields);
}

/** What strategies read: effective weight and health, from the held figures and the two policies. */
function present(context: BalancerContext): void {
  const scale = context.policy.slowStartMs > 0 ? STEPS : 1;
  for (const candidate of context.candidates) {
    // A drained one gets no new request, even in panic; those in flight finish on their own.
    candidate.healthy = !candidate.draining && (candidate.reportedHealthy || context.panicking);
    candidate.weight = candidate.configuredWeight * (candidate.ramp > 0 ? candidate.ramp : scale);
  }
}

/** A fresh array each time, so a strategy may keep what it was given. */
function rebuild(context: BalancerContext): void {
  updatePanic(context);
  present(context);
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
  guards: {
    somebodyRamps: ({ context }) => context.candidates.some((candidate) => candidate.ramp > 0),
    nobodyRamps: ({ context }) => context.candidates.every((candidate) => candidate.ramp === 0),
  },
  delays: {
    /** Nine steps from a tenth to all of the weight; whole milliseconds, so steps do not drift. */
    rampStep: ({ context }) => Math.max(1, Math.round(context.policy.slowStartMs / (STEPS - 1))),
  },
  actions: {
    subscribeToUpstreams: ({ context }) => {
      for (const candidate of context.candidates) subscribe(context, candidate.id);
    },
    rebuildStrategy: ({ context }) => rebuild(context),
    updateHealth: ({ context, event }) => {
      if (event.type !== 'upstream.health-changed') return;
      const candidate = context.candidates.find((held) => held.id === event.upstreamId);
      if (candidate === undefined || candidate.reportedHealthy === event.healthy) return;
      candidate.reportedHealthy = event.healthy;
      if (event.healthy) startRamp(context, candidate);
      else candidate.ramp = 0;
      rebuild(context);
    },
    stepRamps: ({ context }) => {
      for (const candidate of context.candidates) {
        if (candidate.ramp === 0) continue;
        candidate.ramp = candidate.ramp + 1 >= STEPS ? 0 : candidate.ramp + 1;
      }
      rebuild(context);
    },
    setUpstreams: ({ context, event }) => {
      if (event.type !== 'balancer.upstreams-set') return;
      if (event.policy !== undefined) {
        context.policy = event.policy;
        // Slow start turned off: whoever ramps has its whole weight now.
        if (event.policy.slowStartMs === 0) for (const held of context.candidates) held.ramp = 0;
      }
      const before = new Map(context.candidates.map((held) => [held.id, held]));
      const after: HeldCandidate[] = [];
      for (const target of event.upstreams) {
        if (after.some((held) => held.id === target.id)) continue; // listed twice: the first wins
        const known = before.get(target.id);
        if (known !== undefined) {
          known.configuredWeight = target.weight;
          known.draining = target.draining === true;
          after.push(known);
          before.delete(target.id);
        } else {
          const added = newCandidate(target, context.loads);
          startRamp(context, added);
          after.push(added);
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
  context: ({ input }) => ({
    ...input,
    candidates: input.upstreams.map((target) => newCandidate(target, input.loads)),
    policy: input.policy ?? NO_POLICY,
    log: input.log ?? processLog,
    panicking: false,
  }),
  initial: 'tracking',
  states: {
    tracking: {
      entry: ['rebuildStrategy', 'subscribeToUpstreams'],
      on: {
        'upstream.health-changed': { actions: 'updateHealth' },
        'balancer.upstreams-set': { actions: 'setUpstreams' },
      },
      initial: 'steady',
      states: {
        /** Nobody ramps: no timer. */
        steady: {
          always: { guard: 'somebodyRamps', target: 'ramping' },
        },
        /** Some candidate ramps: a step every window / 9 for all of them, until none does. */
        ramping: {
          always: { guard: 'nobodyRamps', target: 'steady' },
          after: { rampStep: { target: 'ramping', reenter: true, actions: 'stepRamps' } },
        },
      },
    },
  },
});
