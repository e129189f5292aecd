/**
 * Settings → Config: each setting's value comes from its flag, else from the
 * config file, else from its default (flags override the file; a repeated
 * flag replaces the file's list). Every problem is collected, each naming
 * the flag (`--max-headers: ...`) or the file's key and line
 * (`lb.yaml:7: max-headers: ...`), so one run lists them all.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { formatHostPort, type Config } from './config.js';
import type { ConfigFileContents } from './config-file.js';
import { checkAdminTokenText, isSettingName, SETTING_NAMES, SETTINGS, type Setting, type SettingName, type SettingValues } from './schema.js';
import type { FlagValue, Read } from './setting-types.js';

/** What the settings are for: `demo` starts its own upstreams, the others need some. */
export type LoadMode = 'run' | 'demo';

export type FlagValues = Partial<Record<SettingName, FlagValue>>;

/** Everything but the upstreams (which `demo` supplies itself), and the upstreams given. */
export type LoadResult =
  | {
      readonly ok: true;
      readonly settings: Omit<Config, 'upstreams'>;
      readonly upstreams: Config['upstreams'];
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

type Source = { readonly from: 'flag' } | { readonly from: 'file'; readonly path: string; readonly line: number; readonly itemLines: readonly number[] };

class SettingsReader {
  readonly values = {} as SettingValues;
  readonly errors: string[] = [];
  private readonly sources = new Map<SettingName, Source>();
  private readonly invalid = new Set<SettingName>();

  constructor(flags: FlagValues, file: ConfigFileContents | null) {
    const fromFile = new Map<SettingName, { value: unknown; source: Source }>();
    if (file !== null) {
      this.errors.push(...file.errors);
      for (const entry of file.entries) {
        if (!isSettingName(entry.key)) {
          this.errors.push(`${file.path}:${entry.line}: unknown key '${entry.key}'${entry.key.startsWith('-') ? ' (keys are flag names without the dashes)' : ''}`);
          continue;
        }
        const source: Source = { from: 'file', path: file.path, line: entry.line, itemLines: entry.itemLines };
        fromFile.set(entry.key, { value: entry.value, source });
      }
    }
    for (const name of SETTING_NAMES) {
      const flag = flags[name];
      const stored = fromFile.get(name);
      if (flag !== undefined) this.take(name, SETTINGS[name].fromFlag(flag), { from: 'flag' });
      else if (stored !== undefined) this.take(name, SETTINGS[name].fromFile(stored.value), stored.source);
      else this.assign(name, SETTINGS[name].default);
    }
  }

  private assign<N extends SettingName>(name: N, value: SettingValues[N]): void {
    this.values[name] = value;
  }

  private take<N extends SettingName>(name: N, read: Read<unknown>, source: Source): void {
    this.sources.set(name, source);
    if (read.ok) {
      this.assign(name, read.value as SettingValues[N]);
      return;
    }
    this.invalid.add(name);
    // Keep the default, so later rules still run on a value of the right type.
    this.assign(name, (SETTINGS[name] as Setting<SettingValues[N]>).default);
    for (const problem of read.problems) this.errors.push(this.prefix(name, problem.item) + problem.message);
  }

  given(name: SettingName): boolean {
    return this.sources.has(name);
  }

  failed(name: SettingName): boolean {
    return this.invalid.has(name);
  }

  fromFile(name: SettingName): boolean {
    return this.sources.get(name)?.from === 'file';
  }

  /** `--name: ` for a flag, `file:line: name: ` for a file key (the item's line for a list item). */
  prefix(name: SettingName, item?: number): string {
    const source = this.sources.get(name);
    if (source === undefined || source.from === 'flag') return `--${name}: `;
    const line = item === undefined ? source.line : (source.itemLines[item] ?? source.line);
    return `${source.path}:${line}: ${name}: `;
  }

  /** How a setting is named inside another's message: as it was given. */
  mention(name: SettingName): string {
    return this.fromFile(name) ? name : `--${name}`;
  }

  error(name: SettingName, message: string): void {
    this.errors.push(this.prefix(name) + message);
  }
}

/**
 * The settings from flags and an optional (already read) config file, checked
 * together. `cpus` is a seam for the workers warning.
 */
export function loadConfig(flags: FlagValues, file: ConfigFileContents | null, mode: LoadMode, cpus = availableParallelism()): LoadResult {
  const reader = new SettingsReader(flags, file);
  const { values } = reader;

  const rateLimit = combineRateLimit(reader);
  const admin = combineAdmin(reader);
  if (mode === 'demo' && reader.given('upstream')) {
    reader.error('upstream', `demo starts its own upstreams; leave ${reader.mention('upstream')} out`);
  }
  if (mode === 'run' && values.upstream.length === 0 && !reader.failed('upstream') && (file === null || file.errors.length === 0)) {
    reader.error(
      'upstream',
      file === null
        ? 'at least one upstream is required, e.g. --upstream 127.0.0.1:8080'
        : `at least one upstream is required: --upstream HOST:PORT, or an upstream list in ${file.path}`,
    );
  }
  if (reader.errors.length > 0) return { ok: false, errors: inReadingOrder(reader.errors, file) };

  const interval = values['active-health-check-interval'];
  const config: Omit<Config, 'upstreams'> = {
    bind: mode === 'demo' && !reader.given('bind') ? { host: '127.0.0.1', port: 1100 } : values.bind,
    activeHealthCheck: interval === 0 ? null : { intervalMs: interval, path: values['active-health-check-path'] },
    rateLimit,
    balance: values.balance,
    hashing: { key: values['hash-key'], balanceFactor: values['hash-balance-factor'], fallback: values['hash-fallback'] },
    slowStartMs: values['slow-start'],
    panicThreshold: values['panic-threshold'],
    latencyEstimate: { decayMs: values['ewma-decay'], initialMs: values['ewma-initial-latency'] },
    workers: values.workers,
    logLevel: values['log-level'],
    clientLimits: {
      headerTimeoutMs: values['client-header-timeout'],
      bodyTimeoutMs: values['client-body-timeout'],
      keepAliveTimeoutMs: values['keep-alive-timeout'],
      maxHeaderSize: values['max-header-size'],
      maxHeaders: values['max-headers'],
      maxUriLength: values['max-uri-length'],
      maxBodySize: values['max-body-size'],
      maxConnections: values['max-connections'],
      maxPipelinedRequests: values['max-pipelined-requests'],
      sendTimeoutMs: values['client-send-timeout'],
    },
    requestPolicy: {
      allowUnderscoresInHeaders: values['allow-underscores-in-headers'],
      allowTrace: values['allow-trace'],
    },
    healthThresholds: { rise: values['health-check-rise'], fall: values['health-check-fall'] },
    upstreamTimeouts: {
      connectMs: values['upstream-connect-timeout'],
      responseMs: values['upstream-response-timeout'],
      bodyIdleMs: values['upstream-body-timeout'],
    },
    retries: values.retries,
    drainTimeoutMs: values['drain-timeout'],
    trustedProxies: values['trusted-proxy'],
    limiting: {
      rules: values['rate-limit-rules'],
      store: values['rate-limit-store'],
      storeTimeoutMs: values['rate-limit-store-timeout'],
      storeFailure: values['rate-limit-store-failure'],
      ipv6Prefix: values['rate-limit-ipv6-prefix'],
      headersWhenAllowed: values['rate-limit-headers'],
      bruteForce:
        values['brute-force-path'].length === 0
          ? null
          : {
              paths: values['brute-force-path'],
              failureStatuses: values['brute-force-failure-status'],
              failureHeader: values['brute-force-failure-header'] === '' ? null : values['brute-force-failure-header'],
              policy: {
                maxFailures: values['brute-force-max-failures'],
                windowMs: values['brute-force-window'],
                lockoutMs: values['brute-force-lockout'],
                maxLockoutMs: values['brute-force-lockout'] * 64,
              },
            },
    },
    admin,
    trace: values['trace-file'] === '' ? null : { path: values['trace-file'], maxBytes: values['trace-file-size'] },
    cache:
      values['cache-size'] === 0
        ? null
        : {
            sizeBytes: values['cache-size'],
            maxObjectBytes: values['cache-max-object-size'],
            serveStaleOnErrorMs: values['cache-serve-stale-on-error'],
            heuristicFreshness: values['cache-heuristic-freshness'],
            setCookie: values['cache-set-cookie'],
            eviction: values['cache-eviction'],
            lockTimeoutMs: values['cache-lock-timeout'],
          },
    waf:
      values.waf === 'off'
        ? null
        : {
            mode: values.waf,
            paranoia: values['waf-paranoia'],
            threshold: values['waf-threshold'],
            bodyLimit: values['waf-body-limit'],
            exclusions: values['waf-exclude'],
            ruleFiles: values['waf-rules'].map((path) => ({ path, contents: null })),
          },
  };
  const warnings = configWarnings(config, cpus);
  return { ok: true, settings: config, upstreams: values.upstream, warnings };
}

/** The command line's problems first, then the file's by line, as someone fixing them reads. */
function inReadingOrder(errors: readonly string[], file: ConfigFileContents | null): string[] {
  if (file === null) return [...errors];
  const lineOf = (error: string): number => {
    if (!error.startsWith(`${file.path}:`)) return -1;
    const line = /^(\d+):/.exec(error.slice(file.path.length + 1));
    return line === null ? 0 : Number(line[1]);
  };
  return errors
    .map((error, index) => ({ error, index, line: lineOf(error) }))
    .sort((a, b) => a.line - b.line || a.index - b.index)
    .map(({ error }) => error);
}

function combineRateLimit(reader: SettingsReader): Config['rateLimit'] {
  const { values } = reader;
  const perMinute = values['max-requests-per-minute'];
  const perWindow = values['max-requests-per-window'];
  const algorithm = values['rate-limit-algorithm'];
  const burst = values['rate-limit-burst'];
  if (burst > 0 && algorithm !== 'gcra') reader.error('rate-limit-burst', `goes with ${reader.mention('rate-limit-algorithm')} gcra`);
  const withBurst = burst > 0 ? { burst } : {};
  if (perMinute > 0 && perWindow > 0) {
    reader.error(
      'max-requests-per-minute',
      `give either it or ${reader.mention('max-requests-per-window')}, not both`,
    );
    return null;
  }
  if (perMinute > 0) {
    if (reader.given('rate-limit-window-size')) {
      reader.error('rate-limit-window-size', `goes with ${reader.mention('max-requests-per-window')} (per-minute windows are 60 s)`);
    }
    return { algorithm, limit: perMinute, windowMs: 60_000, ...withBurst };
  }
  if (perWindow > 0) return { algorithm, limit: perWindow, windowMs: values['rate-limit-window-size'], ...withBurst };
  return null;
}

/**
 * `--admin` with its token: from `--admin-token`, or the first line of `--admin-token-file` (read
 * here, so a reload re-reads it). Anywhere but loopback, a token is required: the API can drain
 * and remove upstreams.
 */
function combineAdmin(reader: SettingsReader): Config['admin'] {
  const { values } = reader;
  const bind = values.admin;
  const inline = values['admin-token'];
  const file = values['admin-token-file'];
  if (inline !== '' && file !== '') {
    reader.error('admin-token', `give either it or ${reader.mention('admin-token-file')}, not both`);
    return null;
  }
  let token: string | null = inline === '' ? null : inline;
  if (file !== '') {
    try {
      token = (readFileSync(file, 'utf8').split(/\r?\n/, 1)[0] ?? '').trim();
    } catch (error) {
      reader.error('admin-token-file', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return null;
    }
    const problem = checkAdminTokenText(token);
    if (problem !== null) {
      reader.error('admin-token-file', `${file}: ${problem}`);
      return null;
    }
  }
  if (bind === null) {
    if (token !== null) reader.error(inline !== '' ? 'admin-token' : 'admin-token-file', `goes with ${reader.mention('admin')} HOST:PORT`);
    return null;
  }
  if (token === null && !isLoopbackHost(bind.host)) {
    reader.error(
      'admin',
      `${formatHostPort(bind.host, bind.port)} is not a loopback address: give --admin-token or --admin-token-file as well (every admin request must then carry it)`,
    );
    return null;
  }
  return { host: bind.host, port: bind.port, token };
}

/** 127.0.0.0/8, ::1 (and ::ffff:127.x), or `localhost`: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const unmapped = host.toLowerCase().startsWith('::ffff:') ? host.slice(7) : host;
  if (isIP(unmapped) === 4) return unmapped.startsWith('127.');
  return isIP(host) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(host);
}

/** Settings that are valid but probably a mistake: logged as `warn` at start, printed by `check`. */
export function configWarnings(
  config: Pick<Config, 'workers'> & Partial<Pick<Config, 'balance' | 'slowStartMs'>>,
  cpus: number,
): string[] {
  const warnings: string[] = [];
  if (config.balance === 'round-robin' && (config.slowStartMs ?? 0) > 0) {
    warnings.push('--slow-start has no effect with --balance round-robin, which ignores weights: use weighted-round-robin');
  }
  if (config.workers > 2 * cpus) {
    warnings.push(
      `--workers ${config.workers} is more than twice the ${cpus} CPU${cpus === 1 ? '' : 's'}: each worker costs memory and start-up time, and they share the CPUs`,
    );
  }
  return warnings;
}
