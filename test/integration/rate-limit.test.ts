/**
 * Per-client-IP rate limiting: requests over the limit get 429 with
 * retry-after and never reach an upstream; the connection stays usable; the
 * count is shared by all workers; a fixed window opens again when it ends.
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection, type RawResponse } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

async function get(connection: RawConnection, path: string): Promise<RawResponse> {
  connection.write(`GET ${path} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
  return connection.readResponse({ timeoutMs: 15_000 });
}

test('--max-requests-per-minute 5: five 200s, then 429 with retry-after on the same open connection', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream',
    upstream.id,
    '--active-health-check-interval',
    '0',
    '--max-requests-per-minute',
    '5',
  ]);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());

  const responses: RawResponse[] = [];
  for (let i = 0; i < 7; i++) responses.push(await get(connection, `/r${i}`));

  t.deepEqual(
    responses.map((response) => response.status),
    [200, 200, 200, 200, 200, 429, 429],
  );
  for (const limited of responses.slice(5)) {
    // Whole seconds. The sliding-window estimate can ask for more than one window: with 5 of 5 used,
    // the previous window's weight only falls far enough 12 s into the next one (60 + 12 = 72 s).
    const retryAfter = Number(limited.headers['retry-after']);
    t.true(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 120, `retry-after: ${limited.headers['retry-after']}`);
  }
  t.is(upstream.proxied().length, 5);
  t.deepEqual(
    upstream.proxied().map((seen) => seen.url),
    ['/r0', '/r1', '/r2', '/r3', '/r4'],
  );
  // One socket carried all seven exchanges, the last after a 429: it was never closed.
  t.false(connection.isEnded, 'the connection must stay open after a 429');
});

test('--workers 2: the limit is shared, so a client opening a new connection per request still gets exactly 5 through', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream',
    upstream.id,
    '--active-health-check-interval',
    '0',
    '--max-requests-per-minute',
    '5',
    '--workers',
    '2',
  ]);

  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    // agent: false: a fresh TCP connection for every request.
    const response = await httpCall(balancer.port, { path: `/r${i}` });
    statuses.push(response.status);
    if (response.status === 429) t.truthy(response.headers['retry-after']);
  }
  t.deepEqual(statuses, [...Array<number>(5).fill(200), ...Array<number>(15).fill(429)]);
  t.is(upstream.proxied().length, 5);

  await waitFor(() => balancer.process.requestLogs().length === 20, { timeoutMs: 10_000, what: '20 request log lines' });
  const nodes = new Set(balancer.process.requestLogs().map((line) => line.node));
  t.deepEqual([...nodes].sort(), ['w1', 'w2'], 'requests landed on both workers');
  t.is(balancer.process.requestLogs().filter((line) => line.status === 429).length, 15);
});

test('fixed window of 3 per 2 s: the fourth request gets 429, and requests are allowed again once the window ends', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream',
    upstream.id,
    '--active-health-check-interval',
    '0',
    '--max-requests-per-window',
    '3',
    '--rate-limit-window-size',
    '2',
    '--rate-limit-algorithm',
    'fixed-window',
  ]);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());

  const started = performance.now();
  const first = [];
  for (let i = 0; i < 4; i++) first.push(await get(connection, `/first${i}`));
  t.deepEqual(
    first.map((response) => response.status),
    [200, 200, 200, 429],
  );
  t.true(['1', '2'].includes(String(first[3]?.headers['retry-after'])), `retry-after: ${first[3]?.headers['retry-after']}`);
  t.is(upstream.proxied().length, 3);

  // Poll until the limiter lets a request through again (a rejected request does not count in a fixed window).
  let polls = 0;
  const allowed = await waitFor(
    async () => {
      polls++;
      const response = await get(connection, `/poll${polls}`);
      if (response.status !== 200 && response.status !== 429) throw new Error(`unexpected status ${response.status}`);
      return response.status === 200 ? response : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'a request to be allowed again' },
  );
  // The window began when the balancer admitted the first request, after `started`: it cannot end sooner than 2 s later.
  const reopenedAfter = Math.round(performance.now() - started);
  t.log(`allowed again ${reopenedAfter} ms after the first request, after ${polls} polls`);
  t.is(allowed.status, 200);
  t.true(reopenedAfter >= 1_900, `allowed again after only ${reopenedAfter} ms`);
  t.is(upstream.proxied().length, 4, 'the rejected polls never reached the upstream');
  t.false(connection.isEnded);
});

test('X-Forwarded-For, Forwarded and X-Real-IP never change the rate-limit key: a client naming a new address each time is limited as one', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--max-requests-per-minute', '3']);
  const statuses: number[] = [];
  for (let i = 1; i <= 6; i++) {
    // A new connection each time too, so nothing but the peer address ties the requests together.
    const response = await httpCall(balancer.port, {
      path: `/spoof${i}`,
      headers: {
        'x-forwarded-for': `203.0.113.${i}, 198.51.100.${i}`,
        forwarded: `for=203.0.113.${i};proto=https, for="[2001:db8::${i}]"`,
        'x-real-ip': `203.0.113.${i}`,
        'x-client-ip': `203.0.113.${i}`,
      },
    });
    statuses.push(response.status);
  }
  t.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  t.deepEqual(
    upstream.proxied().map((seen) => seen.url),
    ['/spoof1', '/spoof2', '/spoof3'],
  );
  // What the upstream is told is the client's claim with the real peer appended, never the claim alone.
  t.is(upstream.proxied()[0]?.headers['x-forwarded-for'], '203.0.113.1, 198.51.100.1, 127.0.0.1');
});
