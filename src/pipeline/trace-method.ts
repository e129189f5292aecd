/**
 * TRACE is answered 405, as nginx does: it echoes the request back, headers
 * and all, which turns a cross-site scripting hole into a way to read
 * HttpOnly cookies and whatever credentials a proxy in front added
 * (cross-site tracing). `--allow-trace` forwards it.
 */
import type { Answer } from '../protocol/index.js';
import type { RequestFilter, RequestView } from './filter.js';

const NOT_ALLOWED: Answer = { outcome: 'method-not-allowed', reason: 'TRACE is not forwarded (--allow-trace)' };

export class RefuseTraceFilter implements RequestFilter {
  readonly name = 'refuse-trace';

  check(request: RequestView): Answer | null {
    return request.req.method === 'TRACE' ? NOT_ALLOWED : null;
  }
}
