/**
 * The upstream actor, driven alone: scripted passive failures and probe
 * results in, `upstream.health-changed` messages out to recording mailboxes,
 * time on a SimulatedClock.
 */
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { startActor } from '../../src/actors/inspection.js';
import { MailboxRouter } from '../../src/actors/router.js';
import { DEFAULT_BACK_OFF, upstreamMachine, type Recovery } from '../../src/actors/upstream.js';
import { DEFAULT_HEALTH_THRESHOLDS, type HealthThresholds } from '../../src/config/config.js';
import { log } from '../../src/log.js';
import type {
  Address,
  HealthProbeResult,
  RoutedMessage,
  UpstreamConnectFailed,
  UpstreamHealthChanged,
  UpstreamMisbehaved,
  UpstreamTarget,
} from '../../src/protocol/index.js';

log.configure('silent', 'p');

const TARGET: UpstreamTarget = { id: '127.0.0.1:9001', host: '127.0.0.1', port: 9001, weight: 1 };
const BALANCER: Address = 'p/balancer';
const ACTIVE: Recovery = { mode: 'active-checks' };
const QUICK_BACK_OFF: Recovery = { mode: 'back-off', initialMs: 100, maxMs: 1_000 };

const connectFailed = (reason = 'ECONNREFUSED'): UpstreamConnectFailed => ({
  type: 'upstream.connect-failed',
  upstreamId: TARGET.id,
  reason,
});

const probe = (passed: boolean, detail = passed ? 'status 200' : 'status 500'): HealthProbeResult => ({
  type: 'health.probe-result',
  upstreamId: TARGET.id,
  passed,
  detail,
});

/** An upstream actor with one subscriber (the balancer), whose initial subscribe reply is already consumed. */
function startUpstream(recovery: Recovery, thresholds: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS) {
  const clock = new SimulatedClock();
  const router = new MailboxRouter('p');
  const inbox: RoutedMessage[] = [];
  router.register('balancer', { send: (message: RoutedMessage) => inbox.push(message) });
  const actor = startActor(upstreamMachine, { input: { upstream: TARGET, router, recovery, thresholds }, clock });
  actor.send({ type: 'upstream.subscribe', replyTo: BALANCER });
  const initial = inbox.splice(0);
  /** The health changes received since the last call. */
  const changes = (): UpstreamHealthChanged[] =>
    inbox.splice(0).map((message) => {
      if (message.type !== 'upstream.health-changed') throw new Error(`unexpected ${message.type}`);
      return message;
    });
  /** Kill the upstream by a passive failure, check it announced the death and take that announcement out. */
  const kill = (): void => {
    const before = inbox.length;
    actor.send(connectFailed());
    const announced = inbox.splice(before);
    const death = announced[0];
    if (announced.length !== 1 || death?.type !== 'upstream.health-changed' || death.healthy) {
      throw new Error('upstream did not die');
    }
  };
  return { clock, router, actor, initial, changes, kill };
}

test('subscribe is answered at once with the current health', (t) => {
  const { initial, actor } = startUpstream(ACTIVE);
  t.deepEqual(initial, [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: true, reason: 'configured' },
  ]);
  t.true(actor.getSnapshot().matches('healthy'));
});

test('a subscriber that arrives while the upstream is dead is told it is dead', (t) => {
  const { actor, router } = startUpstream(ACTIVE);
  actor.send(connectFailed('ECONNREFUSED'));
  const late: RoutedMessage[] = [];
  router.register('late', { send: (message: RoutedMessage) => late.push(message) });
  actor.send({ type: 'upstream.subscribe', replyTo: 'p/late' });
  t.deepEqual(late, [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: false, reason: 'connect failed: ECONNREFUSED' },
  ]);
});

test('three connect failures in a row announce exactly one death', (t) => {
  const { actor, changes } = startUpstream(ACTIVE);
  actor.send(connectFailed('ECONNREFUSED'));
  actor.send(connectFailed('ECONNREFUSED'));
  actor.send(connectFailed('UND_ERR_CONNECT_TIMEOUT'));
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: false, reason: 'connect failed: ECONNREFUSED' },
  ]);
  t.true(actor.getSnapshot().matches('dead'));
});

test('a passing probe brings a dead upstream back, announced once', (t) => {
  const { actor, changes, kill } = startUpstream(ACTIVE);
  kill();
  actor.send(probe(true));
  actor.send(probe(true));
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: true, reason: 'health check passed: status 200' },
  ]);
  t.true(actor.getSnapshot().matches('healthy'));
});

test('a failing probe kills a healthy upstream; further failures are not re-announced', (t) => {
  const { actor, changes } = startUpstream(ACTIVE);
  actor.send(probe(true));
  t.deepEqual(changes(), [], 'a passing probe of a healthy upstream changes nothing');
  actor.send(probe(false, 'no answer within 800 ms'));
  actor.send(probe(false, 'ECONNREFUSED'));
  t.deepEqual(changes(), [
    {
      type: 'upstream.health-changed',
      upstreamId: TARGET.id,
      healthy: false,
      reason: 'health check failed: no answer within 800 ms',
    },
  ]);
});

