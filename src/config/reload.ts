/**
 * What a reload (SIGHUP) may change in a running instance. Everything the
 * flags and the file hold applies to new requests and connections, except
 * what the running processes are built around: the listening address, the
 * number of worker processes and the balancing algorithm (with its hashing
 * and latency-estimate settings) keep their running values until a restart,
 * as nginx and HAProxy users expect of a reload.
 */
import type { Config } from './config.js';

export interface AcceptedReload {
  /** The settings to apply: the new ones, with the restart-only ones kept as they run. */
  readonly config: Config;
  /** One line per restart-only setting the file or flags changed, for a warn line each. */
  readonly needsRestart: readonly string[];
  /** The top-level settings that change, for the log line (empty: nothing to do). */
  readonly changed: readonly (keyof Config)[];
}

const RESTART_ONLY = ['bind', 'workers', 'balance', 'hashing', 'latencyEstimate'] as const satisfies readonly (keyof Config)[];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function acceptReload(running: Config, next: Config): AcceptedReload {
  const needsRestart: string[] = [];
  const kept: Partial<Record<(typeof RESTART_ONLY)[number], unknown>> = {};
  for (const key of RESTART_ONLY) {
    if (same(running[key], next[key])) continue;
    needsRestart.push(`${key}: changing it needs a restart; keeping ${JSON.stringify(running[key])}, not ${JSON.stringify(next[key])}`);
    kept[key] = running[key];
  }
  const config = { ...next, ...kept } as Config;
  const changed = (Object.keys(config) as (keyof Config)[]).filter((key) => !same(running[key], config[key]));
  return { config, needsRestart, changed };
}
