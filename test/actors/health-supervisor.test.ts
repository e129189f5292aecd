/**
 * The health supervisor, driven alone: its probe round is replaced by a
 * scripted callback actor, results go to recording upstream mailboxes, time
 * runs on a SimulatedClock.
 */
import test from 'ava';
import fc from 'fast-check';
import { fromCallback, SimulatedClock } from 'xstate';
import { healthSupervisorMachine, probeTimeoutMs, type ProbeRoundInput } from '../../src/actors/health-supervisor.js';
import { startActor } from '../../src/actors/inspection.js';
import { localNameOf, MailboxRouter } from '../../src/actors/router.js';
import {
  upstreamAddress,
  type HealthProbeResult,
  type HealthSupervisorEvent,
  type RoutedMessage,
  type UpstreamTarget,
} from '../../src/protocol/index.js';

const A: UpstreamTarget = { id: '127.0.0.1:9001', host: '127.0.0.1', port: 9001, weight: 1 };
const B: UpstreamTarget = { id: '[::1]:9002', host: '::1', port: 9002, weight: 1 };
const INTERVAL_MS = 1_000;

/** One probe round as the scripted probe saw it. */
interface Round {
  readonly input: ProbeRoundInput;
  readonly startedAt: number;
  /** What the real probe would send back: a result or the end of the round. */
  readonly sendBack: (event: HealthSupervisorEvent) => void;
  stopped: boolean;
}

const result = (upstream: UpstreamTarget, status: number): HealthProbeResult => ({
  type: 'health.probe-result',
  upstreamId: upstream.id,
  passed: status >= 200 && status < 300,
  detail: `status ${status}`,
});

/**
 * A supervisor whose rounds are recorded and left open. With a `script`, round n
 * answers at once with `script[n]` and finishes; past the script, rounds stay open.
 */
function startSupervisor(upstreams: readonly UpstreamTarget[], script: readonly (readonly HealthProbeResult[])[] = []) {
  const clock = new SimulatedClock();
  const router = new MailboxRouter('p');
  const inboxes = new Map<string, RoutedMessage[]>();
  for (const upstream of upstreams) {
    const inbox: RoutedMessage[] = [];
    inboxes.set(upstream.id, inbox);
    router.register(localNameOf(upstreamAddress(upstream.id)), { send: (message: RoutedMessage) => inbox.push(message) });
  }
  const rounds: Round[] = [];
  const machine = healthSupervisorMachine.provide({
    actors: {
      probeRound: fromCallback<HealthSupervisorEvent, ProbeRoundInput>(({ input, sendBack }) => {
        const round: Round = { input, startedAt: clock.now(), sendBack, stopped: false };
        const scripted = script[rounds.length];
        rounds.push(round);
        if (scripted !== undefined) {
          for (const probeResult of scripted) sendBack(probeResult);
          sendBack({ type: 'health.round-finished' });
        }
        return () => {
          round.stopped = true;
        };
      }),
    },
  });
  const actor = startActor(machine, {
    input: {
      upstreams,
      path: '/healthz',
      intervalMs: INTERVAL_MS,
      timeoutMs: probeTimeoutMs(INTERVAL_MS),
      router,
      now: () => clock.now(),
    },
    clock,
  });
  const inbox = (upstream: UpstreamTarget): RoutedMessage[] => inboxes.get(upstream.id) ?? [];
  const finishRound = (round: Round | undefined): void => {
    if (round === undefined) throw new Error('no such round');
    round.sendBack({ type: 'health.round-finished' });
  };
  return { clock, actor, rounds, inbox, finishRound };
}

test('a round starts at once and probes every upstream with the configured path and timeout', (t) => {
  const { actor, rounds } = startSupervisor([A, B]);
  t.is(rounds.length, 1);
  t.deepEqual(rounds[0]?.input, { upstreams: [A, B], path: '/healthz', timeoutMs: probeTimeoutMs(INTERVAL_MS) });
  t.true(actor.getSnapshot().matches('probing'));
});

