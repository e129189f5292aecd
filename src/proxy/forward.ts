/**
 * Sending one exchange's request to one upstream. The outcome comes back as
 * the event the connection actor decides on: a response head, or a failure
 * classified by where it happened.
 */
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { LoadFigures } from '../balancing/load.js';
import type { UpstreamFailed, UpstreamResponded } from '../protocol/index.js';
import type { RequestHeaderPolicy } from './headers.js';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { classifyUpstreamError } from './failure.js';
import { replaceHeaders, upstreamRequestHeaders } from './headers.js';
import { UpstreamCall } from './upstream-call.js';

export type ForwardOutcome = UpstreamResponded<Exchange, UpstreamResponse> | UpstreamFailed<Exchange>;

export function forwardToUpstream(
  exchange: Exchange,
  upstreamId: string,
  dispatcher: Dispatcher,
  load: LoadFigures,
  policy: RequestHeaderPolicy,
  settled: (outcome: ForwardOutcome) => void,
): void {
  const { req } = exchange;
  // Counted in here, out exactly once by the call (completed, failed or discarded).
  load.attemptStarted();
  const call = new UpstreamCall(load, {
    // Called from undici's parser, so the actor decides (and attaches the client's response) before any
    // body byte is parsed: no pause and resume of the upstream connection per response.
    responded: (response) => settled({ type: 'upstream.responded', exchange, response }),
    failed: (error) => {
      const bodyFailed = exchange.body?.clientFailed === true;
      const failure = classifyUpstreamError(error, upstreamId, bodyFailed);
      // A failure that is the upstream's counts as a slow sample; the client's body or its leaving does not.
      if (failure.kind !== 'request-body-failed' && !call.wasDiscarded) load.failureSampled(performance.now());
      settled({ type: 'upstream.failed', exchange, failure });
    },
  }, exchange.res);
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
