/** Who the client is behind trusted proxies, and the key an IPv6 client is counted by. */
import test from 'ava';
import { clientKeyOf, parseCidr, TrustedProxies } from '../../src/node/client-ip.js';

test('without trusted proxies the peer is the client, whatever the headers say', (t) => {
  const none = new TrustedProxies([]);
  t.is(none.clientIpOf('10.0.0.1', ['X-Forwarded-For', '1.2.3.4']), '10.0.0.1');
});

test('an untrusted peer cannot name another client', (t) => {
  const proxies = new TrustedProxies(['10.0.0.0/8']);
  t.is(proxies.clientIpOf('192.0.2.9', ['X-Forwarded-For', '1.2.3.4']), '192.0.2.9');
  t.is(proxies.clientIpOf('192.0.2.9', ['Forwarded', 'for=1.2.3.4']), '192.0.2.9');
});

test('from a trusted peer, the rightmost address that is not trusted is the client', (t) => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48']);
  t.is(proxies.clientIpOf('10.0.0.1', ['X-Forwarded-For', '1.2.3.4']), '1.2.3.4');
  // The client wrote "6.6.6.6" itself: only what the trusted hops appended counts.
  t.is(proxies.clientIpOf('10.0.0.1', ['X-Forwarded-For', '6.6.6.6, 1.2.3.4, 10.1.1.1']), '1.2.3.4');
  t.is(proxies.clientIpOf('10.0.0.1', ['X-Forwarded-For', '10.2.2.2, 10.1.1.1']), '10.2.2.2', 'every hop trusted: the leftmost');
  t.is(proxies.clientIpOf('10.0.0.1', []), '10.0.0.1', 'no header: the peer');
  t.is(proxies.clientIpOf('10.0.0.1', ['X-Forwarded-For', 'garbage, 10.1.1.1']), '10.1.1.1', 'a hop that is not an address stops the walk');
  t.is(proxies.clientIpOf('2001:db8:ffff::1', ['X-Forwarded-For', '2001:db8::7']), '2001:db8::7');
});

test('Forwarded (RFC 7239) when there is no X-Forwarded-For: quoted, bracketed, with ports', (t) => {
  const proxies = new TrustedProxies(['127.0.0.1']);
  t.is(proxies.clientIpOf('127.0.0.1', ['Forwarded', 'for=192.0.2.60;proto=http;by=203.0.113.43']), '192.0.2.60');
  t.is(proxies.clientIpOf('127.0.0.1', ['Forwarded', 'for="[2001:db8:cafe::17]:4711", for=198.51.100.17:80']), '198.51.100.17');
  t.is(proxies.clientIpOf('127.0.0.1', ['Forwarded', 'for="[2001:db8:cafe::17]:4711"']), '2001:db8:cafe::17');
  t.is(proxies.clientIpOf('127.0.0.1', ['Forwarded', 'for=unknown']), '127.0.0.1');
});

test('parseCidr: addresses and prefixes, or null', (t) => {
  t.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fe80::/129', 'proxy.internal', '10.0.0.0/', '']) t.is(parseCidr(bad), null, bad);
});

test('clientKeyOf: IPv4 as it is, IPv6 by its prefix', (t) => {
  t.is(clientKeyOf('192.0.2.1', 64), '192.0.2.1');
  t.is(clientKeyOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64), '2001:db8:1:2:0:0:0:0/64');
  t.is(clientKeyOf('2001:db8:1:2::1', 64), clientKeyOf('2001:db8:1:2:ffff::9', 64), 'one /64, one key');
  t.not(clientKeyOf('2001:db8:1:2::1', 64), clientKeyOf('2001:db8:1:3::1', 64));
  t.is(clientKeyOf('2001:db8:1:2ff::1', 56), '2001:db8:1:200:0:0:0:0/56');
  t.is(clientKeyOf('::1', 128), '::1');
  t.is(clientKeyOf('::ffff:1.2.3.4', 96), '0:0:0:0:0:ffff:0:0/96');
});
