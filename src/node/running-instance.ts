/**
 * What a started instance offers its caller (the CLI), whether it runs in one
 * process or as a primary with workers, and how a failure to start is told.
 */
import { formatHostPort, type Config } from '../config/config.js';

export interface Instance {
  /** Where clients connect, `host:port` (the real port when `--bind` asked for port 0). */
  readonly address: string;
  shutdown(): Promise<void>;
  /**
   * Reloaded settings (already checked, restart-only ones kept as they run):
   * the primary's actors follow them, then every proxy node (each worker gets
   * a `settings.changed` message).
   */
  applySettings(config: Config): void;
}

/** The instance cannot listen (the address is in use, ...): exit status 1. */
export class ListenError extends Error {}

export function describeListenError(config: Config, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const reason = error instanceof Error ? error.message : String(error);
  return `cannot listen on ${formatHostPort(config.bind.host, config.bind.port)}: ${reason}${typeof code === 'string' && !reason.includes(code) ? ` (${code})` : ''}`;
}
