/**
 * Sending one exchange's request to one upstream. The attempt reports its
 * outcome to the connection's settlement (src/actors/connection.ts): a
 * response head, which is relayed at once while the exchange is live, or a
 * failure classified by where it happened, which the connection actor
 * decides on.
 */
import type { Dispatcher } from 'undici';
import type { LoadFigures } from '../balancing/load.js';
import type { RequestHeaderPolicy } from './headers.js';
import type { Exchange } from './exchange.js';
import { replaceHeaders, upstreamRequestHeaders } from './headers.js';
import { UpstreamCall, type AttemptSettlement } from './upstream-call.js';

export function forwardToUpstream(
  exchange: Exchange,
  upstreamId: string,
  dispatcher: Dispatcher,
  load: LoadFigures,
  policy: RequestHeaderPolicy,
  settlement: AttemptSettlement,
): void {
  const { req } = exchange;
  // Counted in here, out exactly once by the call (completed, failed or discarded).
  load.attemptStarted();
  const call = new UpstreamCall(load, exchange, upstreamId, settlement);
  // The client going away gives up this attempt, so it does not hold a pooled connection until a timeout.
  exchange.upstreamCall = call;
  const headers = upstreamRequestHeaders(req.rawHeaders, exchange.peerIp, policy);
  if (exchange.upstreamHeaders !== null) replaceHeaders(headers, exchange.upstreamHeaders);
  dispatcher.dispatch(
    {
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: exchange.body,
    },
    call,
  );
}
