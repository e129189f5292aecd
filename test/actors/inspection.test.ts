/**
 * startActor and the inspection stream: attached and detached while actors
 * run, scoped to a kind or one actor, carrying plain data that crosses the
 * router; and the state counts read from the live actors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { SimulatedClock } from 'xstate';
import { clientLeft, connectionMachine, ledgerOf, type ConnectionPorts } from '../../src/actors/connection.js';
import {
  attachInspection,
  countActorStates,
  listLiveActors,
  routeRecordsTo,
  startActor,
  type AttachOptions,
} from '../../src/actors/inspection.js';
import { rateLimiterMachine, SWEEP_INTERVAL_MS } from '../../src/actors/rate-limiter.js';
import { localNameOf, MailboxRouter, type Envelope } from '../../src/actors/router.js';
import type { Address, InspectionRecord, RateLimitCheck, RateLimitSettings } from '../../src/protocol/index.js';
import { Exchange, type UpstreamResponse } from '../../src/proxy/exchange.js';

const POLICY: RateLimitSettings = { algorithm: 'fixed-window', limit: 1, windowMs: 1_000 };
const TIME = 1_700_000_000_000;

let checks = 0;
const check = (): RateLimitCheck => ({
  type: 'rate-limit.check',
  requestId: ++checks,
  checks: [{ rule: 'default', key: '10.0.0.1', limit: POLICY }],
  headersWhenAllowed: false,
  replyTo: 'p/conn/a',
});

/** A rate limiter registered in `router` under `id`, as the primary's services start one. */
function startLimiter(t: ExecutionContext, router: MailboxRouter, id: Address, clock = new SimulatedClock()) {
  const actor = startActor(rateLimiterMachine, { id, input: { router, now: () => clock.now() }, clock });
  router.register(localNameOf(id), actor);
  t.teardown(() => {
    actor.stop();
    router.unregister(id);
  });
  return actor;
}

/** A stream whose records land in an array. */
function collect(t: ExecutionContext, router: MailboxRouter, options: Partial<AttachOptions> = {}) {
  const records: InspectionRecord[] = [];
  const detach = attachInspection(router, { now: () => TIME, ...options, sink: { send: (record) => records.push(record) } });
  t.teardown(detach);
  return { records, detach };
}

const eventsOf = (records: readonly InspectionRecord[], actor: string): string[] =>
  records.filter((record) => record.actor === actor).map((record) => record.event);

test.serial('a stream attached after actors started sees their next events', (t) => {
  const router = new MailboxRouter('p');
  const limiter = startLimiter(t, router, 'p/rate-limiter-1');
  limiter.send(check()); // before anyone listens
  const { records } = collect(t, router);
  t.deepEqual(records, [], 'attaching replays nothing');
  limiter.send(check());
  t.deepEqual(records, [
    {
      type: 'inspection.record',
      time: TIME,
      node: 'p',
      actor: 'p/rate-limiter-1',
      kind: 'rate-limiter',
      event: 'rate-limit.check',
      state: 'admitting',
      status: 'active',
    },
  ]);
});

test.serial('after detaching, a stream sees nothing', (t) => {
  const router = new MailboxRouter('p');
  const limiter = startLimiter(t, router, 'p/rate-limiter-2');
  const { records, detach } = collect(t, router);
  limiter.send(check());
  t.is(records.length, 1);
  detach();
  limiter.send(check());
  startLimiter(t, router, 'p/rate-limiter-3').send(check());
  t.is(records.length, 1, 'nothing from a running actor nor from one started after');
});

test.serial('actors started after attaching are seen from their start', (t) => {
  const router = new MailboxRouter('p');
  const { records } = collect(t, router);
  const limiter = startLimiter(t, router, 'p/rate-limiter-4');
  limiter.send(check());
  t.deepEqual(eventsOf(records, 'p/rate-limiter-4'), ['xstate.init', 'rate-limit.check']);
  limiter.stop();
  t.deepEqual(eventsOf(records, 'p/rate-limiter-4'), ['xstate.init', 'rate-limit.check', 'xstate.stop']);
  t.is(records.at(-1)?.status, 'stopped');
});

