/** The outcome of one active health probe (`GET <path>`) of one upstream. */
export interface HealthProbeResult {
  readonly type: 'health.probe-result';
  readonly upstreamId: string;
  readonly passed: boolean;
  /** `status 200`, `status 500`, `timeout after 800 ms`, `ECONNREFUSED`, ... */
  readonly detail: string;
}

/** Every probe of a round has answered or timed out. */
export interface HealthRoundFinished {
  readonly type: 'health.round-finished';
}
