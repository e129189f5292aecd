/**
 * The request key a strategy may hash on (client IP, a header, a cookie...).
 * Computed only when the strategy says it reads one (`usesKey`), so the
 * strategies that do not pay nothing for it.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What a key may be drawn from: an Exchange satisfies it. */
export interface KeySource {
  readonly clientIp: string;
  readonly req: { readonly url?: string | undefined; readonly headers: IncomingHttpHeaders };
}

export type RequestKeyOf = (request: KeySource) => string;

export const clientIpKey: RequestKeyOf = (request) => request.clientIp;
