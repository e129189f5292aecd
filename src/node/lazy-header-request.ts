/**
 * The listener's IncomingMessage: node:http's own, except that node:http's
 * checks before the request is handed over do not build its header object.
 *
 * `req.headers` is built lazily from `req.rawHeaders` (node's
 * lib/_http_incoming.js), but node:http's server reads it for every request
 * before emitting it: `req.headers.expect` on HTTP/1.1 (for 100-continue) and
 * `req.headers.te` on HTTP/1.0 (lib/_http_server.js, Node 20). That one read
 * builds the object (an own property per field, lowercased names, joined
 * duplicates: ~0.1 µs for wrk's one field, microseconds for a browser's dozen)
 * for a request whose every other reader uses the raw list (src/proxy/headers.ts).
 *
 * Until the listener takes the request (`takeRequest`), a head with no Expect
 * and no TE field answers those reads with an empty object: exactly what they
 * would find. From then on `req.headers` is node's, built on first use, for
 * the features that look fields up by name (the cache, rate-limit rules keyed
 * by a header, consistent hashing on a header or cookie, the WAF's body type).
 * Not while a diagnostics_channel subscriber sees requests start (it may read
 * the headers), nor for an upgrade (node reads nothing before 'upgrade'). A
 * PerformanceObserver of 'http' entries records the empty object.
 * `test/unit/lazy-header-request.test.ts` fails if node:http starts reading
 * other fields first.
 */
import { channel } from 'node:diagnostics_channel';
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { headerCount } from '../proxy/headers.js';

const TAKEN = Symbol('balancebeam.taken');

/** What node:http's own reads find in a head without Expect or TE. */
const NOTHING_NODE_READS: IncomingHttpHeaders = Object.freeze({});

const requestStart = channel('http.server.request.start');

// node's own accessor (lib/_http_incoming.js), called through Reflect with the request as receiver: it
// builds the object from rawHeaders on first use.
if (Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'headers')?.get === undefined) {
  throw new Error("node:http's IncomingMessage has no lazy `headers` accessor: lazy-header-request.ts needs updating");
}

/** `upgrade` is node's own field (set by its parser; not in @types/node). */
const isUpgrade = (req: IncomingMessage): boolean => (req as { upgrade?: boolean }).upgrade === true;

export class LazyHeaderRequest extends IncomingMessage {
  /** The listener has the request: node:http's own reads are over. */
  [TAKEN] = false;
}

Object.defineProperty(LazyHeaderRequest.prototype, 'headers', {
  configurable: true,
  enumerable: false,
  get(this: LazyHeaderRequest): IncomingHttpHeaders {
    if (!this[TAKEN] && !isUpgrade(this) && !requestStart.hasSubscribers && headerCount(this.rawHeaders, 'expect') === 0 && headerCount(this.rawHeaders, 'te') === 0) {
      return NOTHING_NODE_READS;
    }
    return Reflect.get<IncomingMessage, 'headers'>(IncomingMessage.prototype, 'headers', this);
  },
  set(this: LazyHeaderRequest, value: IncomingHttpHeaders): void {
    Reflect.set(IncomingMessage.prototype, 'headers', value, this);
  },
});

/** The listener has the request: `req.headers` is node's from now on. Called before anything else reads it. */
export function takeRequest(req: IncomingMessage): void {
  if (req instanceof LazyHeaderRequest) req[TAKEN] = true;
}

