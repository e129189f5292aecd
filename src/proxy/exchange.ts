/**
 * One request/response pair on a client connection, from the parsed request
 * head to the last byte of the response. Owned by the connection actor that
 * received it; the byte path (request-body, forward, relay) reads it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeferredRequestBody } from './request-body.js';
import type { RequestRejection } from './request-limits.js';

/** An upstream's response head, with its body still to be streamed or dropped. */
export interface UpstreamResponse {
  readonly statusCode: number;
  /** Write the head and stream the body into the client's response, with backpressure. */
  pipeTo(res: ServerResponse): void;
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
  /** How the request ended when it did not end with an upstream response. */
  outcome: string | null = null;
  /** Set when the head broke a rule (request-limits): answered with its status, never forwarded. */
  rejection: RequestRejection | null = null;
  /**
   * The attempt under way, if any: given up when the client's response closes
   * before it is done, or the client leaves. `awaitingClientSince` (ms, the
   * actor's clock) says since when its response has been waiting on the client,
   * for the send timeout.
   */
  upstreamCall: { discard(): void; readonly awaitingClientSince: number | null } | null = null;

  constructor(
    readonly id: number,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly clientIp: string,
    readonly startedAt: number,
    /** Replaced by a fresh one when a connect failure sends the request elsewhere. */
    public body: DeferredRequestBody | null,
  ) {}
}

/** Where an upstream attempt failed; the connection actor switches on it. */
export type ProxyFailureKind =
  | 'upstream-refused'
  | 'upstream-connect-timeout'
  | 'upstream-unreachable'
  | 'upstream-reset'
  | 'upstream-response-timeout'
  | 'upstream-protocol-error'
  | 'request-body-failed'
  /** This process is out of ports, descriptors or buffers: answered 503, never held against the upstream. */
  | 'local-resources-exhausted';

export interface ProxyFailure {
  readonly kind: ProxyFailureKind;
  readonly upstreamId: string;
  readonly message: string;
  /** The TCP connection was never established: the upstream is down, not just this request. */
  readonly connectFailed: boolean;
}
