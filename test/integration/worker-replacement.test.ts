/**
 * `--workers 2` under steady load: SIGKILL one worker. The primary replaces
 * it; clients whose connections the other worker holds never see an error,
 * and each client of the dead worker loses at most the one request it had in
 * flight and, if its next connection was handed to the dead worker in the
 * moment before the primary noticed the death, that one too: Node's cluster
 * hands an accepted connection to a worker over IPC (RoundRobinHandle's
 * handoff) and a dead worker never takes it. Its next request after that opens
 * a connection to a live worker.
 */
import test from 'ava';
import { Client } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const CLIENTS = 6;

interface LoadClient {
  readonly index: number;
  readonly client: Client;
  /** Request numbers that got a 200, in order. */
  readonly succeeded: number[];
  /** Request numbers that failed (an error or a status other than 200). */
  readonly failed: number[];
}

test('a worker killed under load is replaced; only requests in flight on it may fail', async (t) => {
  const upstream = await startUpstream(t, { name: 'only' });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '2']);
  const started = await waitFor(
    () => {
      const lines = balancer.process.logsWith((line) => line.msg === 'worker started');
      return lines.length >= 2 ? lines : undefined;
    },
    { timeoutMs: 10_000, what: 'two "worker started" lines' },
  );
  const pidOf = new Map(started.map((line) => [String(line.worker), Number(line.pid)]));

  const clients: LoadClient[] = Array.from({ length: CLIENTS }, (_, index) => ({
    index,
    client: new Client(balancer.origin, { pipelining: 1 }),
    succeeded: [],
    failed: [],
  }));
  t.teardown(() => Promise.all(clients.map(({ client }) => client.destroy())));
  let running = true;
  const loops = clients.map(async (load) => {
    for (let n = 0; running; n++) {
      try {
        const response = await load.client.request({ path: `/c${load.index}/${n}`, method: 'GET', headersTimeout: 10_000 });
        await response.body.dump();
        (response.statusCode === 200 ? load.succeeded : load.failed).push(n);
      } catch {
        load.failed.push(n);
      }
    }
  });

  await waitFor(() => clients.every((load) => load.succeeded.length >= 5), { timeoutMs: 15_000, what: '5 answers per client' });
  // Which worker holds each client's connection, from the request log (urls are unique per client).
  const nodeOf = (load: LoadClient): string | undefined =>
    balancer.process.logsWith((line) => line.msg === 'request' && String(line.url).startsWith(`/c${load.index}/`))[0]?.node;
  const homes = await waitFor(
    () => {
      const found = clients.map(nodeOf);
      return found.every((node) => node !== undefined) ? (found) : undefined;
    },
    { timeoutMs: 10_000, what: 'a request log line per client' },
  );
  const victim = homes[0] as string;
  const victimPid = pidOf.get(victim);
  if (victimPid === undefined) throw new Error(`no pid logged for ${victim}`);

  const mark = balancer.process.mark();
  const doneBeforeKill = clients.map((load) => load.succeeded.length + load.failed.length);
  process.kill(victimPid, 'SIGKILL');
  const replacement = await balancer.process.waitForLog((line) => line.msg === 'worker started' && line.worker === victim, {
    from: mark,
    timeoutMs: 15_000,
    what: `a replacement for ${victim}`,
  });
  t.not(Number(replacement.pid), victimPid);
  // Keep the load on until every client has been answered 20 more times.
  await waitFor(
    () => clients.every((load, i) => load.succeeded.filter((n) => n >= (doneBeforeKill[i] ?? 0)).length >= 20),
    { timeoutMs: 30_000, what: '20 answers per client after the kill' },
  );
  running = false;
  await Promise.all(loops);

  for (const load of clients) {
    const home = homes[load.index];
    if (home === victim) {
      t.true(load.failed.length <= 2, `client ${load.index} (on the killed ${victim}) lost ${load.failed.length} requests`);
    } else {
      t.deepEqual(load.failed, [], `client ${load.index} on the surviving ${String(home)} lost nothing`);
    }
  }
  t.deepEqual(balancer.process.crashReports(), []);
});
