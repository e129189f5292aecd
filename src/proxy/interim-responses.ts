/**
 * Upstream sockets that drop `100 Continue` interim responses before undici's
 * parser sees them.
 *
 * Why: RFC 9110 §15.2 requires a client to accept any number of 1xx responses
 * before the final one, expected or not, but undici 7 (client-h1.js,
 * onHeadersComplete) destroys the connection on a 100 as a "bad response"
 * (it never sends `Expect` itself, so it takes every 100 for a broken server),
 * and the client would get 502. Other 1xx (102, 103, ...) undici does parse:
 * they reach the dispatch handler and are left alone here.
 *
 * How: through undici's public `connect` option, each upstream socket gets a
 * `read` that strips 100 heads from the front of a response, and a `write`
 * that notices when a new response is to be expected. With one request at a
 * time per connection (`pipelining: 1`), a response starts only after its
 * request head was written, and the bytes after a request head are a status
 * line. undici writes every request head as one latin1 string starting with
 * the method; body bytes are Buffers and chunk framing strings start with
 * CRLF (client-h1.js, writeBuffer / AsyncWriter), so a string write not
 * starting with CR marks a head. test/integration/responses.test.ts pins
 * this against undici for bodiless, Content-Length and chunked requests;
 * test/unit/interim-responses.test.ts tests the filter alone. Once a status line
 * other than 1xx has passed, nothing is looked at until the next request: no
 * cost per body chunk beyond one branch.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';

/** The most of an incomplete interim head held back (undici's own header limit is 16 KiB). */
const MAX_HELD_BYTES = 16 * 1024;
const CR = 13;
const DIGIT_ONE = 0x31;
const DIGIT_ZERO = 0x30;
const HEAD_END = Buffer.from('\r\n\r\n');
const VERSION_PREFIX = Buffer.from('HTTP/1.');
/** Offset of the status code's first digit in `HTTP/1.x 1dd`. */
const STATUS_AT = 9;

/** At `offset`: 'interim' (a 1xx status line), 'final' (anything else), or 'unknown' until more bytes arrive. */
function statusClassAt(bytes: Buffer, offset: number): 'interim' | 'final' | 'unknown' {
  const available = bytes.length - offset;
  const prefix = Math.min(available, VERSION_PREFIX.length);
  if (VERSION_PREFIX.compare(bytes, offset, offset + prefix, 0, prefix) !== 0) return 'final';
  if (available <= STATUS_AT) return 'unknown';
  return bytes[offset + STATUS_AT] === DIGIT_ONE ? 'interim' : 'final';
}

class InterimResponseFilter {
  /** Between a request head being written and its final status line being read. */
  private awaitingStatus = false;
  /** The start of an interim head split across reads, kept until its end arrives. */
  private held: Buffer | null = null;

  constructor(
    private readonly readSocket: (size?: number) => Buffer | null,
    private readonly writeSocket: Socket['write'],
  ) {}

  read(size?: number): Buffer | null {
    const chunk = this.readSocket(size);
    if (!this.awaitingStatus || chunk === null) return chunk;
    return this.strip(chunk);
  }

  write(...args: Parameters<Socket['write']>): boolean {
    const data = args[0];
    if (typeof data === 'string' && data.charCodeAt(0) !== CR) this.awaitingStatus = true;
    return this.writeSocket(...args);
  }

  /** `chunk` (after anything held) without its leading 100 heads; null while more bytes are needed. */
  private strip(chunk: Buffer): Buffer | null {
    let bytes = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    this.held = null;
    let offset = 0;
    while (offset < bytes.length) {
      const status = statusClassAt(bytes, offset);
      if (status === 'final') {
        // A final status line, or bytes that are not HTTP (undici reports those): done until the next request.
        this.awaitingStatus = false;
        return bytes;
      }
      const end = status === 'interim' ? bytes.indexOf(HEAD_END, offset) : -1;
      if (end === -1) break;
      const next = end + HEAD_END.length;
      if (bytes[offset + STATUS_AT + 1] === DIGIT_ZERO && bytes[offset + STATUS_AT + 2] === DIGIT_ZERO) {
        bytes = Buffer.concat([bytes.subarray(0, offset), bytes.subarray(next)]);
      } else {
        offset = next; // another interim response (102, 103): undici hands it to the dispatch handler
      }
    }
    // What is left at `offset` is an incomplete head: held for the next read, up to the size a head may
    // have; past that it goes on to undici as it is, whose header limit then fails the response.
    if (offset < bytes.length && bytes.length - offset <= MAX_HELD_BYTES) {
      this.held = Buffer.from(bytes.subarray(offset));
      return offset === 0 ? null : bytes.subarray(0, offset);
    }
    this.awaitingStatus = false;
    return bytes;
  }
}

/** Installs the filter on one upstream socket (own properties shadowing the stream methods). */
export function dropInterimContinues(socket: Socket): void {
  const write: Socket['write'] = socket.write.bind(socket);
  const filter = new InterimResponseFilter(socket.read.bind(socket), write);
  socket.read = filter.read.bind(filter);
  socket.write = filter.write.bind(filter) as Socket['write'];
}

/** A connector for undici's `connect` option: `connector`'s sockets, filtered. */
export function connectDroppingContinues(connector: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    connector(options, (...args) => {
      // undici calls back with (null, socket) or with the error alone.
      if (args[0] === null) dropInterimContinues(args[1]);
      callback(...args);
    });
  };
}
