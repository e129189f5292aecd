/** The header passes between client and upstream. */
import test from 'ava';
import { headerStrings, stripHopByHop, upstreamRequestHeaders } from '../../src/proxy/headers.js';

const DEFAULT_POLICY = { allowUnderscoresInHeaders: false };

const CLIENT_IP = '10.0.0.9';

/** Header names of a flat `[name, value, ...]` list, lowercased. */
function namesOf(raw: readonly string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
}

/** The values of one header in a flat list. */
function valuesOf(raw: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] ?? '');
  return values;
}

test('a plain request keeps its headers, order and case, and gains the forwarding headers', (t) => {
  const raw = ['Host', 'example.com:8080', 'User-Agent', 'curl/8', 'Accept', '*/*'];
  t.deepEqual(upstreamRequestHeaders(raw, undefined, CLIENT_IP, DEFAULT_POLICY), [
    'Host',
    'example.com:8080',
    'User-Agent',
    'curl/8',
    'Accept',
    '*/*',
    'x-forwarded-for',
    CLIENT_IP,
    'x-forwarded-proto',
    'http',
    'x-forwarded-host',
    'example.com:8080',
  ]);
});

test('hop-by-hop headers are removed, including those the Connection header names', (t) => {
  const raw = [
    'Host', 'example.com',
    'Connection', 'keep-alive, X-Trace-Hop, Upgrade',
    'Keep-Alive', 'timeout=5',
    'Proxy-Connection', 'keep-alive',
    'TE', 'trailers',
    'Trailer', 'X-Checksum',
    'Transfer-Encoding', 'chunked',
    'Upgrade', 'websocket',
    'Expect', '100-continue',
    'X-Trace-Hop', 'abc',
    'X-Trace-End', 'kept',
  ]; // prettier-ignore
  const out = upstreamRequestHeaders(raw, 'keep-alive, X-Trace-Hop, Upgrade', CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(namesOf(out), ['host', 'x-trace-end', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
});

test('headers named in Connection are matched without regard to case or spacing', (t) => {
  const raw = ['Host', 'h', 'Connection', ' X-A ,x-b', 'x-a', '1', 'X-B', '2', 'X-C', '3'];
  t.deepEqual(namesOf(upstreamRequestHeaders(raw, ' X-A ,x-b', CLIENT_IP, DEFAULT_POLICY)), [
    'host',
    'x-c',
    'x-forwarded-for',
    'x-forwarded-proto',
    'x-forwarded-host',
  ]);
});

test('the client address is appended to an existing X-Forwarded-For chain', (t) => {
  const raw = ['Host', 'h', 'X-Forwarded-For', '203.0.113.1', 'x-forwarded-for', '198.51.100.2, 192.0.2.3'];
  const out = upstreamRequestHeaders(raw, undefined, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'x-forwarded-for'), [`203.0.113.1, 198.51.100.2, 192.0.2.3, ${CLIENT_IP}`]);
});

test('X-Forwarded-Proto and X-Forwarded-Host from the client are replaced, and Host is kept as sent', (t) => {
  const raw = ['Host', 'shop.example', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example'];
  const out = upstreamRequestHeaders(raw, undefined, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'x-forwarded-proto'), ['http']);
  t.deepEqual(valuesOf(out, 'x-forwarded-host'), ['shop.example']);
  t.deepEqual(valuesOf(out, 'host'), ['shop.example']);
});

test('without a Host header there is no X-Forwarded-Host', (t) => {
  const out = upstreamRequestHeaders(['Accept', '*/*'], undefined, '::1', DEFAULT_POLICY);
  t.deepEqual(out, ['Accept', '*/*', 'x-forwarded-for', '::1', 'x-forwarded-proto', 'http']);
});

test('repeated end-to-end headers are all kept', (t) => {
  const raw = ['Host', 'h', 'Cookie', 'a=1', 'Accept', '*/*', 'Cookie', 'b=2'];
  const out = upstreamRequestHeaders(raw, 'close', CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'cookie'), ['a=1', 'b=2']);
});

/** A raw header list as undici hands it over: names and values alternating, as bytes. */
const rawList = (...pairs: string[]): Buffer[] => pairs.map((text) => Buffer.from(text, 'latin1'));

/** What the client gets of an upstream's raw headers: as strings, hop-by-hop stripped. */
function clientResponseHeaders(raw: readonly Buffer[]): string[] {
  const headers = headerStrings(raw);
  stripHopByHop(headers);
  return headers;
}

test('response headers lose the hop-by-hop ones and those named in Connection', (t) => {
  const out = clientResponseHeaders(
    rawList(
      'Content-Type', 'text/plain',
      'Content-Length', '12',
      'Connection', 'keep-alive, X-Upstream-Hop',
      'Keep-Alive', 'timeout=5',
      'Transfer-Encoding', 'chunked',
      'Trailer', 'x-checksum',
      'Upgrade', 'h2c',
      'Proxy-Connection', 'keep-alive',
      'TE', 'trailers',
      'x-upstream-hop', 'secret',
      'Set-Cookie', 'a=1',
      'Set-Cookie', 'b=2',
    ),
  );
  t.deepEqual(out, ['Content-Type', 'text/plain', 'Content-Length', '12', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
});

test('headers named in several Connection headers are all dropped', (t) => {
  const out = clientResponseHeaders(rawList('connection', 'x-a', 'x-a', '1', 'Connection', 'x-b', 'x-b', '2', 'x-c', '3'));
  t.deepEqual(out, ['x-c', '3']);
});

test('response headers without hop-by-hop ones pass unchanged, bytes as latin1', (t) => {
  const pairs = ['content-type', 'application/json', 'ETag', '"abc"', 'x-bytes', 'caf\xe9'];
  t.deepEqual(clientResponseHeaders(rawList(...pairs)), pairs);
});

test('header names with an underscore are dropped unless allowed (X_Forwarded_For cannot spoof the client)', (t) => {
  const raw = ['Host', 'h', 'X_Forwarded_For', '6.6.6.6', 'Transfer_Encoding', 'chunked', 'x-ok', '1'];
  const out = upstreamRequestHeaders(raw, undefined, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(namesOf(out), ['host', 'x-ok', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  t.deepEqual(valuesOf(out, 'x-forwarded-for'), [CLIENT_IP]);
  const allowed = upstreamRequestHeaders(raw, undefined, CLIENT_IP, { allowUnderscoresInHeaders: true });
  t.deepEqual(valuesOf(allowed, 'x_forwarded_for'), ['6.6.6.6']);
  t.deepEqual(valuesOf(allowed, 'transfer_encoding'), ['chunked']);
});

test('Connection cannot name away Host or Content-Length, on either side', (t) => {
  const raw = ['Host', 'example.com', 'Content-Length', '3', 'Connection', 'host, content-length, x-a', 'x-a', '1'];
  const out = upstreamRequestHeaders(raw, 'host, content-length, x-a', CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'host'), ['example.com']);
  t.deepEqual(valuesOf(out, 'content-length'), ['3']);
  t.deepEqual(valuesOf(out, 'x-a'), []);
  const response = clientResponseHeaders(rawList('Content-Length', '3', 'Connection', 'Content-Length, x-b', 'x-b', '2'));
  t.deepEqual(response, ['Content-Length', '3']);
});