test.serial('a stream scoped to one actor id sees only that actor, running or started later', (t) => {
  const router = new MailboxRouter('p');
  const other = startLimiter(t, router, 'p/rate-limiter-5');
  const watched = startLimiter(t, router, 'p/rate-limiter-6');
  const { records } = collect(t, router, { scope: { watch: 'actor', actor: 'p/rate-limiter-6' } });
  other.send(check());
  watched.send(check());
  startLimiter(t, router, 'p/rate-limiter-7').send(check());
  t.deepEqual(
    records.map((record) => `${record.actor} ${record.event}`),
    ['p/rate-limiter-6 rate-limit.check'],
  );
});

test.serial('a stream scoped to one kind sees only actors of that kind', (t) => {
  const router = new MailboxRouter('p');
  const limiter = startLimiter(t, router, 'p/rate-limiter-8');
  const running = startScriptedConnection(t, router, 'p/conn/kind-1');
  const { records } = collect(t, router, { scope: { watch: 'kind', kind: 'connection' } });
  limiter.send(check());
  running.request();
  const connection = startScriptedConnection(t, router, 'p/conn/kind-2');
  connection.actor.send({ type: 'client.disconnected' });
  t.deepEqual([...new Set(records.map((record) => `${record.kind} ${record.actor}`))], ['connection p/conn/kind-1', 'connection p/conn/kind-2']);
});

test.serial('records survive structuredClone and a JSON round trip', (t) => {
  const router = new MailboxRouter('p');
  const { records } = collect(t, router, { projectContext: (kind) => (kind === 'connection' ? { note: 'projected', n: 1 } : undefined) });
  const connection = startScriptedConnection(t, router, 'p/conn/clone');
  connection.request();
  connection.actor.send({ type: 'client.disconnected' });
  t.true(records.length >= 3);
  t.deepEqual(structuredClone(records), records);
  t.deepEqual(JSON.parse(JSON.stringify(records)), records);
  t.deepEqual(records[0]?.context, { note: 'projected', n: 1 });
});

test.serial("a scripted connection actor's records carry its kind and state", (t) => {
  const router = new MailboxRouter('p');
  const connection = startScriptedConnection(t, router, 'p/conn/scripted');
  const { records } = collect(t, router, { scope: { watch: 'actor', actor: 'p/conn/scripted' } });
  connection.request();
  connection.actor.send({ type: 'client.disconnected' });
  t.deepEqual(
    records.map(({ actor, kind, event, state, status }) => ({ actor, kind, event, state, status })),
    [
      // The response is relayed and its end recorded without an event of their own.
      { actor: 'p/conn/scripted', kind: 'connection', event: 'request.received', state: 'open', status: 'active' },
      { actor: 'p/conn/scripted', kind: 'connection', event: 'client.disconnected', state: 'closed', status: 'done' },
    ],
  );
});

test.serial('a connection whose client leaves with nothing in flight ends with xstate.stop, watched among others', (t) => {
  const router = new MailboxRouter('p');
  const others = [startScriptedConnection(t, router, 'p/conn/among-1'), startScriptedConnection(t, router, 'p/conn/among-3')];
  const watched = startScriptedConnection(t, router, 'p/conn/among-2');
  const { records } = collect(t, router, { scope: { watch: 'actor', actor: 'p/conn/among-2' } });
  for (const other of others) other.request();
  watched.request();
  clientLeft(watched.actor);
  for (const other of others) clientLeft(other.actor);
  t.deepEqual(
    records.map(({ actor, event, state, status }) => ({ actor, event, state, status })),
    [
      { actor: 'p/conn/among-2', event: 'request.received', state: 'open', status: 'active' },
      { actor: 'p/conn/among-2', event: 'xstate.stop', state: 'open', status: 'stopped' },
    ],
  );
  t.deepEqual(countActorStates(router, () => TIME).counts, {}, 'stopped actors are not counted');
});