test('each result goes to its upstream’s actor as soon as it arrives', (t) => {
  const { rounds, inbox } = startSupervisor([A, B]);
  const round = rounds[0];
  if (round === undefined) return t.fail('no round');
  round.sendBack(result(B, 503));
  t.deepEqual(inbox(A), []);
  t.deepEqual(inbox(B), [result(B, 503)]);
  round.sendBack(result(A, 200));
  t.deepEqual(inbox(A), [result(A, 200)]);
});

test('an upstream answering 500 then 200 gets a failed then a passed result', (t) => {
  const { clock, inbox } = startSupervisor(
    [A, B],
    [
      [result(A, 500), result(B, 200)],
      [result(A, 200), result(B, 200)],
    ],
  );
  t.deepEqual(inbox(A), [result(A, 500)]);
  clock.increment(INTERVAL_MS);
  t.deepEqual(inbox(A), [result(A, 500), result(A, 200)]);
  t.deepEqual(
    inbox(A).map((message) => message.type === 'health.probe-result' && message.passed),
    [false, true],
  );
  t.is(inbox(B).length, 2);
});

test('the next round is due one interval after the previous one began, however long it took', (t) => {
  const { clock, actor, rounds, finishRound } = startSupervisor([A]);
  clock.increment(300);
  finishRound(rounds[0]);
  t.true(actor.getSnapshot().matches('waiting'));
  clock.increment(699);
  t.is(rounds.length, 1, 'nothing happens before the interval is up');
  clock.increment(1);
  t.is(rounds.length, 2);
  t.is(rounds[1]?.startedAt, INTERVAL_MS);

  clock.increment(950);
  finishRound(rounds[1]);
  clock.increment(49);
  t.is(rounds.length, 2);
  clock.increment(1);
  t.is(rounds.length, 3);
  t.is(rounds[2]?.startedAt, 2 * INTERVAL_MS);
});

test('no new round starts while one is still open', (t) => {
  const { clock, rounds } = startSupervisor([A]);
  clock.increment(10 * INTERVAL_MS);
  t.is(rounds.length, 1);
  t.false(rounds[0]?.stopped);
});

test('a round that overran the interval is followed by the next one without further wait', (t) => {
  const { clock, rounds, finishRound } = startSupervisor([A]);
  clock.increment(1_500);
  finishRound(rounds[0]);
  // The next round is due now: a zero delay, which a SimulatedClock runs when it is next moved.
  clock.increment(0);
  t.is(rounds.length, 2);
  t.is(rounds[1]?.startedAt, 1_500);
  clock.increment(INTERVAL_MS - 1);
  finishRound(rounds[1]);
  clock.increment(1);
  t.is(rounds.length, 3, 'the schedule continues from the late round');
});

test('a finished round’s probe is stopped, and so is an open one when the supervisor stops', (t) => {
  const { clock, actor, rounds, finishRound } = startSupervisor([A]);
  finishRound(rounds[0]);
  t.true(rounds[0]?.stopped);
  clock.increment(INTERVAL_MS);
  t.false(rounds[1]?.stopped);
  actor.stop();
  t.true(rounds[1]?.stopped);
  clock.increment(10 * INTERVAL_MS);
  t.is(rounds.length, 2);
});

test('probeTimeoutMs is shorter than any interval above 62.5 ms, and between 50 ms and 5 s', (t) => {
  t.is(probeTimeoutMs(1_000), 800);
  t.is(probeTimeoutMs(10_000), 5_000);
  fc.assert(
    fc.property(fc.integer({ min: 63, max: 24 * 60 * 60 * 1000 }), (intervalMs) => {
      const timeout = probeTimeoutMs(intervalMs);
      return timeout < intervalMs && timeout >= 50 && timeout <= 5_000;
    }),
  );
  t.is(probeTimeoutMs(1), 50, 'never a timeout too short to connect');
});
