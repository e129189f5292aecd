/**
 * With a Redis rate-limit store the workers decide (each asks Redis), so
 * the primary's limiter sees nothing: the decisions metric and the
 * visualizer's rate-limit figures come from each worker's own tally,
 * aggregated over the workers like their other figures.
 */
import test from 'ava';
import { startBalancerWithAdmin } from '../helpers/admin.js';
import { httpCall } from '../helpers/client.js';
import { startRedis } from '../helpers/redis.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

interface RateLimitFrame {
  readonly rateLimit: { readonly checks: number; readonly denials: number; readonly top: readonly (readonly [string, number, number])[] };
}

test('--rate-limit-store redis (--workers 2): the decisions metric and the page’s rate-limit figures count the workers’ decisions', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const origin = await startUpstream(t, { name: 'a' });
  const { balancer, admin } = await startBalancerWithAdmin(t, [
    '--upstream', origin.id, '--workers', '2', '--active-health-check-interval', '0',
    '--rate-limit-store', redis.url, '--max-requests-per-window', '10',
  ]); // prettier-ignore
  const statuses: number[] = [];
  for (let n = 0; n < 15; n++) statuses.push((await httpCall(balancer.port, { path: `/r/${n}` })).status);
  const admitted = statuses.filter((status) => status === 200).length;
  const denied = statuses.filter((status) => status === 429).length;
  t.is(admitted + denied, 15, statuses.join(' '));
  t.true(denied >= 1, `over the limit of 10 (a sliding window): ${statuses.join(' ')}`);

  const text = (await admin.call('GET', '/metrics')).text;
  const decisions = (decision: string): number => Number(new RegExp(`^balancebeam_rate_limit_decisions_total\\{decision="${decision}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  t.is(decisions('admitted'), admitted);
  t.is(decisions('denied'), denied);
  t.regex(text, /# HELP balancebeam_rate_limit_decisions_total .*Redis store in each worker/);

  // The feed's frames: every check and denial, and the client, summed over both workers' batches.
  let summed = { checks: 0, denials: 0, client: [0, 0] as [number, number] };
  await waitFor(
    async () => {
      const { frames } = (await admin.ok('GET', '/viz/api/history')) as { frames: RateLimitFrame[] };
      summed = { checks: 0, denials: 0, client: [0, 0] };
      for (const frame of frames) {
        summed.checks += frame.rateLimit.checks;
        summed.denials += frame.rateLimit.denials;
        for (const [client, checks, denials] of frame.rateLimit.top) {
          if (client !== '127.0.0.1') continue;
          summed.client[0] += checks;
          summed.client[1] += denials;
        }
      }
      return summed.checks === 15 && summed.denials === denied;
    },
    { timeoutMs: 5_000, what: 'the rate-limit figures in the feed' },
  );
  t.deepEqual(summed, { checks: 15, denials: denied, client: [15, denied] });
});
