/**
 * Test clients: a raw TCP connection that writes exact bytes and parses the
 * HTTP/1.1 responses that come back (for pipelining, malformed requests and
 * "no body" checks), and a node:http request that reports which socket it used.
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { withDeadline } from './wait.js';

/** A bare GET request head, as a raw connection writes it. */
export const rawGet = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`;

export interface RawResponse {
  readonly status: number;
  /** Lowercased names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  readonly head: string;
  readonly body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Parses one response from the front of `buffer`; null when more bytes are needed. */
export function parseResponse(
  buffer: Buffer,
  ended: boolean,
  noBody: boolean,
  /** Return a 1xx interim response as one of its own instead of skipping it. */
  interim = false,
): { readonly response: RawResponse; readonly rest: Buffer } | null {
  const headEnd = buffer.indexOf(HEAD_END);
  if (headEnd === -1) return null;
  const head = buffer.subarray(0, headEnd).toString('latin1');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (statusMatch === null) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const status = Number(statusMatch[1]);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let offset = headEnd + HEAD_END.length;
  const done = (body: Buffer, end: number) => ({ response: { status, headers, head, body }, rest: buffer.subarray(end) });
  if (status >= 100 && status < 200) {
    // An interim response (100 Continue): the real one follows.
    return interim ? done(Buffer.alloc(0), offset) : parseResponse(buffer.subarray(offset), ended, noBody);
  }
  if (noBody || status === 204 || status === 304) return done(Buffer.alloc(0), offset);
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked') === true) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd === -1) return null;
      const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size line');
      offset = lineEnd + 2;
      if (size === 0) {
        // Trailers (usually none), then the blank line.
        const trailerEnd = buffer.indexOf('\r\n', offset);
        if (trailerEnd === -1) return null;
        if (trailerEnd === offset) return done(Buffer.concat(chunks), offset + 2);
        const trailersEnd = buffer.indexOf(HEAD_END, offset);
        if (trailersEnd === -1) return null;
        return done(Buffer.concat(chunks), trailersEnd + HEAD_END.length);
      }
      if (buffer.length < offset + size + 2) return null;
      chunks.push(buffer.subarray(offset, offset + size));
      offset += size + 2;
    }
  }
  const length = headers['content-length'];
  if (length !== undefined) {
    const end = offset + Number(length);
    if (buffer.length < end) return null;
    return done(buffer.subarray(offset, end), end);
  }
  // Delimited by the connection closing.
  if (!ended) return null;
  return done(buffer.subarray(offset), buffer.length);
}

/** One client TCP connection to which a test writes exact bytes. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    this.closed = new Promise<void>((resolve) => {
      socket.once('close', () => {
        this.ended = true;
        this.notify();
        resolve();
      });
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => {
      // Surfaces as the connection ending; the test decides whether that is a failure.
    });
  }

  static async open(port: number, timeoutMs = 10_000): Promise<RawConnection> {
    const socket = connect({ port, host: '127.0.0.1' });
    const connection = new RawConnection(socket);
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      timeoutMs,
      `a connection to 127.0.0.1:${port}`,
    );
    return connection;
  }

  /** Whether the peer has ended or closed the connection. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Bytes received but not yet returned by a read: after a complete response, bytes that leaked past its end. */
  get unread(): number {
    return this.buffer.length;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next complete response on this connection. */
  async readResponse(
    options: { readonly timeoutMs?: number; readonly noBody?: boolean; readonly interim?: boolean } = {},
  ): Promise<RawResponse> {
    const deadline = performance.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = parseResponse(this.buffer, this.ended, options.noBody === true, options.interim === true);
      if (parsed !== null) {
        this.buffer = Buffer.from(parsed.rest);
        return parsed.response;
      }
      if (this.ended) {
        throw new Error(`connection ended before a complete response; received ${JSON.stringify(this.buffer.toString('latin1').slice(0, 500))}`);
      }
      await withDeadline(this.nextEvent(), Math.max(1, deadline - performance.now()), 'a response');
    }
  }

  /** The next `length` bytes, as they come (for tunnelled bytes after a 101). */
  async readBytes(length: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = performance.now() + timeoutMs;
    while (this.buffer.length < length) {
      if (this.ended) throw new Error(`connection ended after ${this.buffer.length} of ${length} bytes`);
      await withDeadline(this.nextEvent(), Math.max(1, deadline - performance.now()), `${length} bytes`);
    }
    const bytes = Buffer.from(this.buffer.subarray(0, length));
    this.buffer = Buffer.from(this.buffer.subarray(length));
    return bytes;
  }

  /** Everything received until the peer closes the connection. */
  async readUntilClosed(timeoutMs = 10_000): Promise<Buffer> {
    await withDeadline(this.closed, timeoutMs, 'the connection to close');
    const all = this.buffer;
    this.buffer = Buffer.alloc(0);
    return all;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The client-side port of the connection used. */
  readonly localPort: number;
  /** node:http reused a keep-alive connection for this request. */
  readonly reusedSocket: boolean;
}

export interface HttpOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** A body sent in one piece (with its content-length unless headers say otherwise). */
  readonly body?: string | Buffer;
  /** A body streamed from this Readable (chunked unless headers give a content-length). */
  readonly bodyStream?: Readable;
  /** false (the default): a fresh connection, closed after the response. */
  readonly agent?: Agent | false;
  readonly timeoutMs?: number;
}

/** One request with node:http, body collected. */
export async function httpCall(port: number, options: HttpOptions = {}): Promise<HttpResult> {
  const { body, bodyStream } = options;
  const headers: OutgoingHttpHeaders = { ...options.headers };
  if (body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = Buffer.byteLength(body);
  }
  const call = new Promise<HttpResult>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const localPort = res.socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            localPort,
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.once('error', reject);
    if (bodyStream !== undefined) bodyStream.pipe(req);
    else req.end(body);
  });
  return withDeadline(call, options.timeoutMs ?? 15_000, `${options.method ?? 'GET'} ${options.path ?? '/'}`);
}
