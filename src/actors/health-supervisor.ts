/**
 * The health supervisor: every interval, probes every upstream (live or dead)
 * at once and passes each result to that upstream's actor as it arrives.
 *
 *   probing ──all probes answered or timed out──▶ waiting ──interval since the round began──▶ probing
 *
 * Probes run in an invoked callback actor, so the supervisor never waits on
 * the network itself, and proxying never waits on a probe. The next round is
 * due one interval after the last one began, whatever the probes took.
 */
import { Agent } from 'undici';
import { fromCallback, setup } from 'xstate';
import { probeUpstream } from '../health/probe.js';
import type { HealthRoundFinished, HealthSupervisorEvent, UpstreamTarget } from '../protocol/index.js';
import { upstreamAddress } from '../protocol/index.js';
import type { MailboxRouter } from './router.js';

export interface ProbeRoundInput {
  readonly upstreams: readonly UpstreamTarget[];
  readonly path: string;
  readonly timeoutMs: number;
}

export interface HealthSupervisorInput extends ProbeRoundInput {
  readonly router: MailboxRouter;
  readonly intervalMs: number;
  /** The clock the delays run on (xstate's, or a SimulatedClock's in tests). */
  readonly now: () => number;
}

interface HealthSupervisorContext extends HealthSupervisorInput {
  readonly roundStartedAt: number;
}

/** A probe's timeout: shorter than the interval so a round always ends before the next is due. */
export function probeTimeoutMs(intervalMs: number): number {
  return Math.max(50, Math.min(5_000, Math.floor(intervalMs * 0.8)));
}

/** Probes all upstreams concurrently; each result is sent back as soon as it is known. */
export const probeRound = fromCallback<HealthSupervisorEvent, ProbeRoundInput>(({ input, sendBack }) => {
  const abort = new AbortController();
  // A fresh connection per probe: a check should exercise the upstream's accept path.
  const dispatcher = new Agent({ pipelining: 0, connect: { timeout: input.timeoutMs } });
  let outstanding = input.upstreams.length;
  const finished: HealthRoundFinished = { type: 'health.round-finished' };
  if (outstanding === 0) sendBack(finished);
  for (const upstream of input.upstreams) {
    void probeUpstream(upstream, input.path, input.timeoutMs, dispatcher, abort.signal).then((result) => {
      if (abort.signal.aborted) return;
      sendBack(result);
      if (--outstanding === 0) sendBack(finished);
    });
  }
  return () => {
    abort.abort();
    void dispatcher.destroy();
  };
});

export const healthSupervisorMachine = setup({
  types: {
    context: {} as HealthSupervisorContext,
    events: {} as HealthSupervisorEvent,
    input: {} as HealthSupervisorInput,
  },
  actors: { probeRound },
  actions: {
    startRound: ({ context }) => {
      (context as { roundStartedAt: number }).roundStartedAt = context.now();
    },
    reportToUpstream: ({ context, event }) => {
      if (event.type !== 'health.probe-result') return;
      context.router.send(upstreamAddress(event.upstreamId), event);
    },
  },
  delays: {
    untilNextRound: ({ context }) => Math.max(0, context.roundStartedAt + context.intervalMs - context.now()),
  },
}).createMachine({
  id: 'health-supervisor',
  context: ({ input }) => ({ ...input, roundStartedAt: 0 }),
  initial: 'probing',
  states: {
    probing: {
      entry: 'startRound',
      invoke: {
        src: 'probeRound',
        input: ({ context }) => ({ upstreams: context.upstreams, path: context.path, timeoutMs: context.timeoutMs }),
      },
      on: {
        'health.probe-result': { actions: 'reportToUpstream' },
        'health.round-finished': { target: 'waiting' },
      },
    },
    waiting: {
      after: { untilNextRound: { target: 'probing' } },
    },
  },
});
