/**
 * What a started instance offers its caller (the CLI), whether it runs in one
 * process or as a primary with workers, and how a failure to start is told.
 */
import type { MailboxRouter } from '../actors/router.js';
import { formatHostPort, type Config } from '../config/config.js';
import type { FeedCollector } from '../admin/visualizer/collector.js';
import type { ProcessMetrics } from '../metrics/process-metrics.js';
import type { NodeId } from '../protocol/index.js';
import type { PrimaryServices } from './primary-services.js';

export interface Instance {
  /** Where clients connect, `host:port` (the real port when `--bind` asked for port 0). */
  readonly address: string;
  shutdown(): Promise<void>;
  /**
   * Reloaded settings (already checked, restart-only ones kept as they run):
   * the primary's actors follow them, then every proxy node (each worker gets
   * a `settings.changed` message).
   */
  applySettings(config: Config): Promise<AppliedSettings>;
  /** The primary's router: the admin server and the visualizer reach every process's actors through it. */
  readonly router: MailboxRouter;
  /** The instance-wide actors (upstream health, rate limiter) in this process. */
  readonly services: PrimaryServices;
  /** The proxy nodes running now: `['p']` with --workers 1, else the live workers (`w1`, `w2`, ...). */
  proxyNodes(): readonly NodeId[];
  /** The worker processes to ask over the router ([] with --workers 1, where everything is local). */
  workerNodes(): readonly NodeId[];
  /** This process's metrics (with its proxy node's when --workers 1); null when the admin server is off. */
  readonly metrics: ProcessMetrics | null;
  /** The visualizer's feed, merged from every process; null unless --admin or --trace-file runs it. */
  readonly feed: FeedCollector | null;
}

/** A settings version has reached the proxy nodes (or the wait for them gave up). */
export interface AppliedSettings {
  readonly version: number;
  /** Proxy nodes that confirmed it. */
  readonly confirmed: readonly NodeId[];
  /** Proxy nodes that did not within the wait (still starting, or stuck): they apply it when they can. */
  readonly unconfirmed: readonly NodeId[];
}

/** The instance cannot listen (the address is in use, ...): exit status 1. */
export class ListenError extends Error {}

export function describeListenError(config: Config, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const reason = error instanceof Error ? error.message : String(error);
  return `cannot listen on ${formatHostPort(config.bind.host, config.bind.port)}: ${reason}${typeof code === 'string' && !reason.includes(code) ? ` (${code})` : ''}`;
}
