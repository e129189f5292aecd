/**
 * Command-line flags → a validated Config, or a usage error that names the
 * flag. Flag names and defaults follow the original balancebeam.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { BALANCE_ALGORITHMS, type BalanceAlgorithm } from '../balancing/index.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_HEALTH_THRESHOLDS, DEFAULT_REQUEST_POLICY, type BindAddress, type ClientLimits, type Config } from '../config/config.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import type { UpstreamTarget } from '../protocol/index.js';
import { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm } from '../rate-limit/window-counter.js';

export class UsageError extends Error {}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly config: Config }
  | { readonly kind: 'demo'; readonly config: Omit<Config, 'upstreams'> };

export const HELP = `balancebeam: an HTTP/1.1 load balancer

Usage:
  balancebeam --upstream HOST:PORT [--upstream HOST:PORT ...] [flags]
  balancebeam demo [flags]        start three local upstreams and balance over them

Flags:
  --bind HOST:PORT                      where clients connect (default 0.0.0.0:1100; demo: 127.0.0.1:1100)
  --upstream HOST:PORT                  an upstream server; repeat for each one
  --balance round-robin|random          how an upstream is chosen (default round-robin)
  --active-health-check-interval SECS   seconds between active health checks; 0 turns them off (default 10)
  --active-health-check-path PATH       path probed with GET on every upstream (default /)
  --max-requests-per-minute N           per client IP; 0 = no limit (default 0)
  --max-requests-per-window N           per client IP and window; 0 = no limit (default 0)
  --rate-limit-window-size SECS         length of the rate-limit window (default 60)
  --rate-limit-algorithm sliding-window|fixed-window   (default sliding-window)
  --workers N                           processes accepting connections (default: number of CPUs)
  --log-level debug|info|warn|error|silent   (default info: one line per request)

Client limits (per connection unless said otherwise):
  --client-header-timeout SECS          request head must be complete within this (default 10) → 408
  --client-body-timeout SECS            longest pause in a request body (default 60) → 408 / close
  --keep-alive-timeout SECS             close a connection idle this long between requests (default 5)
  --max-header-size BYTES               request line + headers (default 16384) → 431
  --max-headers N                       header fields per request (default 100) → 431
  --max-uri-length BYTES                request target (default 8192) → 414
  --max-body-size BYTES                 request body; 0 = no limit (default 0) → 413
  --max-connections N                   open client connections per worker (default 10000); more → 503
Upstream failures and shutdown:
  --upstream-connect-timeout SECS       connecting to an upstream; then the next one is tried (default 5)
  --upstream-response-timeout SECS      waiting for an upstream's response head; then 504 (default 60)
  --upstream-body-timeout SECS          silence between two response body bytes; then the client's connection is cut (default 60)
  --retries N                           resend an idempotent request that got no response byte to another upstream
                                        up to N times; 0 = never (default 1; refused connects always fail over)
  --drain-timeout SECS                  on SIGTERM/SIGINT, time in-flight requests get to finish (default 10)

  --help                                show this help
  --version                             show the version
`;

const FLAGS = {
  bind: { type: 'string' },
  upstream: { type: 'string', multiple: true },
  balance: { type: 'string' },
  'active-health-check-interval': { type: 'string' },
  'active-health-check-path': { type: 'string' },
  'max-requests-per-minute': { type: 'string' },
  'max-requests-per-window': { type: 'string' },
  'rate-limit-window-size': { type: 'string' },
  'rate-limit-algorithm': { type: 'string' },
  workers: { type: 'string' },
  'log-level': { type: 'string' },
  'client-header-timeout': { type: 'string' },
  'client-body-timeout': { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'max-header-size': { type: 'string' },
  'max-headers': { type: 'string' },
  'max-uri-length': { type: 'string' },
  'max-body-size': { type: 'string' },
  'max-connections': { type: 'string' },
  'upstream-connect-timeout': { type: 'string' },
  'upstream-response-timeout': { type: 'string' },
  'upstream-body-timeout': { type: 'string' },
  retries: { type: 'string' },
  'drain-timeout': { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;

export function parseCommandLine(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  const [subcommand, ...extra] = positionals;
  if (extra.length > 0 || (subcommand !== undefined && subcommand !== 'demo')) {
    throw new UsageError(`unexpected argument '${extra[0] ?? subcommand}' (the only command is 'demo')`);
  }
  const demo = subcommand === 'demo';

  const common = {
    bind: parseBind(values.bind ?? (demo ? '127.0.0.1:1100' : '0.0.0.0:1100')),
    activeHealthCheck: parseHealthCheck(values['active-health-check-interval'], values['active-health-check-path']),
    rateLimit: parseRateLimit(values),
    balance: oneOf<BalanceAlgorithm>('--balance', values.balance ?? 'round-robin', BALANCE_ALGORITHMS),
    workers: values.workers === undefined ? availableParallelism() : integer('--workers', values.workers, 1, 256),
    logLevel: oneOf<LogLevel>('--log-level', values['log-level'] ?? 'info', LOG_LEVELS),
    clientLimits: parseClientLimits(values),
    requestPolicy: DEFAULT_REQUEST_POLICY,
    healthThresholds: DEFAULT_HEALTH_THRESHOLDS,
    ...parseUpstreamFailureHandling(values),
  };

  if (demo) {
    if (values.upstream !== undefined) throw new UsageError('--upstream: demo starts its own upstreams; leave --upstream out');
    return { kind: 'demo', config: common };
  }
  if (values.upstream === undefined || values.upstream.length === 0) {
    throw new UsageError('--upstream: at least one upstream is required, e.g. --upstream 127.0.0.1:8080');
  }
  const upstreams = values.upstream.map(parseUpstream);
  const seen = new Set<string>();
  for (const upstream of upstreams) {
    if (seen.has(upstream.id)) throw new UsageError(`--upstream: ${upstream.id} is given twice`);
    seen.add(upstream.id);
  }
  return { kind: 'run', config: { ...common, upstreams } };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== null) return `unknown flag ${unknown[1]}`;
  const missing = /^Option '(--[a-z-]+)[^']*' argument missing/.exec(message);
  if (missing !== null) return `${missing[1]}: a value is required`;
  const ambiguous = /^Option '(--[a-z-]+)[^']*' argument is ambiguous/.exec(message);
  if (ambiguous !== null) return `${ambiguous[1]}: a value starting with '-' is not allowed (negative numbers are not)`;
  return message.split('\n')[0] ?? message;
}

function splitHostPort(flag: string, text: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed !== null) return { host: bracketed[1] as string, port: bracketed[2] as string };
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || text.indexOf(':') !== colon) {
    throw new UsageError(`${flag}: '${text}' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)`);
  }
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

function parsePort(flag: string, text: string, value: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > 65535) {
    throw new UsageError(`${flag}: '${text}' has no valid port (${min}-65535)`);
  }
  return Number(value);
}

export function parseBind(text: string): BindAddress {
  const { host, port } = splitHostPort('--bind', text);
  return { host, port: parsePort('--bind', text, port, 0) };
}

export function parseUpstream(text: string): UpstreamTarget {
  const { host, port } = splitHostPort('--upstream', text);
  const portNumber = parsePort('--upstream', text, port, 1);
  return { id: host.includes(':') ? `[${host}]:${portNumber}` : `${host}:${portNumber}`, host, port: portNumber, weight: 1 };
}

function seconds(flag: string, text: string, allowZero: boolean): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`${flag}: '${text}' is not a number of seconds${allowZero ? ' (0 or more)' : ' above 0'}`);
  }
  return value;
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag}: '${text}' is not a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${flag}: '${text}' is not one of ${allowed.join(', ')}`);
  }
  return text as T;
}

function parseHealthCheck(interval: string | undefined, path: string | undefined): Config['activeHealthCheck'] {
  const intervalSeconds = seconds('--active-health-check-interval', interval ?? '10', true);
  const probePath = path ?? '/';
  if (!probePath.startsWith('/')) throw new UsageError(`--active-health-check-path: '${probePath}' must start with /`);
  return intervalSeconds === 0 ? null : { intervalMs: Math.round(intervalSeconds * 1000), path: probePath };
}

function parseRateLimit(values: {
  'max-requests-per-minute'?: string;
  'max-requests-per-window'?: string;
  'rate-limit-window-size'?: string;
  'rate-limit-algorithm'?: string;
}): Config['rateLimit'] {
  const perMinute = integer('--max-requests-per-minute', values['max-requests-per-minute'] ?? '0', 0, 1e9);
  const perWindow = integer('--max-requests-per-window', values['max-requests-per-window'] ?? '0', 0, 1e9);
  const windowSeconds = seconds('--rate-limit-window-size', values['rate-limit-window-size'] ?? '60', false);
  const algorithm = oneOf<RateLimitAlgorithm>(
    '--rate-limit-algorithm',
    values['rate-limit-algorithm'] ?? 'sliding-window',
    RATE_LIMIT_ALGORITHMS,
  );
  if (perMinute > 0 && perWindow > 0) {
    throw new UsageError('--max-requests-per-minute: give either it or --max-requests-per-window, not both');
  }
  if (perMinute > 0) {
    if (values['rate-limit-window-size'] !== undefined) {
      throw new UsageError('--rate-limit-window-size: goes with --max-requests-per-window (per-minute windows are 60 s)');
    }
    return { algorithm, limit: perMinute, windowMs: 60_000 };
  }
  if (perWindow > 0) return { algorithm, limit: perWindow, windowMs: Math.round(windowSeconds * 1000) };
  return null;
}

const MAX_TIMEOUT_SECONDS = 86_400;

/** A timeout flag in seconds (fractions allowed, at most a day), as milliseconds. */
function timeoutMs(flag: string, text: string | undefined, defaultMs: number, allowZero = false): number {
  if (text === undefined) return defaultMs;
  const value = seconds(flag, text, allowZero);
  if (value > MAX_TIMEOUT_SECONDS) throw new UsageError(`${flag}: '${text}' is more than a day (${MAX_TIMEOUT_SECONDS} s)`);
  return Math.round(value * 1000);
}

