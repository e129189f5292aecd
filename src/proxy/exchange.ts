/**
 * One request/response pair on a client connection, from the parsed request
 * head to the last byte of the response: the per-request context that travels
 * through the pipeline. Owned by the connection actor that received it; the
 * byte path (request-body, forward, relay) reads it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FailureFallback, Pipeline } from '../pipeline/filter.js';
import type { Outcome } from '../protocol/index.js';
import type { DeferredRequestBody } from './request-body.js';

/** An upstream's response head, with its body still to be streamed or dropped. */
export interface UpstreamResponse {
  readonly statusCode: number;
  /** Run the response filters, write the head and stream the body into the client's response, with backpressure. */
  pipeTo(exchange: Exchange): void;
  /** Nobody will read it: abort the upstream request. */
  discard(): void;
}

export class Exchange {
  /** Upstream ids already tried for this request, so a retry goes elsewhere. */
  readonly tried: string[] = [];
  upstreamId: string | null = null;
  /** Resends after a failure past the connect (reset, garbage): bounded by `--retries`. */
  retries = 0;
  /** The status the client was sent (0 until a response head is written). */
  status = 0;
  /** How the request ended; null until it has. */
  outcome: Outcome | null = null;
  /** Why, in words, when the outcome needs them (the rule a rejected head broke). */
  reason: string | null = null;
  /** When balancebeam gave an answer of its own (the actor's clock), for the send timeout; null if none. */
  answeredAt: number | null = null;
  /**
   * The pipeline of the settings version this request started under, and the
   * index of the request filter to run next: a request waiting on a PENDING
   * filter resumes where it stopped, even if the settings changed meanwhile.
   */
  pipeline: Pipeline | null = null;
  nextFilter = 0;
  /** A filter said PENDING: the next `request.verdict` for this request resumes it (once). */
  awaitingVerdict = false;
  /** Fields a filter's pass asked for on the response (the RateLimit fields); added by the response filters. */
  verdictHeaders: Readonly<Record<string, string>> | null = null;
  /**
   * The attempt under way, if any: given up when the client's response closes
   * before it is done, or the client leaves. `awaitingClientSince` (ms, the
   * actor's clock) says since when its response has been waiting on the client,
   * for the send timeout.
   */
  upstreamCall: { discard(): void; readonly awaitingClientSince: number | null } | null = null;
  /** A filter's amendments (RequestView in src/pipeline/filter.ts): null unless the cache made them. */
  upstreamHeaders: string[] | null = null;
  fallback: FailureFallback | null = null;
  filterNote: object | null = null;

  constructor(
    readonly id: number,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly clientIp: string,
    readonly startedAt: number,
    /** Replaced by a fresh one when a fail-over or a resend sends the request elsewhere (only while unread). */
    public body: DeferredRequestBody | null,
    /** The TCP peer, appended to x-forwarded-for; differs from clientIp behind a trusted proxy (src/node/client-ip.ts). */
    readonly peerIp: string = clientIp,
  ) {}
}
