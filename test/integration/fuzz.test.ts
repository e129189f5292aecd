/**
 * Property-based: generated request bytes (from a grammar of good and known-bad
 * request-line, header and body fragments, some then mutated byte by byte) fed
 * to a running balancer. Whatever comes in: the balancer does not crash, every
 * connection is answered or closed within a bound, no request known to be
 * malformed reaches the upstream, and every known-good one does.
 */
import test from 'ava';
import fc from 'fast-check';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { withDeadline } from '../helpers/wait.js';

/** One generated request: its bytes and what the generator knows about them. */
interface GeneratedRequest {
  readonly bytes: Buffer;
  /** 'good': built from valid fragments only; 'bad': contains a fragment known to be malformed; 'mutated': unknown. */
  readonly kind: 'good' | 'bad' | 'mutated';
  readonly path: string;
}

const token = fc.stringMatching(/^[a-z0-9]{1,8}$/);

/** A valid request, as its parts, so a bad variant can swap exactly one part. */
interface Parts {
  method: string;
  target: string;
  version: string;
  headers: string[];
  body: string;
}

const goodParts = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  segment: token,
  extraHeaders: fc.array(fc.tuple(fc.constantFrom('X-A', 'Accept', 'User-Agent', 'X-Trace'), token), { maxLength: 4 }),
  body: fc.option(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '{', '}'), minLength: 1, maxLength: 40 }), { nil: '' }),
  chunked: fc.boolean(),
});

function render(parts: Parts): Buffer {
  return Buffer.from(`${parts.method} ${parts.target} ${parts.version}\r\n${parts.headers.join('')}\r\n${parts.body}`, 'latin1');
}

function framing(body: string, chunked: boolean): { headers: string[]; body: string } {
  if (body === '') return { headers: [], body: '' };
  if (chunked) return { headers: ['Transfer-Encoding: chunked\r\n'], body: `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` };
  return { headers: [`Content-Length: ${body.length}\r\n`], body };
}

/** Each turns a valid request into one known to be malformed (the cases of malformed.test.ts and more). */
const BREAKERS: readonly ((parts: Parts) => void)[] = [
  (p) => p.headers.push('Content-Length: 3\r\n', 'Transfer-Encoding: chunked\r\n'),
  (p) => p.headers.push('Content-Length: 1\r\n', 'Content-Length: 2\r\n'),
  (p) => p.headers.push('Content-Length: 1x\r\n'),
  (p) => p.headers.push('Content-Length: -1\r\n'),
  (p) => p.headers.push('Transfer-Encoding: gzip\r\n'),
  (p) => p.headers.push('Transfer-Encoding: foo, chunked\r\n'),
  (p) => p.headers.push('X-Nul: a\0b\r\n'),
  (p) => p.headers.push('X-Cr: a\rb\r\n'),
  (p) => p.headers.push('X-Fold: a\r\n  b\r\n'),
  (p) => p.headers.push('no-colon\r\n'),
  (p) => p.headers.push('Host: second\r\n'),
  (p) => {
    p.headers = p.headers.filter((header) => !header.startsWith('Host:'));
  },
  (p) => {
    p.version = 'HTTP/9.9';
  },
  (p) => {
    p.version = 'HTTP/2.0';
  },
  (p) => {
    p.method = p.method.toLowerCase();
  },
  (p) => {
    p.method = `${p.method}(`;
  },
  (p) => {
    p.target = `http://elsewhere.example${p.target}`;
  },
  (p) => {
    p.headers = ['Transfer-Encoding: chunked\r\n', ...p.headers.filter((h) => !/^(Content-Length|Transfer-Encoding)/.test(h))];
    p.body = 'zz\r\nab\r\n0\r\n\r\n';
  },
];

let nextId = 0;

