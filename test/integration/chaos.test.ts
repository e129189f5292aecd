/**
 * Chaos: steady GET load over keep-alive connections while upstreams are
 * killed and restarted at random (seeded: set CHAOS_SEED to replay a run).
 *
 * The rule this test holds the balancer to, and why it is honest: a kill cuts
 * the upstream's connections at once, so a request it had received but not
 * answered fails with no response byte — the balancer resends that GET to
 * another upstream (--retries 1); a request sent to an upstream that is down
 * is refused, and fails over to a live one. A GET is therefore lost only if no
 * upstream can take it. So the chaos never kills an upstream unless another
 * one is running *and known healthy to the balancer* (its last health log line
 * since it was last started says healthy): an upstream that was just restarted
 * is not used until an active health check has seen it again.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { Client } from 'undici';
import { startBalancer, type BalancerProcess } from '../helpers/balancer.js';
import { startRestartableUpstream, type RestartableUpstream } from '../helpers/restartable-upstream.js';
import { between, mulberry32 } from '../helpers/seeded-random.js';

const SEED = Number(process.env.CHAOS_SEED ?? 20_261_123);
const CHAOS_MS = 6_000;
const CLIENTS = 4;

/** Whether the balancer's last word on `upstream`, logged at or after log index `since`, is that it is healthy. */
function knownHealthy(balancer: BalancerProcess, upstream: RestartableUpstream, since: number): boolean {
  const lines = balancer.logsWith(
    (line) => line.upstream === upstream.id && (line.msg === 'upstream healthy' || line.msg === 'upstream marked dead'),
  );
  const last = lines.at(-1);
  return last !== undefined && last.msg === 'upstream healthy' && balancer.logs.indexOf(last) >= since;
}

test(`upstreams killed and restarted at random under load: every GET succeeds (seed ${SEED})`, async (t) => {
  const random = mulberry32(SEED);
  const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startRestartableUpstream(t, name)));
  const balancer = await startBalancer(t, [
    ...upstreams.flatMap((upstream) => ['--upstream', upstream.id]),
    '--active-health-check-interval',
    '1',
  ]);
  // Log index at each upstream's last start: health lines before it describe an earlier life.
  const startedAt = new Map(upstreams.map((upstream) => [upstream, 0]));

  const results = { ok: 0, failures: [] as string[] };
  const clients = Array.from({ length: CLIENTS }, () => new Client(balancer.origin, { pipelining: 1 }));
  t.teardown(() => Promise.all(clients.map((client) => client.destroy())));
  let loading = true;
  const loops = clients.map(async (client, index) => {
    for (let n = 0; loading; n++) {
      const path = `/c${index}/${n}`;
      try {
        const response = await client.request({ path, method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
        await response.body.dump();
        if (response.statusCode === 200) results.ok++;
        else results.failures.push(`${path}: ${response.statusCode}`);
      } catch (error) {
        results.failures.push(`${path}: ${(error as Error).message}`);
      }
    }
  });

  const events: string[] = [];
  let kills = 0;
  const until = performance.now() + CHAOS_MS;
  while (performance.now() < until) {
    // The chaos schedule itself: random pauses are what is being tested, not a wait for anything.
    await delay(between(random, 100, 400));
    const upstream = upstreams[between(random, 0, upstreams.length - 1)] as RestartableUpstream;
    if (upstream.running) {
      const covered = upstreams.some(
        (other) => other !== upstream && other.running && knownHealthy(balancer.process, other, startedAt.get(other) ?? 0),
      );
      if (!covered) continue;
      await upstream.kill();
      kills++;
      events.push(`kill ${upstream.name}`);
    } else {
      await upstream.start();
      startedAt.set(upstream, balancer.process.mark());
      events.push(`start ${upstream.name}`);
    }
  }
  loading = false;
  await Promise.all(loops);

  const story = `seed ${SEED}; ${events.join(', ')}`;
  const rescued = balancer.process.requestLogs().filter((line) => Number(line.attempts ?? 1) > 1).length;
  t.log(`${results.ok} GETs answered (${rescued} after a fail-over or resend), ${kills} kills: ${story}`);
  t.deepEqual(results.failures, [], story);
  t.true(kills >= 5, `only ${kills} kills: ${story}`);
  t.true(results.ok >= 100, `only ${results.ok} requests: ${story}`);
  t.is(balancer.process.exit, null);
  t.deepEqual(balancer.process.crashReports(), []);
});
