/**
 * The vocabulary of balancebeam: every message an actor sends or receives.
 * Read this folder first; the actors are the grammar that uses it.
 */
import type { BalancerUpstreamsSet } from './balancer.js';
import type { CachePurge, CachePurged } from './cache-purge.js';
import type { ClientDisconnected, ClientSilent, RequestMalformed, RequestReceived, UpstreamFailed } from './connection.js';
import type { FeedActorList, FeedBatch, FeedListActors, FeedWatch } from './feed.js';
import type { HealthProbeResult, HealthRoundFinished } from './health.js';
import type { InspectionRecord, InspectionStateCounts } from './inspection.js';
import type { WorkerFailed, WorkerListening } from './lifecycle.js';
import type { LeaseEnded, LeaseGranted, LeaseHolderGone, LeaseRecall, LeaseWanted, LoginFailed, RateLimitCheck } from './rate-limit.js';
import type { RequestVerdict } from './request.js';
import type { MetricsReport, MetricsWanted } from './metrics.js';
import type { SettingsApplied, SettingsChanged, SettingsWanted } from './settings.js';
import type { UpstreamConnectFailed, UpstreamHealthChanged, UpstreamMisbehaved, UpstreamSubscribe } from './upstream.js';

export * from './address.js';
export type * from './balancer.js';
export * from './cache-purge.js';
export type * from './connection.js';
export * from './feed.js';
export type * from './health.js';
export type * from './inspection.js';
export type * from './lifecycle.js';
export type * from './metrics.js';
export type * from './rate-limit.js';
export type * from './request.js';
export type * from './settings.js';
export type * from './upstream.js';
export type * from './waf.js';

/** Messages that travel through the mailbox router, possibly between processes: plain data only. */
export type RoutedMessage =
  | RateLimitCheck
  | LoginFailed
  | LeaseWanted
  | LeaseGranted
  | LeaseEnded
  | LeaseRecall
  | LeaseHolderGone
  | RequestVerdict
  | UpstreamConnectFailed
  | UpstreamMisbehaved
  | UpstreamSubscribe
  | UpstreamHealthChanged
  | BalancerUpstreamsSet
  | HealthProbeResult
  | WorkerListening
  | WorkerFailed
  | SettingsChanged
  | SettingsWanted
  | SettingsApplied
  | MetricsWanted
  | MetricsReport
  | InspectionRecord
  | InspectionStateCounts
  | FeedBatch
  | FeedListActors
  | FeedActorList
  | FeedWatch
  | CachePurge
  | CachePurged;

/**
 * Everything a connection actor reacts to; X is its exchange (a live object). A response head that
 * arrives for a live exchange and the end of a response are no events: the attempt relays the one and
 * the listener records the other in the actor's ledger (src/actors/connection.ts says why).
 */
export type ConnectionEvent<X> =
  | RequestReceived<X>
  | RequestMalformed<X>
  | RequestVerdict
  | UpstreamFailed<X>
  | ClientSilent
  | ClientDisconnected;

export type UpstreamEvent = UpstreamConnectFailed | UpstreamMisbehaved | UpstreamSubscribe | HealthProbeResult;
export type HealthSupervisorEvent = HealthProbeResult | HealthRoundFinished;
export type RateLimiterEvent = RateLimitCheck | LoginFailed | LeaseWanted | LeaseEnded | LeaseHolderGone;
export type LeaseHolderEvent = LeaseGranted | LeaseRecall;
export type BalancerEvent = UpstreamHealthChanged | BalancerUpstreamsSet;
export type LifecycleEvent = WorkerListening | WorkerFailed;
