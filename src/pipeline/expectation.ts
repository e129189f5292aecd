/**
 * `Expect` other than `100-continue` is answered 417 (RFC 9110 §10.1.1):
 * balancebeam cannot meet an expectation it does not know, and undici will
 * not send `Expect` upstream. `100-continue` is met by the listener and
 * request-body.ts (a 100 once the body is first needed). HTTP/1.0 requests
 * may carry Expect and have it ignored (RFC 9110 §10.1.1).
 */
import type { Answer } from '../protocol/index.js';
import { headerValue } from '../proxy/headers.js';
import type { RequestFilter, RequestView } from './filter.js';

export class UnsupportedExpectationFilter implements RequestFilter {
  readonly name = 'unsupported-expectation';

  check(request: RequestView): Answer | null {
    const { req } = request;
    const expect = headerValue(req.rawHeaders, 'expect');
    if (expect === undefined || req.httpVersionMinor < 1 || expect.trim().toLowerCase() === '100-continue') return null;
    return { outcome: 'expectation-failed', reason: `Expect '${expect}' is not supported` };
  }
}
