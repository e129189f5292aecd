/**
 * The header work of one proxied request, alone, in-process: node:http's own
 * read of `req.headers` before it emits a request, the head checks, the body
 * test, the expectation filter and the upstream request's list; and on the
 * way back the decoding of undici's raw field bytes and hop-by-hop removal.
 * `--before DIR` runs a built checkout's same functions beside this one's,
 * alternating rounds in one process, so a change to src/proxy/headers.ts is
 * measured without the noise of a whole proxy on a shared machine.
 *
 *   node dist/bench/header-cost.js [--before ../other-checkout] [--rounds 15]
 */
import { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

type Raw = string[];

/** What this bench calls, as a checkout's dist/src has it (older builds took Connection as an argument). */
interface HeaderCode {
  readonly label: string;
  readonly Request: new (socket: null) => IncomingMessage;
  take(req: IncomingMessage): void;
  requestHasBody(req: IncomingMessage): boolean;
  checkHead(req: IncomingMessage): unknown;
  expectation(req: IncomingMessage): unknown;
  upstreamHeaders(req: IncomingMessage): string[];
  responseHeaders(raw: Buffer[]): string[];
}

const LIMITS = { maxHeaders: 100, maxUriLength: 8192, maxBodySize: 1 << 20 };
const POLICY = { allowUnderscoresInHeaders: false };

type Call = (...args: unknown[]) => unknown;
type Constructor = new (...args: unknown[]) => unknown;

/** A module of a build, by path: only the exports this bench calls, checked when they are used. */
async function moduleOf(root: string, path: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(resolve(root, 'dist/src', path)).href)) as Record<string, unknown>;
}

async function loadCode(root: string, label: string): Promise<HeaderCode> {
  const headers = await moduleOf(root, 'proxy/headers.js');
  const limits = await moduleOf(root, 'pipeline/request-limits.js');
  const body = await moduleOf(root, 'proxy/request-body.js');
  const expectation = new ((await moduleOf(root, 'pipeline/expectation.js')).UnsupportedExpectationFilter as Constructor)() as { check: Call };
  const strip = new ((await moduleOf(root, 'pipeline/response-headers.js')).StripHopByHopFilter as Constructor)() as { onHead: Call };
  let lazy: Record<string, unknown> | null = null;
  try {
    lazy = await moduleOf(root, 'node/lazy-header-request.js');
  } catch {
    // A build from before the listener had its own IncomingMessage.
  }
  const upstreamRequestHeaders = headers.upstreamRequestHeaders as Call;
  const headerStrings = headers.headerStrings as Call;
  const takesConnection = upstreamRequestHeaders.length === 4;
  return {
    label,
    Request: (lazy?.LazyHeaderRequest ?? IncomingMessage) as HeaderCode['Request'],
    take: (lazy?.takeRequest ?? ((): void => {})) as HeaderCode['take'],
    requestHasBody: (req) => (body.requestHasBody as Call)(req) as boolean,
    checkHead: (req) => (limits.checkRequestHead as Call)(req, LIMITS),
    expectation: (req) => expectation.check({ req }),
    upstreamHeaders: (req) =>
      (takesConnection
        ? upstreamRequestHeaders(req.rawHeaders, req.headers.connection, '10.0.0.1', POLICY)
        : upstreamRequestHeaders(req.rawHeaders, '10.0.0.1', POLICY)) as string[],
    responseHeaders: (raw) => {
      const head = { statusCode: 200, headers: headerStrings(raw) as string[], replacement: null };
      strip.onHead(null, head);
      return head.headers;
    },
  };
}

/** A parsed request as node:http's parser leaves it, up to the listener's handler. */
function requestSide(code: HeaderCode, raw: Raw): string[] {
  const req = new code.Request(null);
  (req as unknown as { _addHeaderLines(fields: Raw, count: number): void })._addHeaderLines(raw, raw.length);
  Object.assign(req, { url: '/', method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, httpVersion: '1.1' });
  // node:http's own check before it emits the request (lib/_http_server.js).
  if (req.headers.expect !== undefined) throw new Error('no Expect in these heads');
  code.take(req);
  code.requestHasBody(req);
  if (code.checkHead(req) !== null || code.expectation(req) !== null) throw new Error('the head was rejected');
  return code.upstreamHeaders(req);
}

