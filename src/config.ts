/**
 * The validated configuration of one balancebeam instance. Plain data, so the
 * primary can hand it to its workers as it is.
 */
import type { BalanceAlgorithm } from './balancing/index.js';
import type { LogLevel } from './log.js';
import type { UpstreamTarget } from './protocol/index.js';
import type { RateLimitPolicy } from './rate-limit/window-counter.js';

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

export interface ActiveHealthCheck {
  readonly intervalMs: number;
  readonly path: string;
}

export interface Config {
  readonly bind: BindAddress;
  readonly upstreams: readonly UpstreamTarget[];
  /** null: active checks are off (`--active-health-check-interval 0`); dead upstreams recover by back-off. */
  readonly activeHealthCheck: ActiveHealthCheck | null;
  /** null: no rate limiting. */
  readonly rateLimit: RateLimitPolicy | null;
  readonly balance: BalanceAlgorithm;
  readonly workers: number;
  readonly logLevel: LogLevel;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