const generatedRequest: fc.Arbitrary<GeneratedRequest> = fc
  .tuple(
    goodParts,
    fc.constantFrom<'good' | 'bad' | 'mutated'>('good', 'bad', 'bad', 'mutated'),
    fc.nat({ max: BREAKERS.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([good, kind, breaker, mutations]) => {
    const path = `/${kind}/${nextId++}/${good.segment}`;
    const framed = framing(good.method === 'GET' || good.method === 'DELETE' ? '' : good.body, good.chunked);
    const parts: Parts = {
      method: good.method,
      target: path,
      version: 'HTTP/1.1',
      headers: ['Host: x\r\n', ...good.extraHeaders.map(([name, value]) => `${name}: ${value}\r\n`), ...framed.headers],
      body: framed.body,
    };
    if (kind === 'bad') BREAKERS[breaker]?.(parts);
    let bytes = render(parts);
    if (kind === 'mutated') {
      for (const [at, how, byte] of mutations) {
        const position = at % (bytes.length + 1);
        const replacement = Buffer.from([byte]);
        if (how === 'insert') bytes = Buffer.concat([bytes.subarray(0, position), replacement, bytes.subarray(position)]);
        else if (how === 'delete') bytes = Buffer.concat([bytes.subarray(0, position), bytes.subarray(position + 1)]);
        else bytes = Buffer.concat([bytes.subarray(0, position), replacement, bytes.subarray(position + 1)]);
      }
    }
    return { bytes, kind, path };
  });

/** 'answered' (a response came back), 'closed' (the connection closed without one), or a timeout error. */
async function outcomeOf(port: number, request: GeneratedRequest, boundMs: number): Promise<{ outcome: string; status: number }> {
  const connection = await RawConnection.open(port);
  try {
    connection.write(request.bytes);
    return await withDeadline(
      connection
        .readResponse({ timeoutMs: boundMs })
        .then((response) => ({ outcome: 'answered', status: response.status }))
        .catch((error: unknown) => {
          if (connection.isEnded) return { outcome: 'closed', status: 0 };
          throw error;
        }),
      boundMs,
      `an answer or a close for ${JSON.stringify(request.bytes.toString('latin1').slice(0, 200))}`,
    );
  } finally {
    connection.destroy();
  }
}

test('fuzz: generated malformed requests never crash the balancer, are all answered or closed, and never reach the upstream', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, [
    '--upstream', upstream.id,
    '--active-health-check-interval', '0',
    '--client-header-timeout', '1',
    '--client-body-timeout', '1',
    '--keep-alive-timeout', '1',
  ]); // prettier-ignore
  // An incomplete request waits for the 1 s header or body timeout (checked every 250 ms): 5 s is ample.
  const boundMs = 5_000;
  let good = 0;
  let bad = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(generatedRequest, { minLength: 20, maxLength: 20 }), async (batch) => {
      const results = await Promise.all(batch.map((request) => outcomeOf(balancer.port, request, boundMs)));
      batch.forEach((request, i) => {
        if (request.kind === 'good') {
          good++;
          if (results[i]?.status !== 200) {
            const logged = balancer.process.logsWith((line) => line.raw.includes(request.path)).map((line) => line.raw);
            throw new Error(
              `good request not served: ${JSON.stringify(request.bytes.toString('latin1'))} → ${JSON.stringify(results[i])}; exit: ${JSON.stringify(balancer.process.exit)} ${balancer.process.stderr.split("\n").filter((l) => !l.includes("\"info\"")).join(" | ").slice(-1500)}; logged: ${logged.join('\n')}`,
            );
          }
        }
        if (request.kind === 'bad') {
          bad++;
          const status = results[i]?.status ?? 0;
          if (status !== 0 && (status < 400 || status >= 600)) {
            throw new Error(`bad request answered ${status}: ${JSON.stringify(request.bytes.toString('latin1'))}`);
          }
        }
      });
      if (balancer.process.exit !== null) throw new Error(`balancer exited: ${JSON.stringify(balancer.process.exit)}`);
    }),
    { seed: 20261123, numRuns: 10, endOnFailure: true, includeErrorInReport: true },
  );

  const seen = upstream.proxied();
  t.deepEqual(
    seen.filter((request) => request.url.startsWith('/bad/')).map((request) => request.url),
    [],
    'no request known to be malformed reached the upstream',
  );
  for (const request of seen) {
    t.true(request.url.startsWith('/'), `origin-form target: ${request.url}`);
    t.is(request.rawHeaders.filter((_, i) => i % 2 === 0 && request.rawHeaders[i]?.toLowerCase() === 'host').length, 1);
  }
  t.is(seen.filter((request) => request.url.startsWith('/good/')).length, good, 'every good request reached the upstream once');
  t.true(good > 20 && bad > 50, `a mix was generated (${good} good, ${bad} bad)`);

  t.is(balancer.process.exit, null, 'the balancer is still running');
  const after = await httpCall(balancer.port, { path: '/after-fuzz' });
  t.is(after.status, 200);
});
