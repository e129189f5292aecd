/**
 * `--max-connections` is per worker process: with `--workers N` an instance
 * holds up to N × the limit at once, and because node's cluster hands
 * connections to workers in turn, without looking at how many each holds, a
 * connection can be refused by a full worker while another has room (the
 * issue saw 811 of 18,000 refused with 2 × 10,000 allowed). The decision is to
 * keep it per worker and say so; this test shows what that means.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = 3;
const WORKERS = 2;
const CONNECTIONS = 12;

test('--workers 2 --max-connections 3: at most 2 × 3 connections are held at once, at least 3, each worker holding at most 3; the rest get 503', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id,
    '--active-health-check-interval', '0',
    '--workers', String(WORKERS),
    '--max-connections', String(LIMIT),
    '--keep-alive-timeout', '60',
  ]);
  await waitFor(() => balancer.process.logsWith((line) => line.msg === 'listening').length >= 1 && balancer.process.logsWith((line) => line.msg === 'worker started').length >= WORKERS, {
    timeoutMs: 20_000,
    what: 'both workers started',
  });

  // All held open at once: a refused one is answered 503 on arrival, whatever it then sends.
  const connections: RawConnection[] = [];
  t.teardown(() => connections.forEach((connection) => connection.destroy()));
  for (let i = 0; i < CONNECTIONS; i++) connections.push(await RawConnection.open(balancer.port));
  const statuses: number[] = [];
  for (const [index, connection] of connections.entries()) {
    connection.write(`GET /held-${index} HTTP/1.1\r\nHost: x\r\n\r\n`);
    statuses.push((await connection.readResponse({ timeoutMs: 10_000 })).status);
  }
  const accepted = statuses.filter((status) => status === 200).length;
  const refused = statuses.filter((status) => status === 503).length;
  t.log(`${accepted} held, ${refused} refused of ${CONNECTIONS}`);
  t.is(accepted + refused, CONNECTIONS, `statuses: ${statuses.join(' ')}`);
  t.true(accepted <= WORKERS * LIMIT, `${accepted} held: never more than ${WORKERS} × ${LIMIT}`);
  t.true(accepted >= LIMIT, `${accepted} held: at least one worker's worth`);

  // Each worker's share: its request lines (one per held connection) and its refusals.
  await waitFor(() => balancer.process.requestLogs().length === accepted, { timeoutMs: 10_000, what: 'a request line per held connection' });
  for (const node of ['w1', 'w2']) {
    const held = balancer.process.requestLogs().filter((line) => line.node === node).length;
    t.true(held <= LIMIT, `${node} holds ${held} ≤ ${LIMIT}`);
  }
  await waitFor(() => balancer.process.logsWith((line) => line.msg === 'refused connection').length === refused, {
    timeoutMs: 10_000,
    what: `a warn line per refusal (${refused})`,
  });
  t.deepEqual(
    upstream.proxied().map((seen) => seen.url).sort(),
    statuses.flatMap((status, index) => (status === 200 ? [`/held-${index}`] : [])).sort(),
    'only the held connections were proxied',
  );
});
