/**
 * Rate limiting in one instance (the memory store): rules per path prefix
 * and per header, several rules per request, the RateLimit fields, trusted
 * proxies (a spoofed X-Forwarded-For changes nothing; a trusted one names the
 * client, for the limit and the log) and IPv6 clients grouped by prefix.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { limitedGet, statusesOver } from '../helpers/limited-client.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

test('a request matching several rules is checked against each; header-keyed rules count per header value; RateLimit fields on every answer', async (t) => {
  const upstream = await startUpstream(t);
  const rules = [
    { name: 'signin', 'path-prefix': '/signin', limit: 2, window: 60, algorithm: 'fixed-window' },
    { name: 'api', header: 'x-api-key', key: 'header:x-api-key', limit: 1, window: 60, algorithm: 'fixed-window' },
  ];
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id, '--active-health-check-interval', '0',
    '--max-requests-per-window', '5', '--rate-limit-algorithm', 'fixed-window',
    '--rate-limit-rules', JSON.stringify(rules), '--rate-limit-headers', '--workers', '2',
  ]); // prettier-ignore
  const first = await limitedGet(balancer.port, '/signin');
  t.is(first.status, 200);
  t.is(first.headers['ratelimit-policy'], '"default";q=5;w=60, "signin";q=2;w=60');
  t.regex(String(first.headers.ratelimit), /^"default";r=4;t=\d+, "signin";r=1;t=\d+$/);
  t.is((await limitedGet(balancer.port, '/signin')).status, 200);
  const third = await limitedGet(balancer.port, '/signin');
  t.is(third.status, 429, 'the signin rule: 2 per minute');
  t.regex(String(third.headers.ratelimit), /"signin";r=0/);
  // Elsewhere the default rule goes on: 2 of its 5 are used (the 429 was not counted).
  t.deepEqual(await statusesOver([balancer.port], '/page', 4), [200, 200, 200, 429]);

  const keyed = await statusesOver([balancer.port], '/api', 1, '127.0.0.2');
  t.deepEqual(keyed, [200], 'no key header: only the default rule');
  const withKey = (key: string) => limitedGet(balancer.port, '/api', { from: '127.0.0.2', headers: { 'x-api-key': key } });
  t.is((await withKey('alpha')).status, 200);
  t.is((await withKey('alpha')).status, 429, 'one per minute per key');
  t.is((await withKey('beta')).status, 200, 'another key has its own count');
});

test('trusted proxies: a spoofed X-Forwarded-For from an untrusted peer does not change the key; from a trusted peer it names the client, in the limit and the log', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id, '--active-health-check-interval', '0',
    '--max-requests-per-window', '3', '--trusted-proxy', '127.0.0.2',
  ]); // prettier-ignore
  const spoofed: number[] = [];
  for (let i = 0; i < 5; i++) {
    spoofed.push((await limitedGet(balancer.port, '/s', { from: '127.0.0.1', headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
  }
  t.deepEqual(spoofed, [200, 200, 200, 429, 429], 'an untrusted peer is limited as itself');

  const viaProxy = async (forwardedFor: string): Promise<number> =>
    (await limitedGet(balancer.port, '/p', { from: '127.0.0.2', headers: { 'x-forwarded-for': forwardedFor } })).status;
  // Each client behind the trusted proxy has its own count; "6.6.6.6" was written by the client itself.
  t.deepEqual([await viaProxy('203.0.113.1'), await viaProxy('203.0.113.2'), await viaProxy('203.0.113.3')], [200, 200, 200]);
  const same = [];
  for (let i = 0; i < 4; i++) same.push(await viaProxy(`6.6.6.${i}, 203.0.113.9`));
  t.deepEqual(same, [200, 200, 200, 429], 'the rightmost untrusted address is the key');

  await waitFor(() => balancer.process.requestLogs().length >= 12, { timeoutMs: 10_000, what: '12 request lines' });
  const clients = balancer.process.requestLogs().map((line) => line.client);
  t.true(clients.includes('203.0.113.9'), 'the log names the client behind the proxy');
  t.false(clients.some((client) => String(client).startsWith('198.51.100.')), 'never a spoofed address');
  // The upstream still learns the whole chain, with the proxy appended.
  const seen = upstream.proxied().find((request) => request.url === '/p' && String(request.headers['x-forwarded-for']).startsWith('6.6.6.0'));
  t.is(seen?.headers['x-forwarded-for'], '6.6.6.0, 203.0.113.9, 127.0.0.2');
});

test('IPv6 clients are counted by their /64 (or --rate-limit-ipv6-prefix)', async (t) => {
  const upstream = await startUpstream(t);
  const start = (prefix: string) =>
    startBalancer(t, [
      '--upstream', upstream.id, '--active-health-check-interval', '0', '--max-requests-per-window', '2',
      '--trusted-proxy', '127.0.0.1', '--rate-limit-ipv6-prefix', prefix,
    ]); // prettier-ignore
  const [by64, by128] = await Promise.all([start('64'), start('128')]);
  const from = async (port: number, address: string): Promise<number> =>
    (await limitedGet(port, '/', { headers: { 'x-forwarded-for': address } })).status;
  const sameNetwork = ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3'];
  const grouped: number[] = [];
  for (const address of sameNetwork) grouped.push(await from(by64.port, address));
  t.deepEqual(grouped, [200, 200, 429], 'three addresses of one /64 share one limit');
  t.is(await from(by64.port, '2001:db8:1:3::1'), 200, 'the next /64 is another client');
  const apart: number[] = [];
  for (const address of sameNetwork) apart.push(await from(by128.port, address));
  t.deepEqual(apart, [200, 200, 200], 'a /128 prefix counts each address');
});

test('brute-force protection in one instance: failed logins by status or header lock the client out (429), other paths stay open', async (t) => {
  const upstream = await startUpstream(t, {
    handler: (req, res) => {
      if (req.url === '/login/soft') res.writeHead(200, { 'x-login-failed': '1', 'content-length': 0 });
      else res.writeHead(req.url === '/login' ? 403 : 200, { 'content-length': 0 });
      res.end();
    },
  });
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id, '--active-health-check-interval', '0', '--workers', '2',
    '--brute-force-path', '/login', '--brute-force-max-failures', '2', '--brute-force-failure-header', 'X-Login-Failed',
  ]); // prettier-ignore
  t.is((await limitedGet(balancer.port, '/login')).status, 403);
  t.is((await limitedGet(balancer.port, '/login/soft')).status, 200, 'a 200 with the failure header counts too');
  // The failure is counted when the response head passes; the lock-out shows on the next request.
  const locked = await waitFor(async () => {
    const response = await limitedGet(balancer.port, '/login');
    return response.status === 429 ? response : null;
  }, { timeoutMs: 5_000, what: 'the lock-out' });
  t.true(Number(locked.headers['retry-after']) > 50, String(locked.headers['retry-after']));
  t.is((await limitedGet(balancer.port, '/home')).status, 200);
  await balancer.process.waitForLog((line) => line.msg === 'client locked out', { timeoutMs: 5_000, what: 'the lock-out line' });
});

test('the same client address feeds consistent-hash: behind a trusted proxy each client sticks to its upstream, a spoofed header moves nobody', async (t) => {
  const [a, b] = await Promise.all([startUpstream(t, { name: 'a' }), startUpstream(t, { name: 'b' })]);
  const balancer = await startBalancer(t, [
    '--upstream', a.id, '--upstream', b.id, '--active-health-check-interval', '0',
    '--balance', 'consistent-hash', '--hash-key', 'client-ip', '--trusted-proxy', '127.0.0.1',
  ]); // prettier-ignore
  const upstreamOf = async (from: string, forwardedFor: string): Promise<string> =>
    String((await limitedGet(balancer.port, '/', { from, headers: { 'x-forwarded-for': forwardedFor } })).headers['x-upstream']);
  const seen = new Set<string>();
  for (let client = 1; client <= 12; client++) {
    const address = `203.0.113.${client}`;
    const picks = new Set([await upstreamOf('127.0.0.1', address), await upstreamOf('127.0.0.1', address), await upstreamOf('127.0.0.1', address)]);
    t.is(picks.size, 1, `${address} sticks to one upstream`);
    for (const pick of picks) seen.add(pick);
  }
  t.deepEqual([...seen].sort(), ['a', 'b'], 'clients behind the proxy are spread over both');
  const untrusted = new Set<string>();
  for (let client = 1; client <= 8; client++) untrusted.add(await upstreamOf('127.0.0.2', `203.0.113.${client}`));
  t.is(untrusted.size, 1, 'from an untrusted peer the header is ignored: one key, one upstream');
});