/** Raw header fields as undici hands them over: views of the one socket read they were parsed from. */
function viewsOfOneRead(pairs: Raw): Buffer[] {
  let text = 'HTTP/1.1 200 OK\r\n';
  const spans: [number, number][] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] as string;
    const value = pairs[i + 1] as string;
    spans.push([text.length, name.length]);
    text += `${name}: `;
    spans.push([text.length, value.length]);
    text += `${value}\r\n`;
  }
  const read = Buffer.from(`${text}\r\nhello world\n`, 'latin1');
  return spans.map(([at, length]) => read.subarray(at, at + length));
}

const REQUESTS: Record<string, Raw> = {
  'wrk keep-alive': ['Host', '127.0.0.1:8080'],
  'wrk Connection: close': ['Host', '127.0.0.1:8080', 'Connection', 'close'],
  browser: [
    'Host', 'example.com',
    'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language', 'en-US,en;q=0.9',
    'Accept-Encoding', 'gzip, deflate, br',
    'Connection', 'keep-alive',
    'Cookie', 'session=abc123; theme=dark',
    'Upgrade-Insecure-Requests', '1',
    'Sec-Fetch-Dest', 'document',
    'Sec-Fetch-Mode', 'navigate',
    'Cache-Control', 'max-age=0',
  ],
}; // prettier-ignore

/** What the bench's nginx origin answers (`GET /`). */
const NGINX_RESPONSE: Raw = [
  'Server', 'nginx/1.22.1',
  'Date', 'Tue, 01 Dec 2026 20:55:00 GMT',
  'Content-Type', 'application/octet-stream',
  'Content-Length', '12',
  'Last-Modified', 'Tue, 01 Dec 2026 20:00:00 GMT',
  'Connection', 'keep-alive',
  'ETag', '"65a-c"',
  'Accept-Ranges', 'bytes',
]; // prettier-ignore

function nsPerCall(run: () => string[], calls: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += run().length;
  const ns = Number(process.hrtime.bigint() - start) / calls;
  return sink < 0 ? -1 : ns;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '15' } } });
  const here = resolve(fileURLToPath(import.meta.url), '../../..');
  const codes = [await loadCode(here, 'this build')];
  if (values.before !== undefined) codes.unshift(await loadCode(resolve(values.before), `before (${values.before})`));
  const rounds = Number(values.rounds);
  const views = viewsOfOneRead(NGINX_RESPONSE);
  const cases: [string, (code: HeaderCode) => () => string[]][] = [
    ...Object.entries(REQUESTS).map(([name, raw]): [string, (code: HeaderCode) => () => string[]] => [
      `request, ${name} (${raw.length / 2} fields)`,
      (code) => () => requestSide(code, raw),
    ]),
    [`response, nginx's (${NGINX_RESPONSE.length / 2} fields)`, (code) => () => code.responseHeaders(views)],
  ];
  // Every build must give the same lists, or the comparison means nothing.
  for (const [name, make] of cases) {
    const outputs = codes.map((code) => JSON.stringify(make(code)()));
    if (new Set(outputs).size !== 1) throw new Error(`${name}: the builds' outputs differ`);
  }
  console.log(`ns per request, median of ${rounds} rounds of 100k (min in brackets); load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const [name, make] of cases) {
    const runs = codes.map((code) => make(code));
    const times = codes.map((): number[] => []);
    for (let round = 0; round < rounds; round++) runs.forEach((run, i) => times[i]?.push(nsPerCall(run, 100_000)));
    const cells = codes.map((code, i) => `${code.label}: ${median(times[i] ?? []).toFixed(0)} (${Math.min(...(times[i] ?? [])).toFixed(0)})`);
    console.log(`${name.padEnd(40)} ${cells.join('   ')}`);
  }
}

await main();
