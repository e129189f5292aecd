/**
 * Rate limiting and brute-force protection as pipeline stages. The counts
 * live in a store (src/rate-limit/store.ts: the primary's actor, or Redis):
 * the request filter gathers the request's checks — the default limit, each
 * config rule the request matches, and on a login path its lock-out — asks
 * the store once, and passes when the store admitted it at once (the memory
 * store's lease), or says PENDING; the store's `request.verdict` (pass, or
 * 429 with Retry-After and the RateLimit fields) reaches the connection.
 * A response filter adds the RateLimit fields a pass carried, and on login
 * paths reports failed logins back to the store.
 */
import type { LimitCheck, LimitingSettings, RateLimitRule, RateLimitSettings, BruteForceSettings, Address } from '../protocol/index.js';
import { clientKeyOf } from '../node/client-ip.js';
import type { RateLimitStore } from '../rate-limit/store.js';
import { PENDING, type Pending, type RequestFilter, type RequestView, type ResponseFilter, type ResponseHead, type ResponseTap } from './filter.js';

/** The default limit (`--max-requests-per-window` and friends) is a rule named `default`, keyed by client. */
export const DEFAULT_RULE = 'default';

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function onPaths(path: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (path.startsWith(prefix)) return true;
  return false;
}

export class RateLimitFilter implements RequestFilter {
  readonly name = 'rate-limit';

  constructor(
    private readonly store: RateLimitStore,
    private readonly defaultLimit: RateLimitSettings | null,
    private readonly limiting: LimitingSettings,
  ) {}

  check(request: RequestView, replyTo: Address): Pending | null {
    const checks = this.checksFor(request);
    if (checks.length === 0) return null;
    // Admitted on the spot (a lease's permit) or PENDING until the store's verdict.
    return this.store.decide(request.id, checks, this.limiting.headersWhenAllowed, replyTo) ? null : PENDING;
  }

  /** Every limit the request falls under: the default, each matching rule, a login path's lock-out. */
  checksFor(request: RequestView): LimitCheck[] {
    const client = clientKeyOf(request.clientIp, this.limiting.ipv6Prefix);
    const checks: LimitCheck[] = [];
    if (this.defaultLimit !== null) checks.push({ rule: DEFAULT_RULE, key: client, limit: this.defaultLimit });
    const { rules, bruteForce } = this.limiting;
    if (rules.length === 0 && bruteForce === null) return checks;
    const path = pathOf(request.req.url);
    for (const rule of rules) {
      const key = ruleKey(rule, request, path, client);
      if (key !== null) checks.push({ rule: rule.name, key, limit: rule.limit });
    }
    if (bruteForce !== null && onPaths(path, bruteForce.paths)) checks.push({ rule: 'login', key: client, limit: null });
    return checks;
  }
}

/** The key a rule counts this request by, or null when the rule does not apply to it. */
function ruleKey(rule: RateLimitRule, request: RequestView, path: string, client: string): string | null {
  if (rule.pathPrefix !== null && !path.startsWith(rule.pathPrefix)) return null;
  if (rule.header !== null && request.req.headers[rule.header] === undefined) return null;
  if (rule.key.from === 'client-ip') return client;
  const value = request.req.headers[rule.key.name];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.join(',');
}

/** The RateLimit fields a store's pass asked for (`--rate-limit-headers`), on the upstream's response. */
export class RateLimitHeadersFilter implements ResponseFilter {
  readonly name = 'rate-limit-headers';

  onHead(request: RequestView, head: ResponseHead): null {
    const fields = request.verdictHeaders;
    if (fields === undefined || fields === null) return null;
    for (const name in fields) head.headers.push(name, fields[name] as string);
    return null;
  }
}

/**
 * Brute-force protection's eyes: an upstream answer on a login path with a
 * failure status (or the failure header) counts one failed login for the
 * client. The lock-out itself is a check of RateLimitFilter.
 */
export class LoginFailureWatch implements ResponseFilter {
  readonly name = 'login-failures';

  constructor(
    private readonly store: RateLimitStore,
    private readonly settings: BruteForceSettings,
    private readonly ipv6Prefix: number,
  ) {}

  onHead(request: RequestView, head: ResponseHead): ResponseTap | null {
    const { failureStatuses, failureHeader, paths, policy } = this.settings;
    if (!onPaths(pathOf(request.req.url), paths)) return null;
    let failed = failureStatuses.includes(head.statusCode);
    if (!failed && failureHeader !== null) {
      for (let i = 0; i < head.headers.length; i += 2) {
        if ((head.headers[i] as string).toLowerCase() === failureHeader) {
          failed = true;
          break;
        }
      }
    }
    if (failed) this.store.loginFailed(clientKeyOf(request.clientIp, this.ipv6Prefix), policy);
    return null;
  }
}
