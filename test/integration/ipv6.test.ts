/**
 * IPv6 end to end, on the loopback ::1: an upstream given as `[::1]:PORT` is
 * proxied to and actively health-checked (Host `[::1]:PORT`), and marked dead
 * when it stops; `--bind [::1]:0` serves clients and logs `[::1]:PORT`.
 */
import test from 'ava';
import { request } from 'undici';
import { startBalancer } from '../helpers/balancer.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

test('an upstream on [::1]: proxied to, probed with its bracketed Host, marked dead when it stops', async (t) => {
  const upstream = await startUpstream(t, { name: 'six', host: '::1' });
  t.regex(upstream.id, /^\[::1\]:\d+$/);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '2']);

  const response = await request(`${balancer.origin}/hello`);
  t.is(response.statusCode, 200);
  t.is(response.headers['x-upstream'], 'six');
  t.is(await response.body.text(), 'upstream six');
  t.is(upstream.proxied()[0]?.url, '/hello');
  const logged = await balancer.process.waitForLog((line) => line.msg === 'request', { timeoutMs: 5_000, what: 'the request line' });
  t.is(logged.upstream, upstream.id);

  const probe = await waitFor(() => upstream.requests.find((seen) => seen.healthCheck), {
    timeoutMs: 10_000,
    what: 'a health probe at the upstream',
  });
  t.is(probe.headers.host, upstream.id);
  // A second round passed too: still nothing marked dead.
  await waitFor(() => upstream.requests.filter((seen) => seen.healthCheck).length >= 2, { timeoutMs: 10_000, what: 'two probes' });
  t.deepEqual(balancer.process.logsWith((line) => line.msg === 'upstream marked dead'), []);

  const mark = balancer.process.mark();
  await upstream.kill();
  await balancer.process.waitForLog((line) => line.msg === 'upstream marked dead' && line.upstream === upstream.id, {
    from: mark,
    timeoutMs: 10_000,
    what: `'upstream marked dead' for ${upstream.id}`,
  });
  const after = await request(`${balancer.origin}/gone`);
  await after.body.dump();
  t.is(after.statusCode, 502);
  t.deepEqual(balancer.process.crashReports(), []);
});

for (const workers of ['1', '2']) {
  test(`--workers ${workers} --bind [::1]:0: logs [::1]:PORT and serves clients on ::1`, async (t) => {
    const upstream = await startUpstream(t, { name: 'four' });
    const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', workers], {
      bind: '[::1]:0',
    });
    t.regex(balancer.address, /^\[::1\]:\d+$/);
    t.is(balancer.origin, `http://[::1]:${balancer.port}`);
    const response = await request(`${balancer.origin}/over-six`);
    t.is(response.statusCode, 200);
    t.is(await response.body.text(), 'upstream four');
    const logged = await balancer.process.waitForLog((line) => line.msg === 'request', { timeoutMs: 5_000, what: 'the request line' });
    t.is(logged.client, '::1');
    t.deepEqual(balancer.process.crashReports(), []);
  });
}