function parseClientLimits(values: {
  'client-header-timeout'?: string;
  'client-body-timeout'?: string;
  'keep-alive-timeout'?: string;
  'max-header-size'?: string;
  'max-headers'?: string;
  'max-uri-length'?: string;
  'max-body-size'?: string;
  'max-connections'?: string;
}): ClientLimits {
  const defaults = DEFAULT_CLIENT_LIMITS;
  const count = (flag: keyof typeof values, fallback: number, min: number, max: number): number => {
    const text = values[flag];
    return text === undefined ? fallback : integer(`--${flag}`, text, min, max);
  };
  return {
    headerTimeoutMs: timeoutMs('--client-header-timeout', values['client-header-timeout'], defaults.headerTimeoutMs),
    bodyTimeoutMs: timeoutMs('--client-body-timeout', values['client-body-timeout'], defaults.bodyTimeoutMs),
    keepAliveTimeoutMs: timeoutMs('--keep-alive-timeout', values['keep-alive-timeout'], defaults.keepAliveTimeoutMs),
    // Below ~1 KiB not even an ordinary browser request head fits; llhttp's field is 32 bits.
    maxHeaderSize: count('max-header-size', defaults.maxHeaderSize, 1024, 2 ** 31 - 1),
    maxHeaders: count('max-headers', defaults.maxHeaders, 1, 10_000),
    maxUriLength: count('max-uri-length', defaults.maxUriLength, 1, 2 ** 31 - 1),
    maxBodySize: count('max-body-size', defaults.maxBodySize, 0, Number.MAX_SAFE_INTEGER),
    maxConnections: count('max-connections', defaults.maxConnections, 1, 1_000_000),
    maxPipelinedRequests: defaults.maxPipelinedRequests,
    sendTimeoutMs: defaults.sendTimeoutMs,
  };
}

function parseUpstreamFailureHandling(values: {
  'upstream-connect-timeout'?: string;
  'upstream-response-timeout'?: string;
  'upstream-body-timeout'?: string;
  retries?: string;
  'drain-timeout'?: string;
}): Pick<Config, 'upstreamTimeouts' | 'retries' | 'drainTimeoutMs'> {
  return {
    upstreamTimeouts: {
      connectMs: timeoutMs('--upstream-connect-timeout', values['upstream-connect-timeout'], 5_000),
      responseMs: timeoutMs('--upstream-response-timeout', values['upstream-response-timeout'], 60_000),
      bodyIdleMs: timeoutMs('--upstream-body-timeout', values['upstream-body-timeout'], 60_000),
    },
    retries: integer('--retries', values.retries ?? '1', 0, 10),
    // 0: in-flight requests are cut at once.
    drainTimeoutMs: timeoutMs('--drain-timeout', values['drain-timeout'], 10_000, true),
  };
}
