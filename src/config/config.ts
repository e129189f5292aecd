/**
 * The validated configuration of one balancebeam instance: its shape is the
 * vocabulary's (src/protocol/settings.ts, plain data that crosses the router
 * on a reload); here are its defaults and the address helpers every module
 * uses.
 */
import type { ClientLimits, HashingSettings, HealthThresholds, RequestPolicy, UpstreamTarget } from '../protocol/index.js';

export type {
  ActiveHealthCheck,
  BindAddress,
  ClientLimits,
  Config,
  HashingSettings,
  HashKeySource,
  HealthThresholds,
  RequestPolicy,
  UpstreamTimeouts,
} from '../protocol/index.js';

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderSize: 16 * 1024,
  maxHeaders: 100,
  maxUriLength: 8 * 1024,
  maxBodySize: 0,
  maxConnections: 10_000,
  maxPipelinedRequests: 8,
  sendTimeoutMs: 60_000,
};

export const DEFAULT_REQUEST_POLICY: RequestPolicy = { allowUnderscoresInHeaders: false, allowTrace: false };

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = { rise: 1, fall: 1 };

export const DEFAULT_HASHING: HashingSettings = { key: { from: 'client-ip' }, balanceFactor: 0, fallback: 'round-robin' };

/** `host:port`, with an IPv6 host in brackets (`[::1]:8080`): how addresses are logged and upstream ids read. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Where an upstream is reached, `http://host:port`: the one place its URL is built (pools,
 * health probes). A bare IPv6 host would be an invalid URL (`http://::1:8080`), hence formatHostPort.
 */
export function upstreamOrigin(upstream: UpstreamTarget): string {
  return `http://${formatHostPort(upstream.host, upstream.port)}`;
}
