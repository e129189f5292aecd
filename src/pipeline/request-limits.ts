/**
 * The checks a parsed request head must pass before it may be forwarded, for
 * what llhttp (strict mode) lets through but a proxy must not: limits it does
 * not enforce itself (URI length, header count, Content-Length against the
 * body limit) and framing or routing it leaves to the application (transfer
 * codings other than chunked, Host, request-target form, HTTP version).
 *
 * The first request filter: runs synchronously on the parsed head, so a
 * rejected head is never dispatched. Every rejection closes the connection: the body that may
 * follow is unread, and for framing errors its length is not to be trusted.
 */
import type { IncomingMessage } from 'node:http';
import type { ClientLimits } from '../config/config.js';
import { log } from '../log.js';
import type { Answer } from '../protocol/index.js';
import { firstHeaderValue, headerCount, headerValue } from '../proxy/headers.js';
import { statusFor } from '../proxy/outcome.js';
import type { RequestFilter, RequestView } from './filter.js';

/** A broken rule: how the request ends, and why in words (for the warn line). */
export type RequestRejection = Answer & { readonly reason: string };

/** The parts of ClientLimits a request head is checked against. */
export type RequestHeadLimits = Pick<ClientLimits, 'maxHeaders' | 'maxUriLength' | 'maxBodySize'>;

/**
 * The first rule `req` breaks, or null. Order matters only for which status a
 * request breaking several rules gets: version, then size limits, then framing.
 */
export function checkRequestHead(req: IncomingMessage, limits: RequestHeadLimits): RequestRejection | null {
  if (req.httpVersionMajor !== 1) {
    return { outcome: 'version-not-supported', reason: `HTTP/${req.httpVersion} is not supported` };
  }
  const url = req.url ?? '';
  if (url.length > limits.maxUriLength) {
    return { outcome: 'uri-too-long', reason: `request target of ${url.length} bytes (limit ${limits.maxUriLength})` };
  }
  // Node keeps at most maxHeadersCount fields and silently drops the rest; the listener sets it one
  // above the limit, so "one more than allowed" here means "too many".
  const fieldCount = req.rawHeaders.length / 2;
  if (fieldCount > limits.maxHeaders) {
    return { outcome: 'too-many-headers', reason: `more than ${limits.maxHeaders} header fields` };
  }
  if (!url.startsWith('/')) {
    // absolute-form, authority-form (CONNECT) and asterisk-form: balancebeam is a reverse proxy for
    // origin-form requests only, and an absolute URI naming another host must not be routed by Host.
    return { outcome: 'bad-request', reason: 'request target is not origin-form (/path)' };
  }
  const hostRejection = checkHost(req);
  if (hostRejection !== null) return hostRejection;
  // Read off the raw list (as node:http's header object would give them), so that no object is built.
  const codingRejection = checkTransferCoding(headerValue(req.rawHeaders, 'transfer-encoding'));
  if (codingRejection !== null) return codingRejection;
  if (limits.maxBodySize > 0) {
    const length = Number(firstHeaderValue(req.rawHeaders, 'content-length') ?? '0');
    if (length > limits.maxBodySize) {
      return { outcome: 'body-too-large', reason: `Content-Length ${length} (limit ${limits.maxBodySize})` };
    }
  }
  return null;
}

/** RFC 9112 §3.2: HTTP/1.1 needs exactly one Host field; several, or one on 1.0 repeated, is a 400. */
function checkHost(req: IncomingMessage): RequestRejection | null {
  const hosts = headerCount(req.rawHeaders, 'host');
  if (hosts > 1) return { outcome: 'bad-request', reason: 'more than one Host header' };
  if (hosts === 0 && req.httpVersionMinor >= 1) return { outcome: 'bad-request', reason: 'no Host header on HTTP/1.1' };
  return null;
}

/**
 * RFC 9112 §6.3: a request whose final transfer-coding is not chunked has no
 * trustworthy length → 400 (llhttp rejects most of these itself, after the
 * head has been emitted). §6.1: a coding the server does not understand → 501;
 * balancebeam understands chunked alone and forwards nothing it cannot frame.
 */
function checkTransferCoding(header: string | undefined): RequestRejection | null {
  if (header === undefined) return null;
  const codings = header.split(',').map((coding) => coding.trim().toLowerCase());
  if (codings[codings.length - 1] !== 'chunked') {
    return { outcome: 'bad-request', reason: `Transfer-Encoding '${header}' does not end in chunked` };
  }
  if (codings.length > 1) return { outcome: 'coding-not-implemented', reason: `Transfer-Encoding '${header}' is not understood` };
  return null;
}

/** The head checks as a request filter; a rejection is logged at warn, as every rejection is. */
export class RequestLimitsFilter implements RequestFilter {
  readonly name = 'request-limits';

  constructor(private readonly limits: RequestHeadLimits) {}

  check(request: RequestView): RequestRejection | null {
    const rejection = checkRequestHead(request.req, this.limits);
    if (rejection !== null) {
      log.warn('rejected request', { client: request.clientIp, status: statusFor(rejection.outcome), reason: rejection.reason });
    }
    return rejection;
  }
}
