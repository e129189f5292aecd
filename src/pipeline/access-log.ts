/** One `info` line per finished request: the access log, as a finished hook. */
import { performance } from 'node:perf_hooks';
import { log } from '../log.js';
import type { FinishedHook, FinishedView } from './filter.js';

export class AccessLog implements FinishedHook {
  readonly name = 'access-log';

  finished(request: FinishedView): void {
    if (!log.enabled('info')) return;
    log.info('request', {
      client: request.clientIp,
      method: request.req.method,
      url: request.req.url,
      upstream: request.upstreamId,
      // A response cut short (the client's connection closed under it) logs status 0.
      status: request.res.writableFinished ? request.status : 0,
      ms: Math.round((performance.now() - request.startedAt) * 100) / 100,
      outcome: request.outcome === 'proxied' ? undefined : (request.outcome ?? undefined),
      reason: request.reason ?? undefined,
      // Upstreams tried, when a fail-over or a resend took more than one.
      attempts: request.tried.length > 1 ? request.tried.length : undefined,
    });
  }
}
