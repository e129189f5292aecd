/**
 * Request smuggling (CL.TE, TE.CL, TE.TE and their obfuscations, odd
 * Content-Lengths and chunk sizes): every payload is either rejected — a
 * 4xx/5xx, the connection closed, nothing of it reaching the upstream whole —
 * or cleanly re-framed — the upstream sees exactly the one request the
 * balancer parsed, with the body it parsed, and never the second request
 * hidden in the payload. One balancer, one raw socket per payload; the
 * outcome each payload gets today is pinned, so a change in framing is a
 * decision, not an accident. The cases malformed.test.ts covers (CL with TE,
 * differing CLs, gzip, chunked twice, a signed chunk size, …) are not
 * repeated here.
 */
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';

/** The request hidden in every payload: the upstream must never see it. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

type Expected = { readonly rejected: number } | { readonly reframed: string };

interface SmugglingCase {
  readonly title: string;
  /** The payload for request path `path`. */
  readonly bytes: (path: string) => string;
  readonly expected: Expected;
}

const post = (path: string, headers: string, body: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`;
/** A chunked body of `data`, then the smuggled request where a CL-framing peer would read a new request. */
const chunked = (data: string): string => `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;
const cl = (body: string): string => `Content-Length: ${body.length}\r\n`;
/** `4\r\nabcd\r\n0\r\n\r\n` + smuggled: what a TE-framing peer reads as one request and a CL peer as two. */
const teBody = `${chunked('abcd')}${SMUGGLED}`;

const cases: SmugglingCase[] = [
  // TE.TE: obfuscated Transfer-Encoding beside a Content-Length
  { title: 'space before the colon: Transfer-Encoding : chunked', bytes: (p) => post(p, `Transfer-Encoding : chunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding: xchunked', bytes: (p) => post(p, `Transfer-Encoding: xchunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding: chunkedx', bytes: (p) => post(p, `Transfer-Encoding: chunkedx\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a tab before the value: Transfer-Encoding:\\tchunked', bytes: (p) => post(p, `Transfer-Encoding:\tchunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a tab after the value: Transfer-Encoding: chunked\\t', bytes: (p) => post(p, `Transfer-Encoding: chunked\t\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'two spaces before the value', bytes: (p) => post(p, `Transfer-Encoding:  chunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a vertical tab before the value', bytes: (p) => post(p, `Transfer-Encoding:\x0bchunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a form feed before the value', bytes: (p) => post(p, `Transfer-Encoding:\x0cchunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a leading space on the field line (obs-fold of Transfer-Encoding)', bytes: (p) => post(p, ` Transfer-Encoding: chunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'the value folded onto the next line', bytes: (p) => post(p, `Transfer-Encoding:\r\n chunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'uppercase CHUNKED with a Content-Length', bytes: (p) => post(p, `Transfer-Encoding: CHUNKED\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'lowercase field name with a Content-Length', bytes: (p) => post(p, `transfer-encoding: chunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding after Content-Length (TE.CL order)', bytes: (p) => post(p, `${cl(teBody)}Transfer-Encoding: chunked\r\n`, teBody), expected: { rejected: 400 } },
  { title: 'Content-Length: 0 with Transfer-Encoding: chunked', bytes: (p) => post(p, 'Content-Length: 0\r\nTransfer-Encoding: chunked\r\n', teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding: chunked, identity', bytes: (p) => post(p, `Transfer-Encoding: chunked, identity\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding: chunked, identity without a Content-Length', bytes: (p) => post(p, 'Transfer-Encoding: chunked, identity\r\n', teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding: identity, chunked', bytes: (p) => post(p, 'Transfer-Encoding: identity, chunked\r\n', teBody), expected: { rejected: 501 } },
  { title: 'a duplicate Transfer-Encoding field: chunked twice', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', teBody), expected: { rejected: 400 } },
  { title: 'a duplicate Transfer-Encoding field: chunked, then x', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', teBody), expected: { rejected: 400 } },
  { title: 'a quoted value: Transfer-Encoding: "chunked"', bytes: (p) => post(p, `Transfer-Encoding: "chunked"\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a parameter: Transfer-Encoding: chunked;q=1', bytes: (p) => post(p, 'Transfer-Encoding: chunked;q=1\r\n', teBody), expected: { rejected: 400 } },
  { title: 'Transfer-Encoding: chu nked', bytes: (p) => post(p, `Transfer-Encoding: chu nked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a NUL in the field name', bytes: (p) => post(p, `Transfer-Encoding\0: chunked\r\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a bare LF ending the Transfer-Encoding line', bytes: (p) => post(p, `Transfer-Encoding: chunked\n${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  { title: 'a bare CR ending the Transfer-Encoding line', bytes: (p) => post(p, `Transfer-Encoding: chunked\r${cl(teBody)}`, teBody), expected: { rejected: 400 } },
  // Content-Length obfuscations
  { title: 'Content-Length with a leading +', bytes: (p) => post(p, 'Content-Length: +5\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a Content-Length list of equal values: 5, 5', bytes: (p) => post(p, 'Content-Length: 5, 5\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'two equal Content-Length fields', bytes: (p) => post(p, 'Content-Length: 5\r\nContent-Length: 5\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'Content-Length in hex: 0x5', bytes: (p) => post(p, 'Content-Length: 0x5\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'Content-Length with a fraction: 5.0', bytes: (p) => post(p, 'Content-Length: 5.0\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'Content-Length in exponent form: 5e0', bytes: (p) => post(p, 'Content-Length: 5e0\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'Content-Length with an inner space: 5 5', bytes: (p) => post(p, 'Content-Length: 5 5\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'an empty Content-Length', bytes: (p) => post(p, 'Content-Length: \r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a Content-Length past 2^64', bytes: (p) => post(p, 'Content-Length: 184467440737095516160\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'space before the colon: Content-Length : 5', bytes: (p) => post(p, 'Content-Length : 5\r\n', `abcde${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'Content-Length with leading zeros: 005 (re-framed as 5)', bytes: (p) => post(p, 'Content-Length: 005\r\n', 'abcde'), expected: { reframed: 'abcde' } },
  { title: 'Content-Length with a tab before the value (optional whitespace)', bytes: (p) => post(p, 'Content-Length:\t5\r\n', 'abcde'), expected: { reframed: 'abcde' } },
  { title: 'a GET with a Content-Length body that holds a request', bytes: (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${cl(SMUGGLED)}\r\n${SMUGGLED}`, expected: { reframed: SMUGGLED } },
  { title: 'an underscore name Transfer_Encoding beside a Content-Length (framed by the Content-Length)', bytes: (p) => post(p, `Transfer_Encoding: chunked\r\n${cl(teBody)}`, teBody), expected: { reframed: teBody } },
  // Chunk sizes and chunk framing
  { title: 'a chunk size in 0x form', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `0x4\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a negative zero chunk size', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `-0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'an oversized chunk size (17 hex digits)', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `FFFFFFFFFFFFFFFFF\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a space before the chunk size', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', ` 4\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'chunk data longer than its size', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `4\r\nabcdefgh\r\n0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'no CRLF after the chunk data', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `4\r\nabcd0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'bare LF ending the chunk lines', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `4\nabcd\n0\n\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a NUL in a chunk extension', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `4;a\0b\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a chunk extension (re-framed, the extension dropped)', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', '4;name=value\r\nabcd\r\n0\r\n\r\n'), expected: { reframed: 'abcd' } },
  { title: 'a chunk extension holding a request (re-framed)', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', '4;x="GET /smuggled HTTP/1.1"\r\nabcd\r\n0\r\n\r\n'), expected: { reframed: 'abcd' } },
  { title: 'a chunk size with leading zeros (re-framed)', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', '0004\r\nabcd\r\n0\r\n\r\n'), expected: { reframed: 'abcd' } },
  { title: 'a trailer naming Transfer-Encoding and Content-Length', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', `4\r\nabcd\r\n0\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n${SMUGGLED}`), expected: { rejected: 400 } },
  { title: 'a plain trailer (re-framed)', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', '4\r\nabcd\r\n0\r\nX-Checksum: 1\r\n\r\n'), expected: { reframed: 'abcd' } },
  { title: 'a chunked body that holds a request (TE framing wins, one request)', bytes: (p) => post(p, 'Transfer-Encoding: chunked\r\n', chunked(SMUGGLED)), expected: { reframed: SMUGGLED } },
];

/** What a payload must come to, in the words the test compares. */
function expectedOutcome({ expected }: SmugglingCase): string {
  return 'rejected' in expected
    ? `${expected.rejected}, closed, nothing reached the upstream`
    : `200, one request reached the upstream with body ${JSON.stringify(expected.reframed)}`;
}

/** Sends one payload on its own connection and says what came of it, in the words of `expectedOutcome`. */
async function observeOutcome(port: number, payload: string, seenAt: (path: string) => readonly Buffer[], path: string): Promise<string> {
  const connection = await RawConnection.open(port);
  let status: number | string;
  let closed = false;
  try {
    connection.write(payload);
    status = (await connection.readResponse({ timeoutMs: 10_000 })).status;
    if (status >= 400) {
      await connection.readUntilClosed(10_000);
      closed = true;
    }
  } catch (error) {
    status = `no response (${(error as Error).message})`;
  } finally {
    connection.destroy();
  }
  // A request on another connection after the payload: whatever the payload made the balancer send has been sent by then.
  await httpCall(port, { path: `${path}-after` });
  const bodies = seenAt(path);
  if (bodies.length === 0) return `${status}${closed ? ', closed' : ''}, nothing reached the upstream`;
  return `${status}${closed ? ', closed' : ''}, ${bodies.length === 1 ? 'one request' : `${bodies.length} requests`} reached the upstream with body ${bodies
    .map((body) => JSON.stringify(body.toString('latin1')))
    .join(' and ')}`;
}

test(`${cases.length} smuggling payloads: each rejected (status, closed, nothing forwarded) or re-framed as exactly one request; the hidden request never reaches the upstream`, async (t) => {
  t.timeout(60_000);
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const seenAt = (path: string): Buffer[] => upstream.requests.filter((request) => request.url === path).map((request) => request.body);

  const expected: string[] = [];
  const observed: string[] = [];
  for (const [index, entry] of cases.entries()) {
    const path = `/case-${index}`;
    expected.push(`${entry.title}: ${expectedOutcome(entry)}`);
    observed.push(`${entry.title}: ${await observeOutcome(balancer.port, entry.bytes(path), seenAt, path)}`);
  }
  t.deepEqual(observed, expected);

  t.deepEqual(
    upstream.requests.filter((request) => request.url.includes('smuggled')).map((request) => request.url),
    [],
    'no hidden request ever reaches the upstream',
  );
  t.deepEqual(balancer.process.crashReports(), []);
  t.is(balancer.process.exit, null, 'the balancer is still running');
  const reframed = cases.filter((entry) => 'reframed' in entry.expected).length;
  t.log(`${cases.length - reframed} rejected, ${reframed} re-framed`);
});

test('a request pipelined behind a rejected one is never forwarded: the connection closes after the rejection', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  // Well framed, so the parser reads on: the first has no Host (400), the second is fine on its own.
  connection.write('GET /no-host HTTP/1.1\r\nAccept: */*\r\n\r\nGET /behind HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await connection.readResponse({ timeoutMs: 10_000 })).status, 400);
  t.is((await connection.readUntilClosed(10_000)).length, 0, 'no second response');
  t.is((await httpCall(balancer.port, { path: '/next' })).status, 200);
  t.deepEqual(
    upstream.requests.map((request) => request.url),
    ['/next'],
  );
});
