/**
 * Writing to the client: an upstream's response streamed through with
 * backpressure, its interim (1xx) responses, or a short response of
 * balancebeam's own (429, 502, ...).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { log } from '../log.js';
import type { LocalResponse } from '../pipeline/filter.js';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { headerStrings, stripHopByHop } from './headers.js';

export function relayResponse(exchange: Exchange, response: UpstreamResponse): void {
  const { res } = exchange;
  if (res.destroyed) {
    response.discard();
    return;
  }
  exchange.status = response.statusCode;
  response.pipeTo(exchange);
}

/** A response balancebeam holds (a stored one): written whole, the body at once (it is at most --cache-max-object-size). */
export function respondWithLocal(exchange: Exchange, response: LocalResponse): void {
  const { res } = exchange;
  exchange.status = response.status;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(response.status, response.headers as string[]);
  if (response.body === null) res.end();
  else res.end(response.body);
}

export function respondWithStatus(
  exchange: Exchange,
  status: number,
  extraHeaders?: Readonly<Record<string, string | number>>,
  text?: string,
): void {
  const { res } = exchange;
  exchange.status = status;
  if (res.headersSent) {
    // Too late for a clean answer: cut the connection so a partial response never looks complete.
    res.destroy();
    return;
  }
  const body = text ?? `${status} ${STATUS_CODES[status] ?? ''}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

/**
 * An upstream's interim response, passed on as RFC 9110 §15.2 asks of a proxy
 * where Node can write it: `103 Early Hints` (with its Link and other
 * end-to-end headers) and `102 Processing`. Others are dropped (Node writes no
 * arbitrary 1xx; a client may ignore them anyway). Never to an HTTP/1.0 client,
 * nor once the final response has begun. A 100 never gets here: the client's
 * own 100 is balancebeam's to send (see request-body.ts), and an upstream's is
 * dropped with the bytes (interim-responses.ts).
 */
export function relayInterimResponse(res: ServerResponse, statusCode: number, rawHeaders: readonly Buffer[]): void {
  if (res.headersSent || res.writableEnded || res.destroyed || res.req.httpVersionMinor < 1) return;
  if (statusCode === 102) {
    res.writeProcessing();
    return;
  }
  if (statusCode !== 103) return;
  const headers = headerStrings(rawHeaders);
  stripHopByHop(headers);
  const hints: Record<string, string | string[]> = {};
  const links: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name === 'link') links.push(value);
    else hints[name] = hints[name] === undefined ? value : `${String(hints[name])}, ${value}`;
  }
  if (links.length === 0) return; // Node writes Early Hints only with a Link; without one they hint at nothing
  hints.link = links;
  try {
    res.writeEarlyHints(hints);
  } catch (error) {
    // Node validates the Link syntax and throws on what it rejects: the hint is dropped, the response goes on.
    log.debug('early hints dropped', { reason: error instanceof Error ? error.message : String(error) });
  }
}
