/**
 * Writing to the client: an upstream's response streamed through with
 * backpressure, or a short response of balancebeam's own (429, 502, ...).
 */
import { STATUS_CODES } from 'node:http';
import { pipeline } from 'node:stream';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { clientResponseHeaders } from './headers.js';

// A failed relay has already destroyed the client response; the exchange ends through its 'close'.
const ignoreRelayError = (): void => {};

/**
 * Drop an upstream response nobody will read. undici's body reports being
 * destroyed unread as an 'error' (AbortError); with no listener that would be
 * an uncaught exception, so one that ignores it is attached first.
 */
export function discardUpstreamBody(response: UpstreamResponse): void {
  response.body.once('error', ignoreRelayError);
  response.body.destroy();
}

export function relayResponse(exchange: Exchange, response: UpstreamResponse): void {
  const { res } = exchange;
  if (res.destroyed) {
    discardUpstreamBody(response);
    return;
  }
  exchange.status = response.statusCode;
  res.writeHead(response.statusCode, clientResponseHeaders(response.headers));
  pipeline(response.body, res, ignoreRelayError);
}

export function respondWithStatus(
  exchange: Exchange,
  status: number,
  extraHeaders?: Record<string, string | number>,
): void {
  const { res } = exchange;
  exchange.status = status;
  if (res.headersSent) {
    // Too late for a clean answer: cut the connection so a partial response never looks complete.
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}
