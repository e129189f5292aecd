/** The header passes between client and upstream. */
import { IncomingMessage } from 'node:http';
import test from 'ava';
import {
  firstHeaderValue,
  headerCount,
  headerStrings,
  headerValue,
  isFieldName,
  stripHopByHop,
  upstreamRequestHeaders,
} from '../../src/proxy/headers.js';

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
  t.deepEqual(upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY), [
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
  const out = upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(namesOf(out), ['host', 'x-trace-end', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
});

test('headers named in Connection are matched without regard to case or spacing', (t) => {
  const raw = ['Host', 'h', 'Connection', ' X-A ,x-b', 'x-a', '1', 'X-B', '2', 'X-C', '3'];
  t.deepEqual(namesOf(upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY)), [
    'host',
    'x-c',
    'x-forwarded-for',
    'x-forwarded-proto',
    'x-forwarded-host',
  ]);
});

test('the client address is appended to an existing X-Forwarded-For chain', (t) => {
  const raw = ['Host', 'h', 'X-Forwarded-For', '203.0.113.1', 'x-forwarded-for', '198.51.100.2, 192.0.2.3'];
  const out = upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'x-forwarded-for'), [`203.0.113.1, 198.51.100.2, 192.0.2.3, ${CLIENT_IP}`]);
});

test('X-Forwarded-Proto and X-Forwarded-Host from the client are replaced, and Host is kept as sent', (t) => {
  const raw = ['Host', 'shop.example', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example'];
  const out = upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'x-forwarded-proto'), ['http']);
  t.deepEqual(valuesOf(out, 'x-forwarded-host'), ['shop.example']);
  t.deepEqual(valuesOf(out, 'host'), ['shop.example']);
});

test('without a Host header there is no X-Forwarded-Host', (t) => {
  const out = upstreamRequestHeaders(['Accept', '*/*'], '::1', DEFAULT_POLICY);
  t.deepEqual(out, ['Accept', '*/*', 'x-forwarded-for', '::1', 'x-forwarded-proto', 'http']);
});

test('repeated end-to-end headers are all kept', (t) => {
  const raw = ['Host', 'h', 'Cookie', 'a=1', 'Accept', '*/*', 'Cookie', 'b=2'];
  const out = upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY);
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
  const out = upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(namesOf(out), ['host', 'x-ok', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  t.deepEqual(valuesOf(out, 'x-forwarded-for'), [CLIENT_IP]);
  const allowed = upstreamRequestHeaders(raw, CLIENT_IP, { allowUnderscoresInHeaders: true });
  t.deepEqual(valuesOf(allowed, 'x_forwarded_for'), ['6.6.6.6']);
  t.deepEqual(valuesOf(allowed, 'transfer_encoding'), ['chunked']);
});

test('Connection cannot name away Host or Content-Length, on either side', (t) => {
  const raw = ['Host', 'example.com', 'Content-Length', '3', 'Connection', 'host, content-length, x-a', 'x-a', '1'];
  const out = upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY);
  t.deepEqual(valuesOf(out, 'host'), ['example.com']);
  t.deepEqual(valuesOf(out, 'content-length'), ['3']);
  t.deepEqual(valuesOf(out, 'x-a'), []);
  const response = clientResponseHeaders(rawList('Content-Length', '3', 'Connection', 'Content-Length, x-b', 'x-b', '2'));
  t.deepEqual(response, ['Content-Length', '3']);
});

test('isFieldName: any case of the same letters, nothing else', (t) => {
  t.true(isFieldName('connection', 'connection'));
  t.true(isFieldName('Connection', 'connection'));
  t.true(isFieldName('CoNNecTION', 'connection'));
  t.true(isFieldName('X-Forwarded-For', 'x-forwarded-for'));
  t.false(isFieldName('connectio', 'connection'));
  t.false(isFieldName('connections', 'connection'));
  t.false(isFieldName('Connectiom', 'connection'));
  // Only letters fold: '-' is not '\r' (0x0d, 0x20 below it), '~' is not '^' (0x5e).
  t.false(isFieldName('x\rforwarded', 'x-forwarded'));
  t.false(isFieldName('a^', 'a~'));
  t.false(isFieldName('A', '!'));
});