test.serial("records cross the router: a worker's stream reaches a collector in the primary", (t) => {
  const primary = new MailboxRouter('p');
  const worker = new MailboxRouter('w1');
  // The IPC link, as node:cluster would carry it: a structured clone of the envelope.
  worker.connectUplink({ send: (envelope: Envelope) => primary.receive(structuredClone(envelope)) });
  const collected: InspectionRecord[] = [];
  const collector: Address = primary.register('inspection', { send: (record: InspectionRecord) => collected.push(record) });
  const detach = attachInspection(worker, { sink: routeRecordsTo(worker, collector), scope: { watch: 'actor', actor: 'w1/conn/far' } });
  t.teardown(detach);
  startScriptedConnection(t, worker, 'w1/conn/far').actor.send({ type: 'client.disconnected' });
  t.deepEqual(
    collected.map(({ node, actor, event, state }) => ({ node, actor, event, state })),
    [
      { node: 'w1', actor: 'w1/conn/far', event: 'xstate.init', state: 'open' },
      { node: 'w1', actor: 'w1/conn/far', event: 'client.disconnected', state: 'closed' },
    ],
  );
});

test.serial('state counts and the live list come from the running actors, and ended ones leave them', (t) => {
  const router = new MailboxRouter('p');
  router.register('lifecycle', { send: () => {} }); // a plain mailbox, not an actor: not counted
  startScriptedConnection(t, router, 'p/conn/count-1');
  const ending = startScriptedConnection(t, router, 'p/conn/count-2');
  const limiter = startLimiter(t, router, 'p/rate-limiter-9');
  const before = countActorStates(router, () => TIME);
  t.deepEqual(before, { type: 'inspection.state-counts', time: TIME, node: 'p', counts: { connection: { open: 2 }, 'rate-limiter': { admitting: 1 } } });
  // Ended, and (for the connection) still registered for a moment, as the listener does it: not counted.
  ending.actor.send({ type: 'client.disconnected' });
  limiter.stop();
  const after = countActorStates(router, () => TIME);
  t.deepEqual(after.counts, { connection: { open: 1 } });
  t.deepEqual(listLiveActors(router), [{ actor: 'p/conn/count-1', kind: 'connection', state: 'open' }]);
  t.deepEqual(structuredClone(after), after);
});

test.serial('startActor starts the actor on the clock it is given', (t) => {
  const clock = new SimulatedClock();
  const actor = startLimiter(t, new MailboxRouter('p'), 'p/rate-limiter-10', clock);
  t.is(actor.getSnapshot().status, 'active');
  actor.send(check());
  t.is(actor.getSnapshot().context.engine.trackedKeys, 1);
  clock.increment(SWEEP_INTERVAL_MS - 1);
  t.is(actor.getSnapshot().context.engine.trackedKeys, 1);
  clock.increment(1);
  t.is(actor.getSnapshot().context.engine.trackedKeys, 0, 'the sweep ran on simulated time');
});

const fakeUpstreamResponse: UpstreamResponse = { statusCode: 200, pipeTo: () => undefined, discard: () => undefined };

/** A connection actor with stub ports: `request()` takes one request through it (received, relayed, finished in its ledger). */
function startScriptedConnection(t: ExecutionContext, router: MailboxRouter, address: Address) {
  const clock = new SimulatedClock();
  const ports: ConnectionPorts = {
    router,
    pipeline: { requestFilters: [], responseFilters: [], finishedHooks: [] },
    retries: 1,
    chooseUpstream: () => 'u1',
    // Settled at once: the scripted response head arrives as the request goes out.
    forward: (exchange, _upstreamId, settlement) => settlement.responded(exchange, fakeUpstreamResponse),
    relay: () => {},
    respond: () => {},
    serve: () => {},
    drop: () => {},
    now: () => clock.now(),
  };
  const client = { watchForSilence: () => undefined, close: () => {} };
  const timeouts = { keepAliveMs: 5_000, bodyIdleMs: 4_000, sendMs: 60_000 };
  const actor = startActor(connectionMachine, { id: address, input: { address, ports, client, timeouts }, clock });
  router.register(localNameOf(address), actor);
  t.teardown(() => {
    actor.stop();
    router.unregister(address);
  });
  let exchangeId = 1;
  const request = (): void => {
    const req = { method: 'GET', url: '/' } as unknown as IncomingMessage;
    const exchange = new Exchange(exchangeId++, req, {} as unknown as ServerResponse, '10.0.0.7', clock.now(), null);
    actor.send({ type: 'request.received', exchange });
    ledgerOf(actor).finished(exchange);
  };
  return { actor, request };
}
