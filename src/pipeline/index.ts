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
 *      (with --cache-size, the cache: wait + lookup are request filters, store a response filter)
 *   5. finished hooks, whatever the outcome
 *
 * The connection actor runs the lists; it does not know which filters exist.
 * A pipeline is built once per settings version (at start and on reload);
 * a request keeps the one it started with.
 */
import type { MailboxRouter } from '../actors/router.js';
import type { Config } from '../config/config.js';
import type { CacheRegistry } from '../cache/registry.js';
import { AccessLog } from './access-log.js';
import { CacheLookupFilter, CacheReleaseHook, CacheStoreFilter, CacheWaitFilter } from './cache.js';
import type { FinishedHook, Pipeline, RequestFilter, ResponseFilter } from './filter.js';
import { PrimaryStore } from '../rate-limit/primary-store.js';
import type { RateLimitStore } from '../rate-limit/store.js';
import { LoginFailureWatch, RateLimitFilter, RateLimitHeadersFilter } from './rate-limit.js';
import { RequestLimitsFilter } from './request-limits.js';
import { StripHopByHopFilter } from './response-headers.js';
import { UnsupportedExpectationFilter } from './expectation.js';
import { RefuseTraceFilter } from './trace-method.js';
import { WafFilter } from './waf.js';
import { WafEngine } from '../waf/engine.js';
import type { WafCounters } from '../waf/counters.js';

/** `limiting`, `cache` and `waf` may be left out (off) by callers that build a pipeline of their own (benches, tests). */
export type PipelineSettings = Pick<Config, 'clientLimits' | 'requestPolicy' | 'rateLimit'> & Partial<Pick<Config, 'limiting' | 'cache' | 'waf'>>;

export interface PipelineServices {
  /** Where filters that decide elsewhere (the rate limiter) send their questions. */
  readonly router: MailboxRouter;
  /** Where rate-limit counts live (src/rate-limit/store.ts); default: the primary's actor, through the router. */
  readonly rateLimitStore?: RateLimitStore;
  /** Hooks of features outside the pipeline that want every finished request (/metrics, the visualizer's figures). */
  readonly finishedHooks?: readonly FinishedHook[];
  /** The process's response cache, kept across reloads; absent: no cache whatever the settings. */
  readonly caches?: CacheRegistry;
  /** The WAF's counters for /metrics, kept across reloads (admin server on). */
  readonly wafCounters?: WafCounters | null;
}

const NO_LIMITING: NonNullable<PipelineSettings['limiting']> = {
  rules: [],
  store: { kind: 'memory' },
  storeTimeoutMs: 5,
  storeFailure: 'local',
  ipv6Prefix: 64,
  headersWhenAllowed: false,
  bruteForce: null,
};

export function buildPipeline(settings: PipelineSettings, services: PipelineServices): Pipeline {
  const requestFilters: RequestFilter[] = [
    // 505 / 414 / 431 / 400 / 501 / 413: what llhttp lets through but a proxy must not (RFC 9112).
    new RequestLimitsFilter(settings.clientLimits),
  ];
  // 417 for an Expect other than 100-continue.
  requestFilters.push(new UnsupportedExpectationFilter());
  // 405 for TRACE (cross-site tracing), unless --allow-trace.
  if (!settings.requestPolicy.allowTrace) requestFilters.push(new RefuseTraceFilter());
  // 429 over the client's limits (the default, each matching rule) or while it is locked out after failed
  // logins; counted in the store (the primary, or Redis), so the verdict comes back as a message.
  const limiting = settings.limiting ?? NO_LIMITING;
  const store = services.rateLimitStore ?? new PrimaryStore(services.router);
  if (settings.rateLimit !== null || limiting.rules.length > 0 || limiting.bruteForce !== null) {
    requestFilters.push(new RateLimitFilter(store, settings.rateLimit, limiting));
  }
  // 403 (or a log line: --waf detect) for an attack; after the rate limit, so a flood is refused cheaply.
  // With a body, the verdict waits for its prefix (up to --waf-body-limit), held back from the upstream.
  if (settings.waf !== undefined && settings.waf !== null) requestFilters.push(new WafFilter(new WafEngine(settings.waf), services.router, services.wafCounters ?? null));
  // The response cache (--cache-size): after the limits and the WAF, so a hit is limited and screened like a miss.
  const cache = services.caches?.forSettings(settings.cache ?? null) ?? null;
  if (cache !== null) {
    // A GET for a URL whose response is on its way waits for it (PENDING), then looks again.
    requestFilters.push(new CacheWaitFilter(cache));
    // A usable stored response is the answer; a stale one goes upstream with its validators.
    requestFilters.push(new CacheLookupFilter(cache));
  }

  const responseFilters: ResponseFilter[] = [
    // Hop-by-hop fields, and those the upstream's Connection names, never reach the client.
    new StripHopByHopFilter(),
  ];
  // The RateLimit fields on admitted requests' responses (--rate-limit-headers).
  if (limiting.headersWhenAllowed) responseFilters.push(new RateLimitHeadersFilter());
  // A failure status or header on a login path counts a failed login (brute-force protection).
  if (limiting.bruteForce !== null) responseFilters.push(new LoginFailureWatch(store, limiting.bruteForce, limiting.ipv6Prefix));
  // Stores what may be stored (after hop-by-hop removal, so none is stored), answers revalidations.
  if (cache !== null) responseFilters.push(new CacheStoreFilter(cache));

  const finishedHooks: FinishedHook[] = [
    // One info line per request (client, method, url, upstream, status, ms, outcome).
    new AccessLog(),
    // Requests by upstream, outcome and status for /metrics (admin server on); the visualizer's figures.
    ...(services.finishedHooks ?? []),
  ];
  // A request that led a fill and ended without a stored response lets its waiters go.
  if (cache !== null) finishedHooks.push(new CacheReleaseHook(cache));

  return { requestFilters, responseFilters, finishedHooks };
}
