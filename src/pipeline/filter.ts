/**
 * The seams of the request pipeline (src/pipeline/index.ts holds the list).
 *
 * A request filter looks at a request head and answers by itself, lets it
 * pass, or says PENDING: its verdict will reach the connection's mailbox as
 * a `request.verdict` message (the rate limiter decides in the primary; a
 * Redis store would answer later the same way). The connection actor runs
 * the filters in order and does not know which exist.
 *
 * Filters are objects with methods, built once per settings version: running
 * the list allocates nothing per request (no closure, no Promise, no state
 * change in the actor).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Address, Answer, Outcome, RequestBodyFailure } from '../protocol/index.js';

/**
 * What a filter sees of a request: read-only, so a filter decides by
 * returning a verdict rather than by changing the exchange. (The Exchange
 * class, src/proxy/exchange.ts, has these fields; declaring the view here
 * keeps the seams free of the byte path.)
 */
export interface RequestView {
  readonly id: number;
  readonly req: IncomingMessage;
  /** The client as src/node/client-ip.ts sees it (behind a trusted proxy: what the proxy reports). */
  readonly clientIp: string;
  /** Response fields a PENDING filter's pass asked for (the RateLimit fields); null: none. */
  readonly verdictHeaders?: Readonly<Record<string, string>> | null;
  /**
   * The amendments a filter may make, all null unless one does (the cache):
   * header fields sent upstream in place of the client's of the same names
   * (a revalidation's If-None-Match / If-Modified-Since); what answers the
   * request instead of a failure to get an upstream response (stale-if-error);
   * and the filter's own note, read back by its response filter and hooks.
   */
  upstreamHeaders: string[] | null;
  fallback: FailureFallback | null;
  filterNote: object | null;
  /** The request body, when it has one: a filter may read its prefix ahead of the upstream (the WAF). */
  readonly body: RequestBodyView | null;
}

/**
 * A response balancebeam sends from what it holds rather than from an
 * upstream: a stored response (its head as the client gets it, and its body;
 * null for HEAD and 304). Local to the process, never routed.
 */
export interface LocalResponse {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer | null;
}

/** Stands in for an upstream that could not be reached or failed (stale-if-error); null: nothing to offer. */
export interface FailureFallback {
  responseForFailure(): LocalResponse | null;
}

/**
 * The body-prefix seam: a filter that must see the start of a body before it decides (the WAF)
 * asks the body to read up to `limit` bytes ahead of the upstream and hold them, says PENDING, and
 * sends its `request.verdict` once the sink is told. The held bytes go upstream first when the
 * request is forwarded; the rest of a larger body streams on uninspected. At most `limit` bytes plus
 * one socket read are held, and the body-idle timeout covers the wait for them.
 */
export interface RequestBodyView {
  holdPrefix(limit: number, sink: BodyPrefixSink): void;
}

export interface BodyPrefixSink {
  /** The first `limit` bytes, or the whole body when `complete` (shorter than the limit). Called once. */
  prefixReady(prefix: Buffer, complete: boolean): void;
  /** The body failed before its prefix was in (too large, stalled, malformed, the client gone). Called once, instead. */
  prefixFailed(failure: RequestBodyFailure): void;
}

/** What a finished hook sees: the request and how it ended. */
export interface FinishedView extends RequestView {
  readonly res: ServerResponse;
  /** performance.now() when the head was parsed. */
  readonly startedAt: number;
  /** The status the client was sent; 0 if none was. */
  readonly status: number;
  readonly outcome: Outcome | null;
  /** Words for the log line when the outcome needs them (which rule a rejected head broke). */
  readonly reason: string | null;
  /** The upstream of the last attempt, if any. */
  readonly upstreamId: string | null;
  /** Every upstream tried, in order. */
  readonly tried: readonly string[];
}

/** The filter's verdict will arrive later as a `request.verdict` message for this request. */
export const PENDING = Symbol('pending');
export type Pending = typeof PENDING;

export interface RequestFilter {
  readonly name: string;
  /**
   * An answer ends the request here (a status of balancebeam's own, or a
   * LocalResponse: a stored one); null passes it on; PENDING waits for a request.verdict.
   */
  check(request: RequestView, replyTo: Address): Answer | LocalResponse | null | Pending;
}

/** An upstream response head on its way to the client: filters may rewrite `headers` in place. */
export interface ResponseHead {
  readonly statusCode: number;
  /** `[name, value, ...]` as the client will get them, in order, duplicates kept. */
  headers: string[];
  /**
   * Set by a filter to send this instead, the upstream's body read and dropped: the stored 200 an
   * upstream 304 revalidated, or a stale response in place of a 5xx. Null (always, without a cache).
   */
  replacement: LocalResponse | null;
}

/** Sees a response body as it streams to the client, without holding it up (a cache store, metrics). */
export interface ResponseTap {
  data(chunk: Buffer): void;
  end(): void;
  /** The response broke off or was abandoned: whatever was gathered is incomplete. */
  abort(): void;
}

export interface ResponseFilter {
  readonly name: string;
  /** Called once per relayed response, before its head is written; may return a tap for its body. */
  onHead(request: RequestView, head: ResponseHead): ResponseTap | null;
}

/** Runs once a request is over, whatever its outcome: the access log, later metrics. */
export interface FinishedHook {
  readonly name: string;
  finished(request: FinishedView): void;
}

/** What balancebeam does to a request, in order; built by `buildPipeline` once per settings version. */
export interface Pipeline {
  readonly requestFilters: readonly RequestFilter[];
  readonly responseFilters: readonly ResponseFilter[];
  readonly finishedHooks: readonly FinishedHook[];
}
