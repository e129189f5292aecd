/**
 * Slowloris: connections that trickle a request head never complete it, are
 * answered 408 (or closed) once the header timeout passes, and meanwhile
 * never hold up other clients.
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { withDeadline } from '../helpers/wait.js';

const TRICKLERS = 100;
const NORMAL_REQUESTS = 20;
const HEADER_TIMEOUT_S = 2;

test('100 connections trickling headers: 20 normal requests each finish in under 1 s; the tricklers get 408 or are closed', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id,
    '--active-health-check-interval', '0',
    '--client-header-timeout', String(HEADER_TIMEOUT_S),
  ]); // prettier-ignore

  const tricklers = await Promise.all(Array.from({ length: TRICKLERS }, () => RawConnection.open(balancer.port)));
  t.teardown(() => tricklers.forEach((connection) => connection.destroy()));
  const startedAt = performance.now();
  for (const connection of tricklers) connection.write('GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  // One timer for all of them: a byte of the never-ending header value every 200 ms.
  const trickle = setInterval(() => {
    for (const connection of tricklers) if (!connection.isEnded) connection.write('a');
  }, 200);
  t.teardown(() => clearInterval(trickle));

  const durations: number[] = [];
  for (let i = 0; i < NORMAL_REQUESTS; i++) {
    const before = performance.now();
    const result = await httpCall(balancer.port, { path: `/normal/${i}`, timeoutMs: 5_000 });
    durations.push(performance.now() - before);
    t.is(result.status, 200);
  }
  t.true(
    durations.every((ms) => ms < 1_000),
    `every normal request under 1 s; took ${durations.map((ms) => Math.round(ms)).join(', ')} ms`,
  );

  // Each trickler is answered 408 and closed once the header timeout (checked once a quarter of it) has passed.
  const outcomes = await withDeadline(
    Promise.all(
      tricklers.map(async (connection) => {
        await connection.closed;
        const received = await connection.readUntilClosed(1_000);
        return received.toString('latin1');
      }),
    ),
    HEADER_TIMEOUT_S * 1_000 + 8_000,
    'every trickling connection to be answered and closed',
  );
  clearInterval(trickle);
  const elapsed = performance.now() - startedAt;
  t.true(elapsed >= HEADER_TIMEOUT_S * 1_000 - 100, `closed only after the header timeout (${Math.round(elapsed)} ms)`);
  const answered408 = outcomes.filter((text) => text.startsWith('HTTP/1.1 408 ')).length;
  t.true(
    outcomes.every((text) => text === '' || text.startsWith('HTTP/1.1 408 ')),
    'a trickler gets 408 or nothing at all',
  );
  t.true(answered408 > TRICKLERS / 2, `${answered408} of ${TRICKLERS} tricklers saw 408`);
  t.false(
    upstream.requests.some((seen) => seen.url === '/slow'),
    'no trickled head reached the upstream',
  );
  t.is(upstream.requests.length, NORMAL_REQUESTS);
});
