/**
 * Client limits and timeouts, each through the real CLI: the status a client
 * sees, that nothing over a limit reaches the upstream, and that the
 * balancer goes on serving.
 */
import { performance } from 'node:perf_hooks';
import test, { type ExecutionContext } from 'ava';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

async function setUp(t: ExecutionContext, flags: readonly string[]): Promise<{ upstream: TestUpstream; balancer: RunningBalancer }> {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', ...flags]);
  return { upstream, balancer };
}

async function rawExchange(balancer: RunningBalancer, bytes: string): Promise<{ status: number; connection: RawConnection }> {
  const connection = await RawConnection.open(balancer.port);
  connection.write(bytes);
  const response = await connection.readResponse({ timeoutMs: 10_000 });
  return { status: response.status, connection };
}

async function servesNext(t: ExecutionContext, balancer: RunningBalancer, upstream: TestUpstream): Promise<void> {
  const before = upstream.requests.length;
  const next = await httpCall(balancer.port, { path: '/next' });
  t.is(next.status, 200);
  t.is(upstream.requests.length, before + 1);
}

test('limits: headers over --max-header-size → 431, not forwarded', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--max-header-size', '4096']);
  const { status, connection } = await rawExchange(balancer, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`);
  t.teardown(() => connection.destroy());
  t.is(status, 431);
  await connection.readUntilClosed(10_000);
  t.is(upstream.requests.length, 0);
  await servesNext(t, balancer, upstream);
});

test('limits: more header fields than --max-headers → 431, not forwarded; exactly the limit passes', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--max-headers', '10']);
  const fields = (count: number): string => Array.from({ length: count }, (_, i) => `X-${i}: v\r\n`).join('');
  const over = await rawExchange(balancer, `GET /over HTTP/1.1\r\nHost: x\r\n${fields(10)}\r\n`);
  t.teardown(() => over.connection.destroy());
  t.is(over.status, 431);
  await over.connection.readUntilClosed(10_000);
  const atLimit = await rawExchange(balancer, `GET /at HTTP/1.1\r\nHost: x\r\n${fields(9)}\r\n`);
  t.teardown(() => atLimit.connection.destroy());
  t.is(atLimit.status, 200);
  t.deepEqual(
    upstream.requests.map((seen) => seen.url),
    ['/at'],
  );
});

test('limits: a request target longer than --max-uri-length → 414, not forwarded', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--max-uri-length', '100']);
  const { status, connection } = await rawExchange(balancer, `GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  t.teardown(() => connection.destroy());
  t.is(status, 414);
  await connection.readUntilClosed(10_000);
  t.is(upstream.requests.length, 0);
  await servesNext(t, balancer, upstream);
});

test('limits: a Content-Length over --max-body-size → 413 at once, nothing forwarded', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--max-body-size', '100']);
  // The body is never sent: the answer must not wait for it.
  const { status, connection } = await rawExchange(balancer, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
  t.teardown(() => connection.destroy());
  t.is(status, 413);
  await connection.readUntilClosed(10_000);
  t.is(upstream.requests.length, 0);
  const fits = await httpCall(balancer.port, { method: 'POST', path: '/fits', body: 'x'.repeat(100) });
  t.is(fits.status, 200);
  t.deepEqual(
    upstream.requests.map((seen) => `${seen.url} ${seen.body.length}`),
    ['/fits 100'],
  );
});

test('limits: a chunked body growing past --max-body-size → 413, the upstream never gets it whole', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--max-body-size', '100']);
  const chunk = `40\r\n${'b'.repeat(64)}\r\n`;
  const { status, connection } = await rawExchange(
    balancer,
    `POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}`,
  );
  t.teardown(() => connection.destroy());
  t.is(status, 413);
  await connection.readUntilClosed(10_000);
  t.is(upstream.requests.length, 0, 'an aborted body never completes at the upstream');
  await servesNext(t, balancer, upstream);
});

test('limits: with --max-body-size 0 (the default) a large body passes', async (t) => {
  const { upstream, balancer } = await setUp(t, []);
  const result = await httpCall(balancer.port, { method: 'POST', path: '/large', body: 'z'.repeat(1_000_000) });
  t.is(result.status, 200);
  t.is(upstream.requests[0]?.body.length, 1_000_000);
});

test('limits: connections over --max-connections get 503 and are closed; the others are served', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--max-connections', '2']);
  const held = [await RawConnection.open(balancer.port), await RawConnection.open(balancer.port)];
  t.teardown(() => held.forEach((connection) => connection.destroy()));
  // Both held connections are accepted (and answered) before the third arrives.
  for (const connection of held) {
    connection.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
    t.is((await connection.readResponse({ timeoutMs: 10_000 })).status, 200);
  }
  const third = await RawConnection.open(balancer.port);
  t.teardown(() => third.destroy());
  third.write('GET /third HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await third.readResponse({ timeoutMs: 10_000 })).status, 503);
  await third.readUntilClosed(10_000);
  t.false(upstream.requests.some((seen) => seen.url === '/third'));

  held[0]?.destroy();
  await held[0]?.closed;
  // Once one is gone, new clients are served again: the count drops when the balancer sees the close,
  // which may come a moment after ours, so poll (bounded) rather than expect the very next one to pass.
  const served = await waitFor(
    async () => {
      const attempt = await httpCall(balancer.port, { path: '/after', timeoutMs: 10_000 }).catch(() => null);
      return attempt?.status === 200 ? attempt : null;
    },
    { timeoutMs: 10_000, what: 'a client to be served after a connection closed' },
  );
  t.is(served.status, 200);
});

test('timeouts: a body that stops for --client-body-timeout → 408, connection closed, upstream never gets it whole', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--client-body-timeout', '1']);
  const started = performance.now();
  const { status, connection } = await rawExchange(balancer, 'POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
  t.teardown(() => connection.destroy());
  t.is(status, 408);
  const elapsed = performance.now() - started;
  t.true(elapsed >= 900 && elapsed < 5_000, `answered after ${Math.round(elapsed)} ms`);
  await connection.readUntilClosed(10_000);
  t.is(upstream.requests.length, 0);
  await servesNext(t, balancer, upstream);
});

test('timeouts: a request head not complete within --client-header-timeout → 408', async (t) => {
  const { upstream, balancer } = await setUp(t, ['--client-header-timeout', '1']);
  const started = performance.now();
  const { status, connection } = await rawExchange(balancer, 'GET /slow HTTP/1.1\r\nHost: x\r\n');
  t.teardown(() => connection.destroy());
  t.is(status, 408);
  const elapsed = performance.now() - started;
  t.true(elapsed >= 900 && elapsed < 5_000, `answered after ${Math.round(elapsed)} ms`);
  await connection.readUntilClosed(10_000);
  t.is(upstream.requests.length, 0);
});

test('timeouts: an idle keep-alive connection is closed after --keep-alive-timeout; a busy one is not', async (t) => {
  const { balancer } = await setUp(t, ['--keep-alive-timeout', '1']);
  const silent = await RawConnection.open(balancer.port);
  t.teardown(() => silent.destroy());
  const used = await RawConnection.open(balancer.port);
  t.teardown(() => used.destroy());
  const started = performance.now();
  used.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await used.readResponse({ timeoutMs: 10_000 })).status, 200);
  await silent.readUntilClosed(10_000);
  await used.readUntilClosed(10_000);
  const elapsed = performance.now() - started;
  t.true(elapsed >= 900 && elapsed < 8_000, `closed after ${Math.round(elapsed)} ms`);
});
