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
import { UpstreamCall } from './upstream-call.js';

export type ForwardOutcome = UpstreamResponded | UpstreamFailed;

export function forwardToUpstream(
  exchange: Exchange,
  upstreamId: string,
  dispatcher: Dispatcher,
  settled: (outcome: ForwardOutcome) => void,
): void {
  const { req } = exchange;
  const call = new UpstreamCall({
    // Called from undici's parser, so the actor decides (and attaches the client's response) before any
    // body byte is parsed: no pause and resume of the upstream connection per response.
    responded: (response) => settled({ type: 'upstream.responded', exchange, response }),
    failed: (error) => {
      const bodyFailed = exchange.body?.clientFailed === true;
      settled({ type: 'upstream.failed', exchange, failure: classifyUpstreamError(error, upstreamId, bodyFailed) });
    },
  }, exchange.res);
  // The client going away gives up this attempt, so it does not hold a pooled connection until a timeout.
  exchange.upstreamCall = call;
  dispatcher.dispatch(
    {
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, exchange.clientIp),
      body: exchange.body,
    },
    call,
  );
}
