/**
 * The settings of one instance: plain data, since a reload sends them to
 * every worker as a `settings.changed` message over the router (and a worker
 * started later asks for them the same way). src/config/ builds and checks
 * them (the schema, flags, the YAML file); everything else reads them.
 */
import type { LimitingSettings, RateLimitSettings } from './rate-limit.js';
import type { UpstreamTarget } from './upstream.js';
import type { Address, NodeId } from './address.js';
import type { WafSettings } from './waf.js';

export type BalanceAlgorithm =
  | 'round-robin'
  | 'random'
  | 'weighted-round-robin'
  | 'least-connections'
  | 'p2c'
  | 'peak-ewma'
  | 'consistent-hash';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

export interface ActiveHealthCheck {
  readonly intervalMs: number;
  readonly path: string;
}

/**
 * What one client may cost the balancer: how long it may take and how much it
 * may send (issue 4, client side). Times in milliseconds, sizes in bytes.
 */
export interface ClientLimits {
  /** Request head not complete this long after its first byte → 408 (slowloris). */
  readonly headerTimeoutMs: number;
  /** A request body the balancer is reading gets no byte for this long → 408, or the connection closed. */
  readonly bodyTimeoutMs: number;
  /** A connection with no request in flight and no byte received for this long is closed. */
  readonly keepAliveTimeoutMs: number;
  /** Request line plus headers, in bytes → 431 beyond it. */
  readonly maxHeaderSize: number;
  /** Header fields in one request → 431 beyond it. */
  readonly maxHeaders: number;
  /** Request target (path and query), in bytes → 414 beyond it. */
  readonly maxUriLength: number;
  /** Request body in bytes → 413 beyond it; 0: no limit. */
  readonly maxBodySize: number;
  /** Open client connections per process; more are answered 503 and closed. */
  readonly maxConnections: number;
  /**
   * Requests one connection may have between head and response end (pipelining);
   * further ones wait unparsed in the socket, so TCP backpressure stops the client.
   */
  readonly maxPipelinedRequests: number;
  /** A client that accepts no response byte for this long is disconnected and its upstream request released. */
  readonly sendTimeoutMs: number;
}

/** What `consistent-hash` hashes (`--hash-key`): header and cookie names as matched (a header name lower-cased). */
export type HashKeySource =
  | { readonly from: 'client-ip' }
  | { readonly from: 'path' }
  | { readonly from: 'header' | 'cookie' | 'query'; readonly name: string };

/** `consistent-hash`'s settings; the other algorithms ignore them. */
export interface HashingSettings {
  readonly key: HashKeySource;
  /** Bounded load (`--hash-balance-factor`): no upstream above factor × the mean in-flight; 0: off. */
  readonly balanceFactor: number;
  /** What picks for a request that has no key (no such header, cookie or query argument). */
  readonly fallback: Exclude<BalanceAlgorithm, 'consistent-hash'>;
}

/** How each upstream's latency estimate moves (`peak-ewma`'s cost; `p2c`'s tie-break). */
export interface LatencyEstimateSettings {
  /** `--ewma-decay`: time constant of the decay toward faster answers. */
  readonly decayMs: number;
  /** `--ewma-initial-latency`: where a new upstream's estimate starts, so it is tried but not flooded. */
  readonly initialMs: number;
}

/** What the proxy lets through that nginx would not by default (issue 9, item 8). */
export interface RequestPolicy {
  /** Forward header names containing `_` (nginx `underscores_in_headers`); off: they are dropped. */
  readonly allowUnderscoresInHeaders: boolean;
  /** Forward TRACE; off: answered 405, as nginx does. */
  readonly allowTrace: boolean;
}

/**
 * How many results in a row flip an upstream's health (HAProxy's rise/fall):
 * `fall` failures take it out, `rise` passing probes bring it back.
 */
export interface HealthThresholds {
  readonly rise: number;
  readonly fall: number;
}

