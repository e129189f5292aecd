/**
 * How a request ends, and the verdicts of the request pipeline's filters.
 * Plain data: a verdict may be decided in another process (the rate limiter
 * in the primary) and cross the router.
 */

/** Where an upstream attempt failed (src/proxy/failure.ts classifies undici's errors into these). */
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

/** A failed upstream attempt, as the connection actor decides on it. */
export interface ProxyFailure {
  readonly kind: ProxyFailureKind;
  readonly upstreamId: string;
  readonly message: string;
  /** The TCP connection was never established: the upstream is down, not just this request. */
  readonly connectFailed: boolean;
}

/** How the client's request body failed (src/proxy/request-body.ts). */
export type RequestBodyFailure = 'too-large' | 'stalled' | 'malformed' | 'client-aborted';

/**
 * Every way a request can end: a closed set, so it can label logs and
 * metrics. `proxied` is the upstream's response relayed, whatever its status;
 * `client-closed` and `client-send-timeout` end a request with nobody to
 * answer; every other outcome is an answer of balancebeam's own, whose status
 * `statusFor` (src/proxy/outcome.ts) gives.
 */
export type Outcome =
  | 'proxied'
  // Answered from the response cache (a stored response, or a stale one in place of a failure).
  | 'cache-hit'
  // The head broke a rule (request-limits): never forwarded, the connection is closed.
  | 'version-not-supported'
  | 'uri-too-long'
  | 'too-many-headers'
  | 'bad-request'
  | 'coding-not-implemented'
  | 'body-too-large'
  // Request filters.
  | 'expectation-failed'
  | 'method-not-allowed'
  | 'rate-limited'
  // The rate-limit store could not decide and --rate-limit-store-failure is closed: 503.
  | 'rate-limit-unavailable'
  // The web application firewall's anomaly score reached its threshold (--waf block).
  | 'waf-blocked'
  // Upstream selection and attempts.
  | 'no-live-upstream'
  | Exclude<ProxyFailureKind, 'request-body-failed'>
  // The client's body failed while being forwarded.
  | `request-body-${RequestBodyFailure}`
  // The client went away, or stopped reading for --client-send-timeout: nothing more is sent to it.
  | 'client-closed'
  | 'client-send-timeout';

/** An outcome balancebeam answers itself, with a status of its own. */
export type AnswerOutcome = Exclude<Outcome, 'proxied' | 'cache-hit' | 'client-closed' | 'client-send-timeout'>;

/** A filter's decision to answer the request itself rather than forward it. */
export interface Answer {
  readonly outcome: AnswerOutcome;
  /** Extra response headers (`retry-after`, ...). */
  readonly headers?: Readonly<Record<string, string | number>>;
  /** Why, in words, for the log line. */
  readonly reason?: string;
  /** The response body instead of the status line's words (the WAF's 403 names a request id). */
  readonly body?: string;
}

/**
 * A request filter that said "pending" decided: `answer` null lets the
 * request go on to the next filter. Sent to the asking connection's mailbox.
 */
export interface RequestVerdict {
  readonly type: 'request.verdict';
  readonly requestId: number;
  readonly answer: Answer | null;
  /** With a pass: fields for the response the client will get (the RateLimit fields), added by the pipeline. */
  readonly headers?: Readonly<Record<string, string>>;
}
