/** startActor and the inspection stream every actor shares. */
import test from 'ava';
import { SimulatedClock, type InspectionEvent } from 'xstate';
import { observeActors, startActor } from '../../src/actors/inspection.js';
import { rateLimiterMachine } from '../../src/actors/rate-limiter.js';
import { MailboxRouter } from '../../src/actors/router.js';
import type { RateLimitPolicy } from '../../src/rate-limit/window-counter.js';

const POLICY: RateLimitPolicy = { algorithm: 'fixed-window', limit: 1, windowMs: 1_000 };

function startLimiter(clock: SimulatedClock) {
  return startActor(rateLimiterMachine, { input: { policy: POLICY, router: new MailboxRouter('p'), now: () => clock.now() }, clock });
}

test.serial('observers see the events of actors started while they observe, and nothing after unsubscribing', (t) => {
  const clock = new SimulatedClock();
  const unobserved = startLimiter(clock);
  const seen: InspectionEvent[] = [];
  const stop = observeActors((event) => seen.push(event));
  const observed = startLimiter(clock);
  t.true(seen.length > 0, 'the start itself is observed');
  seen.length = 0;
  observed.send({ type: 'rate-limit.check', requestId: 1, clientIp: '10.0.0.1', replyTo: 'p/conn/a' });
  t.true(seen.some((event) => event.type === '@xstate.event' && event.event.type === 'rate-limit.check'));
  seen.length = 0;
  unobserved.send({ type: 'rate-limit.check', requestId: 2, clientIp: '10.0.0.1', replyTo: 'p/conn/a' });
  t.deepEqual(seen, [], 'an actor started unobserved carries no inspection hook');
  stop();
  observed.send({ type: 'rate-limit.check', requestId: 3, clientIp: '10.0.0.1', replyTo: 'p/conn/a' });
  t.deepEqual(seen, []);
});

test.serial('startActor starts the actor on the clock it is given', (t) => {
  const clock = new SimulatedClock();
  const actor = startLimiter(clock);
  t.is(actor.getSnapshot().status, 'active');
  actor.send({ type: 'rate-limit.check', requestId: 1, clientIp: '10.0.0.1', replyTo: 'p/conn/a' });
  t.is(actor.getSnapshot().context.counter.trackedClients, 1);
  clock.increment(POLICY.windowMs);
  t.is(actor.getSnapshot().context.counter.trackedClients, 1);
  clock.increment(POLICY.windowMs);
  t.is(actor.getSnapshot().context.counter.trackedClients, 0, 'the sweep ran on simulated time');
});
