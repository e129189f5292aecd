/**
 * THE REQUEST PIPELINE: what balancebeam does to a request, in order. Read
 * this file to know what happens to one; add a feature's filter here.
 *
 *   1. request filters, in order; each may answer by itself, pass, or say
 *      PENDING and have its verdict arrive later as a `request.verdict`
 *   2. upstream selection and the retry loop      (src/actors/connection.ts: dispatch,
 *                                                  src/proxy/retry-rule.ts, src/health/passive.ts)
 *   3. request headers rewritten for the upstream (src/proxy/headers.ts, upstreamRequestHeaders)
 *   4. response filters on the response head, and their taps on its body
 *   5. finished hooks, whatever the outcome
 *
 * The connection actor runs the lists; it does not know which filters exist.
 * A pipeline is built once per settings version (at start and on reload);
 * a request keeps the one it started with.
 */
import type { MailboxRouter } from '../actors/router.js';
import type { Config } from '../config/config.js';
import { AccessLog } from './access-log.js';
import type { FinishedHook, Pipeline, RequestFilter, ResponseFilter } from './filter.js';
import { RateLimitFilter } from './rate-limit.js';
import { RequestLimitsFilter } from './request-limits.js';
import { StripHopByHopFilter } from './response-headers.js';
import { UnsupportedExpectationFilter } from './expectation.js';
import { RefuseTraceFilter } from './trace-method.js';
import { WafFilter } from './waf.js';
import { WafEngine } from '../waf/engine.js';

/** `waf` may be left out (off) by callers that build a pipeline of their own (benches, tests). */
export type PipelineSettings = Pick<Config, 'clientLimits' | 'requestPolicy' | 'rateLimit'> & Partial<Pick<Config, 'waf'>>;

export interface PipelineServices {
  /** Where filters that decide elsewhere (the rate limiter) send their questions. */
  readonly router: MailboxRouter;
}

export function buildPipeline(settings: PipelineSettings, services: PipelineServices): Pipeline {
  const requestFilters: RequestFilter[] = [
    // 505 / 414 / 431 / 400 / 501 / 413: what llhttp lets through but a proxy must not (RFC 9112).
    new RequestLimitsFilter(settings.clientLimits),
  ];
  // 417 for an Expect other than 100-continue.
  requestFilters.push(new UnsupportedExpectationFilter());
  // 405 for TRACE (cross-site tracing), unless --allow-trace.
  if (!settings.requestPolicy.allowTrace) requestFilters.push(new RefuseTraceFilter());
  // 429 over the client's limit; counted in the primary, so the verdict comes back as a message.
  if (settings.rateLimit !== null) requestFilters.push(new RateLimitFilter(services.router));
  // 403 (or a log line: --waf detect) for an attack; after the rate limit, so a flood is refused cheaply.
  // With a body, the verdict waits for its prefix (up to --waf-body-limit), held back from the upstream.
  if (settings.waf !== undefined && settings.waf !== null) requestFilters.push(new WafFilter(new WafEngine(settings.waf), services.router));

  const responseFilters: ResponseFilter[] = [
    // Hop-by-hop fields, and those the upstream's Connection names, never reach the client.
    new StripHopByHopFilter(),
  ];

  const finishedHooks: FinishedHook[] = [
    // One info line per request (client, method, url, upstream, status, ms, outcome).
    new AccessLog(),
  ];

  return { requestFilters, responseFilters, finishedHooks };
}
