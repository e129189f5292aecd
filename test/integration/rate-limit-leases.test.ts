/**
 * The memory store with `--workers 2`: requests are decided in the workers
 * on leases of quota from the primary, and still the limit is exact across
 * workers. Several keep-alive clients (spread over both workers by the
 * cluster's round robin) race one client key to its limit: exactly the
 * limit gets through (the first refusal recalls the leases out first, so no
 * quota is left unspent), the rest get 429, and the decisions metric,
 * summed over the processes, counts each request once.
 */
import test from 'ava';
import { Client } from 'undici';
import { startBalancerWithAdmin } from '../helpers/admin.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const CLIENTS = 6;
const LIMIT = 150;

function decisions(metrics: string, decision: 'admitted' | 'denied'): number {
  let total = 0;
  for (const match of metrics.matchAll(new RegExp(`^balancebeam_rate_limit_decisions_total\\{decision="${decision}"\\} (\\d+)$`, 'gm'))) total += Number(match[1]);
  return total;
}

for (const algorithm of ['fixed-window', 'sliding-window', 'gcra'] as const) {
  test(`--workers 2, ${algorithm}: racing keep-alive clients over both workers get exactly the limit, whichever worker decides`, async (t) => {
    const upstream = await startUpstream(t);
    const { balancer, admin } = await startBalancerWithAdmin(t, [
      '--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '2',
      '--max-requests-per-window', String(LIMIT), '--rate-limit-window-size', '60', '--rate-limit-algorithm', algorithm,
    ]); // prettier-ignore
    const clients = Array.from({ length: CLIENTS }, () => new Client(balancer.origin, { pipelining: 1 }));
    t.teardown(() => Promise.all(clients.map((client) => client.destroy())));
    const statuses: number[] = [];
    const started = Date.now();
    // Each client goes on until it has seen five 429s: by then every worker has been refused.
    await Promise.all(
      clients.map(async (client, index) => {
        let refused = 0;
        for (let n = 0; refused < 5; n++) {
          const response = await client.request({ path: `/c${index}/${n}`, method: 'GET', headersTimeout: 10_000 });
          await response.body.dump();
          statuses.push(response.statusCode);
          if (response.statusCode === 429) refused++;
          else t.is(response.statusCode, 200);
        }
      }),
    );
    const elapsedMs = Date.now() - started;
    const admitted = statuses.filter((status) => status === 200).length;
    if (algorithm === 'gcra') {
      // One more every 400 ms (150 per 60 s) after the burst of 150.
      t.true(admitted >= LIMIT && admitted <= LIMIT + Math.ceil(elapsedMs / 400) + 1, `${admitted} admitted in ${elapsedMs} ms`);
    } else t.is(admitted, LIMIT);
    t.is(upstream.proxied().length, admitted, 'no refused request reached the upstream');

    await waitFor(() => balancer.process.requestLogs().length === statuses.length, { timeoutMs: 10_000, what: 'a log line per request' });
    const admittedBy = new Map<string, number>();
    for (const line of balancer.process.requestLogs()) if (line.status === 200) admittedBy.set(String(line.node), (admittedBy.get(String(line.node)) ?? 0) + 1);
    t.deepEqual([...admittedBy.keys()].sort(), ['w1', 'w2'], 'both workers admitted requests');

    const metrics = (await admin.call('GET', '/metrics')).text;
    t.is(decisions(metrics, 'admitted'), admitted, 'each admitted request counted once, by whichever process decided it');
    t.is(decisions(metrics, 'denied'), statuses.length - admitted);
  });
}