test('with active checks, a dead upstream does not come back by time alone', (t) => {
  const { clock, actor, changes, kill } = startUpstream(ACTIVE);
  kill();
  // Past 2^31 ms, the longest a Node timer waits, too.
  for (let hour = 0; hour < 30 * 24; hour++) clock.increment(60 * 60 * 1000);
  t.deepEqual(changes(), []);
  t.true(actor.getSnapshot().matches('dead'));
  actor.send(probe(true));
  t.is(changes().length, 1, 'only a probe revives it');
});

test('with back-off recovery, a dead upstream is tried again after the initial back-off', (t) => {
  const { clock, actor, changes, kill } = startUpstream(DEFAULT_BACK_OFF);
  if (DEFAULT_BACK_OFF.mode !== 'back-off') return t.fail('DEFAULT_BACK_OFF is a back-off');
  kill();
  clock.increment(DEFAULT_BACK_OFF.initialMs - 1);
  t.deepEqual(changes(), [], 'still dead just before the back-off ends');
  clock.increment(1);
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: true, reason: 'back-off expired; trying it again' },
  ]);
  t.true(actor.getSnapshot().matches('healthy'));
});

test('the back-off doubles with each death in a row, up to the maximum', (t) => {
  const { clock, changes, kill } = startUpstream(QUICK_BACK_OFF);
  const observed: number[] = [];
  for (let death = 0; death < 6; death++) {
    kill();
    let waited = 0;
    while (changes().length === 0) {
      clock.increment(10);
      waited += 10;
      if (waited > 10_000) return t.fail('never came back');
    }
    observed.push(waited);
  }
  t.deepEqual(observed, [100, 200, 400, 800, 1_000, 1_000]);
});

test('failures reported while dead neither re-announce the death nor postpone the retry', (t) => {
  const { clock, actor, changes, kill } = startUpstream(QUICK_BACK_OFF);
  kill();
  clock.increment(60);
  actor.send(connectFailed());
  actor.send(connectFailed());
  clock.increment(39);
  t.deepEqual(changes(), []);
  clock.increment(1);
  t.deepEqual(
    changes().map((change) => change.healthy),
    [true],
  );
});

test('past deaths are forgotten once the upstream stays healthy for the maximum back-off', (t) => {
  const { clock, changes, kill } = startUpstream(QUICK_BACK_OFF);
  kill();
  clock.increment(100);
  kill();
  clock.increment(200);
  t.is(changes().length, 2, 'came back twice');
  clock.increment(1_000);
  kill();
  clock.increment(99);
  t.deepEqual(changes(), []);
  clock.increment(1);
  t.deepEqual(
    changes().map((change) => change.healthy),
    [true],
    'back to the initial back-off',
  );
});

test('a healthy spell shorter than the maximum back-off keeps the count of deaths', (t) => {
  const { clock, changes, kill } = startUpstream(QUICK_BACK_OFF);
  kill();
  clock.increment(100);
  kill();
  clock.increment(200);
  changes();
  clock.increment(999);
  kill();
  clock.increment(399);
  t.deepEqual(changes(), [], 'third death in a row: 400 ms');
  clock.increment(1);
  t.is(changes().length, 1);
});

test('a passing probe revives an upstream before its back-off ends', (t) => {
  const { clock, actor, changes, kill } = startUpstream(QUICK_BACK_OFF);
  kill();
  clock.increment(50);
  actor.send(probe(true));
  t.deepEqual(
    changes().map((change) => change.healthy),
    [true],
  );
  clock.increment(1_000);
  t.deepEqual(changes(), [], 'the cancelled back-off does not fire later');
});

test('a duplicate subscribe is answered but the subscriber is notified once per change', (t) => {
  const { actor, changes } = startUpstream(ACTIVE);
  actor.send({ type: 'upstream.subscribe', replyTo: BALANCER });
  t.deepEqual(
    changes().map((change) => change.healthy),
    [true],
    'the repeated subscribe gets its reply',
  );
  actor.send(connectFailed());
  t.is(changes().length, 1);
});

test('every subscriber hears every change', (t) => {
  const { actor, router, changes } = startUpstream(ACTIVE);
  const worker: RoutedMessage[] = [];
  router.connectNode('w1', { send: (envelope) => worker.push(envelope.message) });
  actor.send({ type: 'upstream.subscribe', replyTo: 'w1/balancer' });
  actor.send(connectFailed());
  actor.send(probe(true));
  t.deepEqual(
    changes().map((change) => change.healthy),
    [false, true],
  );
  t.deepEqual(
    worker.map((message) => message.type === 'upstream.health-changed' && message.healthy),
    [true, false, true],
  );
});

