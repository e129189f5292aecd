/**
 * Sending one exchange's request to one upstream. The outcome comes back as
 * the event the connection actor decides on: a response head, or a failure
 * classified by where it happened.
 */
import type { Dispatcher } from 'undici';
import type { UpstreamFailed, UpstreamResponded } from '../protocol/index.js';
import type { Exchange } from './exchange.js';
import { classifyUpstreamError } from './failure.js';
import { upstreamRequestHeaders } from './headers.js';

export type ForwardOutcome = UpstreamResponded | UpstreamFailed;

export async function forwardToUpstream(
  exchange: Exchange,
  upstreamId: string,
  dispatcher: Dispatcher,
): Promise<ForwardOutcome> {
  const { req } = exchange;
  try {
    const response = await dispatcher.request({
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, exchange.clientIp),
      body: exchange.body,
      signal: exchange.clientGone.signal,
    });
    return { type: 'upstream.responded', exchange, response };
  } catch (error) {
    const bodyFailed = exchange.body?.clientFailed === true;
    return { type: 'upstream.failed', exchange, failure: classifyUpstreamError(error, upstreamId, bodyFailed) };
  }
}
