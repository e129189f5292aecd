/**
 * Writing to the client: an upstream's response streamed through with
 * backpressure, or a short response of balancebeam's own (429, 502, ...).
 */
import { STATUS_CODES } from 'node:http';
import type { Exchange, UpstreamResponse } from './exchange.js';

export function relayResponse(exchange: Exchange, response: UpstreamResponse): void {
  const { res } = exchange;
  if (res.destroyed) {
    response.discard();
    return;
  }
  exchange.status = response.statusCode;
  response.pipeTo(exchange);
}

export function respondWithStatus(
  exchange: Exchange,
  status: number,
  extraHeaders?: Readonly<Record<string, string | number>>,
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
