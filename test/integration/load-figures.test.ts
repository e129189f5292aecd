/**
 * The load figures the byte path keeps per upstream: every attempt is counted
 * in once when it is dispatched and out exactly once, however it ends —
 * completed, failed (refused, reset before the head, broken mid-body), or
 * given up because the client went away before or during the response.
 * In process: the real listener, undici pools and loopback upstreams, with a
 * round-robin strategy over the upstreams the test starts.
 */
import { createServer as createNetServer } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { LoadFigures, UpstreamLoads } from '../../src/balancing/index.js';
import { log } from '../../src/log.js';
import { RawConnection } from '../helpers/client.js';
import { startInProcessProxy } from '../helpers/in-process-proxy.js';
import { startRawUpstream, type RawBehaviour } from '../helpers/raw-upstream.js';
import { listenOnLoopback } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

log.configure('silent', 'p');

/** Load figures that also count every start and end, and remember the lowest in-flight figure seen. */
class CountedFigures extends LoadFigures {
  starts = 0;
  ends = 0;
  lowest = 0;

  override attemptStarted(): void {
    this.starts++;
    super.attemptStarted();
  }

  override attemptEnded(): void {
    this.ends++;
    super.attemptEnded();
    this.lowest = Math.min(this.lowest, this.inFlight);
  }
}

class CountedLoads extends UpstreamLoads {
  private readonly counted = new Map<string, CountedFigures>();

  override of(upstreamId: string): CountedFigures {
    let figures = this.counted.get(upstreamId);
    if (figures === undefined) {
      figures = new CountedFigures();
      this.counted.set(upstreamId, figures);
    }
    return figures;
  }
}

async function startProxy(t: ExecutionContext, ports: readonly number[]) {
  const { port, loads, upstreamIds } = await startInProcessProxy(t, ports, { loads: new CountedLoads() });
  return { port, figures: upstreamIds.map((id) => loads.of(id)) };
}

async function startOne(t: ExecutionContext, behaviour: RawBehaviour) {
  const upstream = await startRawUpstream(t, behaviour);
  const proxy = await startProxy(t, [upstream.port]);
  return { upstream, port: proxy.port, load: proxy.figures[0] as CountedFigures };
}

const GET = 'GET /x HTTP/1.1\r\nHost: test\r\n\r\n';

/** Waits until every attempt has been counted out, and checks it was exactly once. */
async function assertBalanced(t: ExecutionContext, load: CountedFigures, attempts: number): Promise<void> {
  await waitFor(() => load.ends >= attempts, { timeoutMs: 5_000, what: `${attempts} attempts to end` });
  t.is(load.starts, attempts, 'counted in once per attempt');
  t.is(load.ends, attempts, 'counted out once per attempt');
  t.is(load.inFlight, 0);
  t.is(load.lowest, 0, 'never below zero');
}

test('a completed response: in flight while its body streams, out once it has ended, and a latency sample', async (t) => {
  let release: (() => void) | null = null;
  const { port, load } = await startOne(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab');
    release = () => socket.write('cd');
  });
  const client = await RawConnection.open(port);
  client.write(GET);
  await waitFor(() => release !== null, { timeoutMs: 5_000, what: 'the upstream to start its response' });
  await waitFor(() => load.sampledAt > 0, { timeoutMs: 5_000, what: 'a latency sample at the response head' });
  t.is(load.inFlight, 1, 'still in flight while the body streams');
  (release as unknown as () => void)();
  const response = await client.readResponse();
  t.is(response.status, 200);
  await assertBalanced(t, load, 1);
  t.true(load.latencyEwmaMs > 0);
  client.destroy();
});

test('a refused connect: counted in and out once, as a slow sample', async (t) => {
  const closed = createNetServer();
  const deadPort = await listenOnLoopback(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const { port, figures } = await startProxy(t, [deadPort]);
  const load = figures[0] as CountedFigures;
  const client = await RawConnection.open(port);
  client.write(GET);
  t.is((await client.readResponse()).status, 502);
  await assertBalanced(t, load, 1);
  t.is(load.latencyEwmaMs, 1_000, 'the failure penalty');
  client.destroy();
});

test('a reset before the response head: counted out once', async (t) => {
  const { port, load } = await startOne(t, (socket) => socket.resetAndDestroy());
  const client = await RawConnection.open(port);
  client.write(GET);
  t.is((await client.readResponse()).status, 502);
  await assertBalanced(t, load, 1);
  client.destroy();
});

test('an upstream breaking off mid-body: counted out once', async (t) => {
  const { port, load } = await startOne(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort', () => socket.destroy());
  });
  const client = await RawConnection.open(port);
  client.write(GET);
  await client.readUntilClosed();
  await assertBalanced(t, load, 1);
});

test('the client going away before the response head: the attempt is given up and counted out once', async (t) => {
  const { upstream, port, load } = await startOne(t, () => {
    // Silence: the head never comes.
  });
  const client = await RawConnection.open(port);
  client.write(GET);
  await waitFor(() => upstream.heads.length === 1, { timeoutMs: 5_000, what: 'the request to reach the upstream' });
  t.is(load.inFlight, 1);
  client.destroy();
  await assertBalanced(t, load, 1);
  t.is(load.latencyEwmaMs, 30, 'the client leaving is not the upstream\'s failure');
});

test('the client going away mid-response: counted out once', async (t) => {
  const { port, load } = await startOne(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n' + 'x'.repeat(1000));
  });
  const client = await RawConnection.open(port);
  client.write(GET);
  await waitFor(() => load.sampledAt > 0, { timeoutMs: 5_000, what: 'the response head' });
  t.is(load.inFlight, 1);
  client.destroy();
  await assertBalanced(t, load, 1);
});

test('with two upstreams, each attempt is counted on the upstream it went to', async (t) => {
  // One request per upstream connection (the raw upstream reads one head per socket).
  const respond: RawBehaviour = (socket) => socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok');
  const [a, b] = await Promise.all([startRawUpstream(t, respond), startRawUpstream(t, respond)]);
  const { port, figures } = await startProxy(t, [a.port, b.port]);
  const client = await RawConnection.open(port);
  for (let i = 0; i < 4; i++) {
    client.write(GET);
    t.is((await client.readResponse()).status, 200);
  }
  for (const load of figures) await assertBalanced(t, load, 2);
  client.destroy();
});