test('misbehaviour (garbage instead of HTTP) kills a healthy upstream like a failed connect', (t) => {
  const { actor, changes } = startUpstream(ACTIVE);
  actor.send({ type: 'upstream.misbehaved', upstreamId: TARGET.id, reason: 'HPE_INVALID_CONSTANT: Expected HTTP/' });
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: false, reason: 'misbehaved: HPE_INVALID_CONSTANT: Expected HTTP/' },
  ]);
  actor.send({ type: 'upstream.misbehaved', upstreamId: TARGET.id, reason: 'again' });
  t.deepEqual(changes(), [], 'not re-announced while dead');
  actor.send(probe(true));
  t.true(actor.getSnapshot().matches('healthy'));
});

// Rise/fall thresholds (HAProxy's `rise 2 fall 3`) ------------------------------

const RISE_2_FALL_3: HealthThresholds = { rise: 2, fall: 3 };

const misbehaved = (): UpstreamMisbehaved => ({ type: 'upstream.misbehaved', upstreamId: TARGET.id, reason: 'HPE_INVALID_CONSTANT' });

test('fall 3: one flaky probe does not take the upstream out, nor two; the third in a row does, announced once', (t) => {
  const { actor, changes } = startUpstream(ACTIVE, RISE_2_FALL_3);
  actor.send(probe(false, 'status 500'));
  t.deepEqual(changes(), [], 'one failure');
  actor.send(probe(false, 'status 503'));
  t.deepEqual(changes(), [], 'two failures');
  t.true(actor.getSnapshot().matches('healthy'));
  actor.send(probe(false, 'no answer within 800 ms'));
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: false, reason: 'health check failed: no answer within 800 ms' },
  ]);
  t.true(actor.getSnapshot().matches('dead'));
});

test('fall 3: a pass between failures starts the count again', (t) => {
  const { actor, changes } = startUpstream(ACTIVE, RISE_2_FALL_3);
  actor.send(probe(false));
  actor.send(probe(false));
  actor.send(probe(true));
  actor.send(probe(false));
  actor.send(probe(false));
  t.deepEqual(changes(), [], 'never three failures in a row');
  t.true(actor.getSnapshot().matches('healthy'));
  actor.send(probe(false));
  t.is(changes().length, 1, 'the third in a row takes it out');
});

test('fall 3: passive and active failures count in the same run', (t) => {
  const { actor, changes } = startUpstream(ACTIVE, RISE_2_FALL_3);
  actor.send(connectFailed('ECONNREFUSED'));
  actor.send(probe(false, 'status 500'));
  t.deepEqual(changes(), []);
  actor.send(misbehaved());
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: false, reason: 'misbehaved: HPE_INVALID_CONSTANT' },
  ]);
});

test('rise 2: one passing probe does not bring a dead upstream back; two in a row do, announced once', (t) => {
  const { actor, changes } = startUpstream(ACTIVE, RISE_2_FALL_3);
  for (let i = 0; i < 3; i++) actor.send(probe(false));
  t.is(changes().length, 1);
  actor.send(probe(true, 'status 204'));
  t.deepEqual(changes(), [], 'one pass');
  t.true(actor.getSnapshot().matches('dead'));
  actor.send(probe(true, 'status 200'));
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: true, reason: 'health check passed: status 200' },
  ]);
  t.true(actor.getSnapshot().matches('healthy'));
});

test('rise 2: a failure between passes starts the count again, and so does a passive failure', (t) => {
  const { actor, changes } = startUpstream(ACTIVE, RISE_2_FALL_3);
  for (let i = 0; i < 3; i++) actor.send(probe(false));
  changes();
  actor.send(probe(true));
  actor.send(probe(false));
  actor.send(probe(true));
  actor.send(connectFailed());
  actor.send(probe(true));
  t.deepEqual(changes(), [], 'never two passes in a row');
  t.true(actor.getSnapshot().matches('dead'));
  actor.send(probe(true));
  t.is(changes().length, 1);
});

test('rise 2 fall 3: after coming back, the failure count starts from zero', (t) => {
  const { actor, changes } = startUpstream(ACTIVE, RISE_2_FALL_3);
  actor.send(probe(false));
  actor.send(probe(false));
  actor.send(probe(false));
  actor.send(probe(true));
  actor.send(probe(true));
  t.is(changes().length, 2, 'died and came back');
  actor.send(probe(false));
  actor.send(probe(false));
  t.deepEqual(changes(), [], 'two failures after the revival are not three');
});

test('fall 3 without active checks: passive failures take it out at the third, and the back-off still brings it back alone', (t) => {
  const { clock, actor, changes } = startUpstream(QUICK_BACK_OFF, RISE_2_FALL_3);
  actor.send(connectFailed());
  actor.send(connectFailed());
  t.deepEqual(changes(), []);
  actor.send(connectFailed());
  t.is(changes().length, 1);
  clock.increment(99);
  t.deepEqual(changes(), []);
  clock.increment(1);
  t.deepEqual(changes(), [
    { type: 'upstream.health-changed', upstreamId: TARGET.id, healthy: true, reason: 'back-off expired; trying it again' },
  ]);
});