/** The response cache (issue 12); per worker process. */
export interface CacheSettings {
  /** The memory budget in bytes (bodies, headers and a fixed overhead per object). */
  readonly sizeBytes: number;
  /** A body larger than this is relayed and not stored. */
  readonly maxObjectBytes: number;
  /** How long past its freshness a stored response may stand in for a failing upstream; 0: only as stale-if-error allows. */
  readonly serveStaleOnErrorMs: number;
  readonly heuristicFreshness: boolean;
  readonly setCookie: 'skip' | 'strip' | 'store';
  readonly eviction: 'slru' | 'lru';
  /** How long concurrent misses wait for the first one's response. */
  readonly lockTimeoutMs: number;
}

export interface Config {
  readonly bind: BindAddress;
  readonly upstreams: readonly UpstreamTarget[];
  /** null: active checks are off (`--active-health-check-interval 0`); dead upstreams recover by back-off. */
  readonly activeHealthCheck: ActiveHealthCheck | null;
  /** null: no rate limiting. */
  readonly rateLimit: RateLimitSettings | null;
  readonly balance: BalanceAlgorithm;
  readonly hashing: HashingSettings;
  /** `--slow-start`: a new or newly healthy upstream's weight ramps from 10% to 100% over this long; 0: off. */
  readonly slowStartMs: number;
  /** `--panic-threshold`: below this percentage of upstreams healthy, balance over all of them; 0: off. */
  readonly panicThreshold: number;
  readonly latencyEstimate: LatencyEstimateSettings;
  readonly workers: number;
  readonly logLevel: LogLevel;
  readonly clientLimits: ClientLimits;
  readonly requestPolicy: RequestPolicy;
  readonly healthThresholds: HealthThresholds;

  // Upstream-side failure handling (timeouts, retries, draining on shutdown).
  readonly upstreamTimeouts: UpstreamTimeouts;
  /**
   * How many times a request that reached an upstream but got no response byte
   * back may be sent to another upstream (idempotent methods only). Connect
   * failures fail over to every live upstream regardless: see README.
   */
  readonly retries: number;
  /** How long SIGTERM/SIGINT lets in-flight requests finish before their connections are cut. */
  readonly drainTimeoutMs: number;

  // Rate limiting across instances, client addresses behind proxies, brute-force protection (issue 14).
  /** `--trusted-proxy`: CIDRs whose X-Forwarded-For / Forwarded is believed (src/node/client-ip.ts). */
  readonly trustedProxies: readonly string[];
  readonly limiting: LimitingSettings;
  /** The admin server (`--admin`): API, metrics, visualizer; null: off. Restart-only. */
  readonly admin: AdminSettings | null;
  /** The visualizer's trace file (issue 15); null: none. Needs a restart to change. */
  readonly trace: { readonly path: string; readonly maxBytes: number } | null;
  /** The response cache; null: off (`--cache-size 0`, the default). */
  readonly cache: CacheSettings | null;
  /** The web application firewall (`--waf`); null: off. */
  readonly waf: WafSettings | null;
}

/** Where the admin server listens, and the bearer token every request to it must carry (null: none asked). */
export interface AdminSettings {
  readonly host: string;
  readonly port: number;
  /** Secret: redacted wherever the configuration is shown. */
  readonly token: string | null;
}

export interface UpstreamTimeouts {
  /** TCP connect to an upstream (nginx proxy_connect_timeout, HAProxy timeout connect). */
  readonly connectMs: number;
  /** From the request sent to the response head (nginx proxy_read_timeout, HAProxy timeout server). */
  readonly responseMs: number;
  /** Between two body bytes from the upstream (nginx proxy_read_timeout, HAProxy timeout server). */
  readonly bodyIdleMs: number;
}

/** The primary's settings, version `version` (1 at start, one more per reload that took effect). */
export interface SettingsChanged {
  readonly type: 'settings.changed';
  readonly version: number;
  readonly config: Config;
}

/** A worker applied settings version `version` (sent to the primary's `settings` mailbox). */
export interface SettingsApplied {
  readonly type: 'settings.applied';
  readonly node: NodeId;
  readonly version: number;
}

/** A worker has started and needs the current settings before it can listen; the primary answers with `settings.changed`. */
export interface SettingsWanted {
  readonly type: 'settings.wanted';
  readonly node: NodeId;
  readonly replyTo: Address;
}