test("headerValue and firstHeaderValue read a raw list as node:http's req.headers does", (t) => {
  const raw = [
    'Host', 'a.example',
    'Transfer-Encoding', 'gzip',
    'transfer-encoding', 'chunked',
    'X-Forwarded-For', '192.0.2.1',
    'x-forwarded-for', '192.0.2.2, 192.0.2.3',
    'Forwarded', 'for=1.2.3.4',
    'EXPECT', '100-continue',
    'Connection', 'keep-alive',
    'connection', 'x-a',
    'Content-Length', '5',
  ]; // prettier-ignore
  // What node:http's parser does with a head's fields (lib/_http_incoming.js), without a socket.
  const message = new IncomingMessage(null as never);
  (message as unknown as { _addHeaderLines(fields: string[], count: number): void })._addHeaderLines(raw, raw.length);
  for (const name of ['transfer-encoding', 'x-forwarded-for', 'forwarded', 'expect', 'connection', 'upgrade']) {
    t.is(headerValue(raw, name), message.headers[name] as string | undefined, name);
  }
  t.is(firstHeaderValue(raw, 'content-length'), message.headers['content-length']);
  t.is(firstHeaderValue(raw, 'host'), message.headers.host);
  t.is(firstHeaderValue(raw, 'transfer-encoding'), 'gzip');
  t.is(headerCount(raw, 'host'), 1);
  t.is(headerCount(raw, 'connection'), 2);
  t.is(headerValue([], 'expect'), undefined);
});

test('Connection in several request fields and in any case: every name it lists is dropped, the rest kept in order', (t) => {
  const raw = ['Host', 'h', 'CONNECTION', 'X-A', 'X-Keep', '1', 'x-a', 'gone', 'connection', 'close, X-b', 'X-B', 'gone', 'x-keep', '2'];
  t.deepEqual(upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY), [
    'Host', 'h',
    'X-Keep', '1',
    'x-keep', '2',
    'x-forwarded-for', CLIENT_IP,
    'x-forwarded-proto', 'http',
    'x-forwarded-host', 'h',
  ]); // prettier-ignore
});

test('hop-by-hop names in odd cases are still removed from requests and responses', (t) => {
  const raw = ['HOST', 'h', 'tE', 'trailers', 'KEEP-ALIVE', 'x', 'Transfer-encoding', 'chunked', 'UpGrade', 'h2c', 'EXPECT', '100-continue', 'PROXY-connection', 'x'];
  t.deepEqual(namesOf(upstreamRequestHeaders(raw, CLIENT_IP, DEFAULT_POLICY)), ['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  const response = ['tE', 'trailers', 'KEEP-ALIVE', 'x', 'Transfer-encoding', 'chunked', 'UpGrade', 'h2c', 'TRAILER', 'x', 'x-ok', '1'];
  stripHopByHop(response);
  t.deepEqual(response, ['x-ok', '1']);
});

test('a 204 loses its Content-Length, in any case; other statuses keep it', (t) => {
  const headers = ['CONTENT-LENGTH', '0', 'X-A', '1'];
  stripHopByHop(headers, true);
  t.deepEqual(headers, ['X-A', '1']);
  const kept = ['content-length', '3'];
  stripHopByHop(kept);
  t.deepEqual(kept, ['content-length', '3']);
});

/** Raw header views as undici makes them: slices of the one socket read they were parsed from. */
function viewsOfOneRead(pairs: readonly string[]): Buffer[] {
  let text = 'HTTP/1.1 200 OK\r\n';
  const spans: [number, number][] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    spans.push([text.length, (pairs[i] as string).length]);
    text += `${pairs[i] as string}: `;
    spans.push([text.length, (pairs[i + 1] as string).length]);
    text += `${pairs[i + 1] as string}\r\n`;
  }
  const read = Buffer.from(`${text}\r\nbody bytes`, 'latin1');
  return spans.map(([at, length]) => read.subarray(at, at + length));
}

test('headerStrings: views of one read, of several, and copies all decode the same, as latin1, order and case kept', (t) => {
  const pairs = ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Bytes', 'caf\xe9 \xff', 'ETag', '"v1"', 'X-Empty', ''];
  t.deepEqual(headerStrings(viewsOfOneRead(pairs)), pairs, 'one read');
  t.deepEqual(headerStrings(rawList(...pairs)), pairs, 'a buffer each');
  // undici concatenates a field split over two reads into a buffer of its own.
  const mixed = viewsOfOneRead(pairs);
  mixed[7] = Buffer.concat([Buffer.from('caf\xe9', 'latin1'), Buffer.from(' \xff', 'latin1')]);
  t.deepEqual(headerStrings(mixed), pairs, 'one field copied');
  t.deepEqual(headerStrings([]), []);
});
