/**
 * The events a connection actor takes per request, counted on the real
 * listener, undici pools and a loopback upstream (in process, an inspection
 * stream on every connection actor): on the success path a keep-alive
 * request is one event, `request.received` — the response is relayed and its
 * end booked without one — while a failed attempt is still an event the
 * actor decides on (ARCHITECTURE.md, "connection").
 */
import { createServer as createNetServer } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { attachInspection } from '../../src/actors/inspection.js';
import { UpstreamLoads } from '../../src/balancing/index.js';
import { DEFAULT_CLIENT_LIMITS } from '../../src/config/config.js';
import { log } from '../../src/log.js';
import type { InspectionRecord } from '../../src/protocol/index.js';
import { RawConnection, rawGet } from '../helpers/client.js';
import { startInProcessProxy } from '../helpers/in-process-proxy.js';
import { listenOnLoopback, startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

log.configure('silent', 'p');

/** Long enough that no silence (client.silent) falls inside a test. */
const LIMITS = { ...DEFAULT_CLIENT_LIMITS, keepAliveTimeoutMs: 60_000 };

/** A proxy over `ports` (tried in order by round robin), and the events its connection actors take. */
async function startProxy(t: ExecutionContext, ports: readonly number[]) {
  const { port, router } = await startInProcessProxy(t, ports, { loads: new UpstreamLoads(), limits: LIMITS, retries: 1 });
  const records: InspectionRecord[] = [];
  // Streams are per process: this one sees only the connection actors of this test's router.
  const detach = attachInspection(router, { sink: { send: (record) => records.push(record) }, scope: { watch: 'kind', kind: 'connection' } });
  // Teardowns run last-registered first: detached before the proxy closes.
  t.teardown(detach);
  const events = (): string[] => records.filter((record) => record.node === 'p' && record.actor.startsWith('p/conn/')).map((record) => record.event);
  return { port, events };
}

test.serial('a keep-alive request on the success path is one event to its connection actor', async (t) => {
  const upstream = await startUpstream(t);
  const { port, events } = await startProxy(t, [upstream.port]);
  const client = await RawConnection.open(port);
  for (let i = 0; i < 3; i++) {
    client.write(rawGet(`/${i}`));
    t.is((await client.readResponse()).status, 200);
  }
  // The third response is read; its end is booked when Node closes it (the same turn or the next).
  await waitFor(() => upstream.requests.length === 3, { timeoutMs: 5_000, what: 'three requests upstream' });
  t.deepEqual(events(), ['xstate.init', 'request.received', 'request.received', 'request.received']);
  client.destroy();
  // Nothing in flight: nothing to cancel, so no event of the machine's; the actor is stopped (connection.ts).
  await waitFor(() => events().includes('xstate.stop'), { timeoutMs: 5_000, what: 'the actor to be stopped as the client leaves' });
  t.deepEqual(events().slice(4), ['xstate.stop']);
});

test.serial('a client leaving with requests in flight: the actor ends either way, stopped when Node closed the responses first', async (t) => {
  const upstream = await startUpstream(t);
  const { port, events } = await startProxy(t, [upstream.port]);
  const client = await RawConnection.open(port);
  client.write(rawGet('/never') + rawGet('/never')); // never answered: in flight when the client leaves
  await waitFor(() => events().filter((event) => event === 'request.received').length === 2, { timeoutMs: 5_000, what: 'both requests to reach the actor' });
  client.destroy();
  // Usually each response's 'close' (which releases its attempt, listener.ts) comes before the socket's: the
  // in-flight map is empty by then, and clientLeft stops the actor. On a loaded machine the socket's close can
  // come first; then the actor is told client.disconnected and cancels what is left. Never both, never neither.
  const ended = (): boolean => events().includes('xstate.stop') || events().includes('client.disconnected');
  await waitFor(ended, { timeoutMs: 5_000, what: 'the actor to end as the client leaves' });
  const last = events().at(-1);
  t.true(last === 'xstate.stop' || last === 'client.disconnected', `ended by ${String(last)}`);
  t.deepEqual(events().slice(0, -1), ['xstate.init', 'request.received', 'request.received']);
});

test.serial('a failed attempt is still an event: the actor decides to retry elsewhere', async (t) => {
  const refusing = createNetServer();
  const deadPort = await listenOnLoopback(refusing);
  await new Promise<void>((resolve) => refusing.close(() => resolve()));
  const upstream = await startUpstream(t);
  const { port, events } = await startProxy(t, [deadPort, upstream.port]);
  const client = await RawConnection.open(port);
  client.write(rawGet('/'));
  t.is((await client.readResponse()).status, 200);
  t.deepEqual(events(), ['xstate.init', 'request.received', 'upstream.failed'], 'the retry’s response is relayed without an event');
  client.destroy();
});
