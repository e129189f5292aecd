/**
 * What a reload (SIGHUP) may change in a running instance. Everything the
 * flags and the file hold applies to new requests and connections, except
 * what the running processes are built around: the listening address, the
 * number of worker processes and the balancing algorithm (with its hashing
 * and latency-estimate settings), the admin server and the trace file keep their running values
 * until a restart, as nginx and HAProxy users expect of a reload.
 */
import { formatHostPort, type Config } from './config.js';

export interface AcceptedReload {
  /** The settings to apply: the new ones, with the restart-only ones kept as they run. */
  readonly config: Config;
  /** One line per restart-only setting the file or flags changed, for a warn line each. */
  readonly needsRestart: readonly string[];
  /** The top-level settings that change, for the log line (empty: nothing to do). */
  readonly changed: readonly (keyof Config)[];
}

const RESTART_ONLY = ['bind', 'workers', 'balance', 'hashing', 'latencyEstimate', 'admin', 'trace'] as const satisfies readonly (keyof Config)[];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function acceptReload(running: Config, next: Config): AcceptedReload {
  const needsRestart: string[] = [];
  const kept: Partial<Record<(typeof RESTART_ONLY)[number], unknown>> = {};
  for (const key of RESTART_ONLY) {
    if (same(running[key], next[key])) continue;
    // The admin token is a secret: never in a log line.
    const shown = (config: Config): string => (key === 'admin' ? describeAdmin(config.admin) : JSON.stringify(config[key]));
    needsRestart.push(`${key}: changing it needs a restart; keeping ${shown(running)}, not ${shown(next)}`);
    kept[key] = running[key];
  }
  let config = { ...next, ...kept } as Config;
  // The rate-limit store is a connection each process holds for its life (issue 14): its settings need a
  // restart too; the rules, limits, headers and brute-force settings apply at once.
  const store = (c: Config): unknown => [c.limiting.store, c.limiting.storeTimeoutMs, c.limiting.storeFailure];
  if (!same(store(running), store(next))) {
    needsRestart.push('rate-limit-store, rate-limit-store-timeout, rate-limit-store-failure: changing them needs a restart; keeping the running store');
    config = { ...config, limiting: { ...next.limiting, store: running.limiting.store, storeTimeoutMs: running.limiting.storeTimeoutMs, storeFailure: running.limiting.storeFailure } };
  }
  const changed = (Object.keys(config) as (keyof Config)[]).filter((key) => !same(running[key], config[key]));
  return { config, needsRestart, changed };
}

function describeAdmin(admin: Config['admin']): string {
  if (admin === null) return 'off';
  return `${formatHostPort(admin.host, admin.port)}${admin.token === null ? '' : ' with a token'}`;
}
