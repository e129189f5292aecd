/**
 * The vocabulary of balancebeam: every message an actor sends or receives.
 * Read this folder first; the actors are the grammar that uses it.
 */
import type { ClientDisconnected, ClientSilent, RequestMalformed, RequestReceived, ResponseFinished, UpstreamFailed, UpstreamResponded } from './connection.js';
import type { HealthProbeResult, HealthRoundFinished } from './health.js';
import type { InspectionRecord, InspectionStateCounts } from './inspection.js';
import type { WorkerFailed, WorkerListening } from './lifecycle.js';
import type { RateLimitCheck, RateLimitVerdict } from './rate-limit.js';
import type { UpstreamConnectFailed, UpstreamHealthChanged, UpstreamMisbehaved, UpstreamSubscribe } from './upstream.js';

export * from './address.js';
export type * from './connection.js';
export type * from './health.js';
export type * from './inspection.js';
export type * from './lifecycle.js';
export type * from './rate-limit.js';
export type * from './upstream.js';

/** Messages that travel through the mailbox router, possibly between processes: plain data only. */
export type RoutedMessage =
  | RateLimitCheck
  | RateLimitVerdict
  | UpstreamConnectFailed
  | UpstreamMisbehaved
  | UpstreamSubscribe
  | UpstreamHealthChanged
  | HealthProbeResult
  | WorkerListening
  | WorkerFailed
  | InspectionRecord
  | InspectionStateCounts;

/** Everything a connection actor reacts to. */
export type ConnectionEvent =
  | RequestReceived
  | RequestMalformed
  | RateLimitVerdict
  | UpstreamResponded
  | UpstreamFailed
  | ResponseFinished
  | ClientSilent
  | ClientDisconnected;

export type UpstreamEvent = UpstreamConnectFailed | UpstreamMisbehaved | UpstreamSubscribe | HealthProbeResult;
export type HealthSupervisorEvent = HealthProbeResult | HealthRoundFinished;
export type RateLimiterEvent = RateLimitCheck;
export type BalancerEvent = UpstreamHealthChanged;
export type LifecycleEvent = WorkerListening | WorkerFailed;
