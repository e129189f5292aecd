/**
 * Every setting of balancebeam, declared once: its name (the flag without
 * dashes, and the config-file key), its type and documented range, its
 * default, its help text, the feature that owns it and where it lands in
 * `Config`. `--help`, the command-line parser, the config file, validation and
 * README's flag table are all derived from this list.
 */
import { availableParallelism } from 'node:os';
import { BALANCE_ALGORITHMS, HASH_FALLBACK_ALGORITHMS, HASH_KEY_FORMS, parseHashKey, showHashKey } from '../balancing/index.js';
import { LOG_LEVELS } from '../log.js';
import { RATE_LIMIT_ALGORITHMS } from '../rate-limit/limit-math.js';
import { cidrList, optionalHeaderName, pathList, rulesList, statusList, storeKind } from './limiting-kinds.js';
import { readExclusion, showExclusion } from '../waf/exclusion.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_HASHING, DEFAULT_HEALTH_THRESHOLDS, DEFAULT_REQUEST_POLICY } from './config.js';
import {
  bindAddress,
  boolean,
  bytes,
  decimal,
  integer,
  INTERVAL,
  oneOf,
  optionalBindAddress,
  seconds,
  text,
  textAs,
  textList,
  TIMEOUT,
  upstreamList,
  type SettingKind,
} from './setting-types.js';

/** The features settings belong to, in the order `--help` and README list them. */
export const FEATURES = {
  core: 'Listener, upstreams and processes',
  health: 'Health checks',
  'rate-limit': 'Rate limiting',
  'client-limits': 'Client limits (per connection unless said otherwise)',
  'request-policy': 'Request policy',
  'upstream-failures': 'Upstream failures and shutdown',
  hashing: 'Consistent hashing (--balance consistent-hash)',
  admin: 'Admin server (API, metrics, visualizer)',
  trace: 'Visualizer: record a trace (replay it with `balancebeam replay FILE`)',
  cache: 'Response cache (RFC 9111, per worker process)',
  waf: 'Web application firewall',
} as const;
export type Feature = keyof typeof FEATURES;

export interface Setting<T> extends SettingKind<T> {
  readonly name: string;
  readonly default: T;
  /** The default as people read it, when `show(default)` does not say it (`number of CPUs`). */
  readonly defaultText?: string;
  readonly help: string;
  readonly feature: Feature;
  /** Where the value lands in `Config` (a path; some settings combine into one field). */
  readonly config: string;
}

function setting<T>(kind: SettingKind<T>, fields: Omit<Setting<NoInfer<T>>, keyof SettingKind<T>>): Setting<T> {
  return { ...kind, ...fields };
}

const CPUS = availableParallelism();
const limits = DEFAULT_CLIENT_LIMITS;

export const SETTINGS = {
  bind: setting(bindAddress, {
    name: 'bind',
    default: { host: '0.0.0.0', port: 1100 },
    defaultText: '0.0.0.0:1100; demo: 127.0.0.1:1100',
    help: 'where clients connect; [::1]:1100 (or [::]:1100) for IPv6; port 0 picks a free port (logged)',
    feature: 'core',
    config: 'bind',
  }),
  upstream: setting(upstreamList, {
    name: 'upstream',
    default: [],
    defaultText: 'required',
    help: 'an upstream server ([::1]:8080 for IPv6), with an optional weight; repeat for each one',
    feature: 'core',
    config: 'upstreams',
  }),
  balance: setting(oneOf(BALANCE_ALGORITHMS), {
    name: 'balance',
    default: 'round-robin',
    help: 'how an upstream is chosen',
    feature: 'core',
    config: 'balance',
  }),
  'slow-start': setting(seconds({ min: 0.1, max: 3600, zeroMeans: 'off' }), {
    name: 'slow-start',
    default: 0,
    help: "an upstream added by a reload or back from dead starts at 10% of its weight, rising in 9 steps to all of it over SECS (every algorithm)",
    feature: 'core',
    config: 'slowStartMs',
  }),
  'panic-threshold': setting({ ...integer({ min: 0, max: 100, zeroMeans: 'off' }), valueName: 'PERCENT' }, {
    name: 'panic-threshold',
    default: 50,
    help: 'when fewer than PERCENT of the upstreams are healthy, balance over all of them, dead ones included, rather than crush the few left (as Envoy does)',
    feature: 'core',
    config: 'panicThreshold',
  }),
  workers: setting(integer({ min: 1, max: 256 }), {
    name: 'workers',
    default: CPUS,
    defaultText: 'number of CPUs',
    help: 'processes accepting connections (a warning when more than twice the CPUs)',
    feature: 'core',
    config: 'workers',
  }),
  'log-level': setting(oneOf(LOG_LEVELS), {
    name: 'log-level',
    default: 'info',
    help: 'info logs one line per request; warn and above nothing per request',
    feature: 'core',
    config: 'logLevel',
  }),

  'active-health-check-interval': setting(seconds({ ...INTERVAL, zeroMeans: 'off' }), {
    name: 'active-health-check-interval',
    default: 10_000,
    help: 'seconds between active health checks; 0 turns them off',
    feature: 'health',
    config: 'activeHealthCheck.intervalMs (0: activeHealthCheck null)',
  }),
  'active-health-check-path': setting(
    text('PATH', (path) => (path.startsWith('/') ? null : `'${path}' must start with /`)),
    {
      name: 'active-health-check-path',
      default: '/',
      help: 'path probed with GET on every upstream',
      feature: 'health',
      config: 'activeHealthCheck.path',
    },
  ),
  'health-check-rise': setting(integer({ min: 1, max: 100 }), {
    name: 'health-check-rise',
    default: DEFAULT_HEALTH_THRESHOLDS.rise,
    help: 'passing checks in a row that bring a dead upstream back',
    feature: 'health',
    config: 'healthThresholds.rise',
  }),
  'health-check-fall': setting(integer({ min: 1, max: 100 }), {
    name: 'health-check-fall',
    default: DEFAULT_HEALTH_THRESHOLDS.fall,
    help: 'failures in a row that take an upstream out',
    feature: 'health',
    config: 'healthThresholds.fall',
  }),

  'max-requests-per-minute': setting(integer({ min: 0, max: 1e9, zeroMeans: 'off' }), {
    name: 'max-requests-per-minute',
    default: 0,
    help: 'per client IP, per 60 s window',
    feature: 'rate-limit',
    config: 'rateLimit.limit, windowMs 60000 (0: rateLimit null)',
  }),
  'max-requests-per-window': setting(integer({ min: 0, max: 1e9, zeroMeans: 'off' }), {
    name: 'max-requests-per-window',
    default: 0,
    help: 'per client IP, per --rate-limit-window-size',
    feature: 'rate-limit',
    config: 'rateLimit.limit (0: rateLimit null)',
  }),
  'rate-limit-window-size': setting(seconds(INTERVAL), {
    name: 'rate-limit-window-size',
    default: 60_000,
    help: 'window length for --max-requests-per-window',
    feature: 'rate-limit',
    config: 'rateLimit.windowMs',
  }),
  'rate-limit-algorithm': setting(oneOf(RATE_LIMIT_ALGORITHMS), {
    name: 'rate-limit-algorithm',
    default: 'sliding-window',
    help: 'how requests are counted',
    feature: 'rate-limit',
    config: 'rateLimit.algorithm',
  }),

  'client-header-timeout': setting(seconds(TIMEOUT), {
    name: 'client-header-timeout',
    default: limits.headerTimeoutMs,
    help: 'request head must be complete within this → 408',
    feature: 'client-limits',
    config: 'clientLimits.headerTimeoutMs',
  }),
  'client-body-timeout': setting(seconds(TIMEOUT), {
    name: 'client-body-timeout',
    default: limits.bodyTimeoutMs,
    help: 'longest pause in a request body → 408 / close',
    feature: 'client-limits',
    config: 'clientLimits.bodyTimeoutMs',
  }),
  'client-send-timeout': setting(seconds(TIMEOUT), {
    name: 'client-send-timeout',
    default: limits.sendTimeoutMs,
    help: 'a client that accepts no response byte this long is disconnected',
    feature: 'client-limits',
    config: 'clientLimits.sendTimeoutMs',
  }),
  'keep-alive-timeout': setting(seconds(TIMEOUT), {
    name: 'keep-alive-timeout',
    default: limits.keepAliveTimeoutMs,
    help: 'close a connection idle this long between requests',
    feature: 'client-limits',
    config: 'clientLimits.keepAliveTimeoutMs',
  }),
  'max-header-size': setting(
    // Below ~1 KiB not even an ordinary browser request head fits; llhttp's field is 32 bits.
    bytes({ min: 1024, max: 2 ** 31 - 1 }),
    {
      name: 'max-header-size',
      default: limits.maxHeaderSize,
      help: 'request line + headers → 431',
      feature: 'client-limits',
      config: 'clientLimits.maxHeaderSize',
    },
  ),
  'max-headers': setting(integer({ min: 1, max: 10_000 }), {
    name: 'max-headers',
    default: limits.maxHeaders,
    help: 'header fields per request → 431',
    feature: 'client-limits',
    config: 'clientLimits.maxHeaders',
  }),
  'max-uri-length': setting(bytes({ min: 1, max: 2 ** 31 - 1 }), {
    name: 'max-uri-length',
    default: limits.maxUriLength,
    help: 'request target → 414',
    feature: 'client-limits',
    config: 'clientLimits.maxUriLength',
  }),
  'max-body-size': setting(bytes({ min: 0, max: Number.MAX_SAFE_INTEGER, zeroMeans: 'no limit' }), {
    name: 'max-body-size',
    default: limits.maxBodySize,
    help: 'request body; 0 = no limit → 413',
    feature: 'client-limits',
    config: 'clientLimits.maxBodySize',
  }),
  'max-connections': setting(integer({ min: 1, max: 1_000_000 }), {
    name: 'max-connections',
    default: limits.maxConnections,
    help: 'open client connections per worker process (with --workers N the instance holds up to N × this, spread unevenly); more → 503',
    feature: 'client-limits',
    config: 'clientLimits.maxConnections',
  }),
  'max-pipelined-requests': setting(integer({ min: 1, max: 1024 }), {
    name: 'max-pipelined-requests',
    default: limits.maxPipelinedRequests,
    help: 'requests one connection may have in flight; further ones wait unread in the socket',
    feature: 'client-limits',
    config: 'clientLimits.maxPipelinedRequests',
  }),

  'allow-underscores-in-headers': setting(boolean, {
    name: 'allow-underscores-in-headers',
    default: DEFAULT_REQUEST_POLICY.allowUnderscoresInHeaders,
    help: 'forward header names containing _ (by default they are dropped, as nginx does)',
    feature: 'request-policy',
    config: 'requestPolicy.allowUnderscoresInHeaders',
  }),
  'allow-trace': setting(boolean, {
    name: 'allow-trace',
    default: DEFAULT_REQUEST_POLICY.allowTrace,
    help: 'forward TRACE requests (by default answered 405, as nginx does)',
    feature: 'request-policy',
    config: 'requestPolicy.allowTrace',
  }),

  'upstream-connect-timeout': setting(seconds(TIMEOUT), {
    name: 'upstream-connect-timeout',
    default: 5_000,
    help: 'connecting to an upstream; then the next one is tried',
    feature: 'upstream-failures',
    config: 'upstreamTimeouts.connectMs',
  }),
  'upstream-response-timeout': setting(seconds(TIMEOUT), {
    name: 'upstream-response-timeout',
    default: 60_000,
    help: "waiting for an upstream's response head; then 504",
    feature: 'upstream-failures',
    config: 'upstreamTimeouts.responseMs',
  }),
  'upstream-body-timeout': setting(seconds(TIMEOUT), {
    name: 'upstream-body-timeout',
    default: 60_000,
    help: "silence between two response body bytes; then the client's connection is cut",
    feature: 'upstream-failures',
    config: 'upstreamTimeouts.bodyIdleMs',
  }),
  retries: setting(integer({ min: 0, max: 10 }), {
    name: 'retries',
    default: 1,
    help: 'resend an idempotent request that got no response byte to another upstream up to N times; 0 = never (refused connects always fail over)',
    feature: 'upstream-failures',
    config: 'retries',
  }),
  'drain-timeout': setting(seconds({ ...TIMEOUT, zeroMeans: 'at once' }), {
    name: 'drain-timeout',
    default: 10_000,
    help: 'on SIGTERM/SIGINT, time in-flight requests get to finish',
    feature: 'upstream-failures',
    config: 'drainTimeoutMs',
  }),

  'hash-key': setting(textAs('client-ip|header:NAME|cookie:NAME|path|query:NAME', HASH_KEY_FORMS, parseHashKey, showHashKey), {
    name: 'hash-key',
    default: DEFAULT_HASHING.key,
    help: 'what consistent-hash hashes: the client IP, a request header, a cookie, the path (without the query) or a query argument (as sent, not decoded)',
    feature: 'hashing',
    config: 'hashing.key',
  }),
  'hash-balance-factor': setting(decimal('F', { min: 1, max: 10, zeroMeans: 'off', decimals: 2 }), {
    name: 'hash-balance-factor',
    default: DEFAULT_HASHING.balanceFactor,
    help: "bounded load: no upstream takes more than F × the mean in-flight requests of this worker's usable upstreams; the overflow walks on to the next upstream of the key's table",
    feature: 'hashing',
    config: 'hashing.balanceFactor',
  }),
  'hash-fallback': setting(oneOf(HASH_FALLBACK_ALGORITHMS), {
    name: 'hash-fallback',
    default: DEFAULT_HASHING.fallback,
    help: 'how a request without the key (no such header, cookie or query argument) is placed',
    feature: 'hashing',
    config: 'hashing.fallback',
  }),

  // Rate limiting across instances (issue 14): the store, its faults, rules, keys, headers, trusted
  // proxies; and credential brute-force protection (issue 13's part, counted in the same store).
  'rate-limit-burst': setting(integer({ min: 0, max: 1e9, zeroMeans: 'the limit' }), {
    name: 'rate-limit-burst',
    default: 0,
    help: 'gcra: requests admitted at once from idle (then one per window / limit)',
    feature: 'rate-limit',
    config: 'rateLimit.burst (0: none)',
  }),
  'rate-limit-store': setting(storeKind, {
    name: 'rate-limit-store',
    default: { kind: 'memory' },
    help: 'where counts live: memory (the primary: exact for one instance) or a Redis shared by several instances, each worker talking to it directly',
    feature: 'rate-limit',
    config: 'limiting.store',
  }),
  'rate-limit-store-timeout': setting(seconds({ min: 0.001, max: 10 }), {
    name: 'rate-limit-store-timeout',
    default: 5,
    help: 'longest a request waits for Redis; then it is decided as --rate-limit-store-failure says',
    feature: 'rate-limit',
    config: 'limiting.storeTimeoutMs',
  }),
  'rate-limit-store-failure': setting(oneOf(['local', 'open', 'closed'] as const), {
    name: 'rate-limit-store-failure',
    default: 'local',
    help: 'when Redis is slow or down: local (each worker limits on its own: up to N× the limit), open (admit), closed (503)',
    feature: 'rate-limit',
    config: 'limiting.storeFailure',
  }),
  'rate-limit-ipv6-prefix': setting(integer({ min: 1, max: 128 }), {
    name: 'rate-limit-ipv6-prefix',
    default: 64,
    help: 'IPv6 clients are counted by this prefix (one host owns a whole /64)',
    feature: 'rate-limit',
    config: 'limiting.ipv6Prefix',
  }),
  'rate-limit-headers': setting(boolean, {
    name: 'rate-limit-headers',
    default: false,
    help: 'RateLimit-Policy and RateLimit fields on admitted responses too (always on 429s)',
    feature: 'rate-limit',
    config: 'limiting.headersWhenAllowed',
  }),
  'rate-limit-rules': setting(rulesList, {
    name: 'rate-limit-rules',
    default: [],
    help: 'more limits, each on a path prefix and/or requests with a header, keyed by client IP or a header (config file; JSON on the command line)',
    feature: 'rate-limit',
    config: 'limiting.rules',
  }),
  'trusted-proxy': setting(cidrList, {
    name: 'trusted-proxy',
    default: [],
    help: 'a proxy in front whose X-Forwarded-For (or Forwarded) names the client: the rightmost untrusted address is the client for limits, logs and consistent-hash; repeat for each',
    feature: 'rate-limit',
    config: 'trustedProxies',
  }),
  'brute-force-path': setting(pathList, {
    name: 'brute-force-path',
    default: [],
    help: 'a login path prefix whose failed attempts are counted per client; repeat for each; none: off',
    feature: 'rate-limit',
    config: 'limiting.bruteForce.paths (none: bruteForce null)',
  }),
  'brute-force-failure-status': setting(statusList, {
    name: 'brute-force-failure-status',
    default: [401, 403],
    help: 'an upstream answer with one of these statuses on a login path is a failed attempt',
    feature: 'rate-limit',
    config: 'limiting.bruteForce.failureStatuses (with --brute-force-path)',
  }),
  'brute-force-failure-header': setting(optionalHeaderName, {
    name: 'brute-force-failure-header',
    default: '',
    help: 'or: an upstream answer carrying this header is a failed attempt',
    feature: 'rate-limit',
    config: 'limiting.bruteForce.failureHeader (with --brute-force-path)',
  }),
  'brute-force-max-failures': setting(integer({ min: 1, max: 1_000_000 }), {
    name: 'brute-force-max-failures',
    default: 5,
    help: 'failed attempts within --brute-force-window that lock the client out (429)',
    feature: 'rate-limit',
    config: 'limiting.bruteForce.policy.maxFailures (with --brute-force-path)',
  }),
  'brute-force-window': setting(seconds(INTERVAL), {
    name: 'brute-force-window',
    default: 300_000,
    help: 'failed attempts are counted in a window from the first one',
    feature: 'rate-limit',
    config: 'limiting.bruteForce.policy.windowMs (with --brute-force-path)',
  }),
  'brute-force-lockout': setting(seconds(INTERVAL), {
    name: 'brute-force-lockout',
    default: 60_000,
    help: 'the first lock-out; each further one within a day doubles, up to 64×',
    feature: 'rate-limit',
    config: 'limiting.bruteForce.policy.lockoutMs (with --brute-force-path)',
  }),

  // Admin server (issue 15): the admin API, /metrics and the visualizer, in the primary process.
  admin: setting(optionalBindAddress, {
    name: 'admin',
    default: null,
    help: 'serve the admin API, /metrics and the visualizer here (e.g. 127.0.0.1:9100); anywhere but loopback needs --admin-token or --admin-token-file',
    feature: 'admin',
    config: 'admin',
  }),
  'admin-token': setting(text('TOKEN', checkAdminTokenText), {
    name: 'admin-token',
    default: '',
    defaultText: 'none',
    help: 'every admin request must then carry Authorization: Bearer TOKEN (at least 16 characters); visible in ps, so prefer --admin-token-file',
    feature: 'admin',
    config: 'admin.token (null: none; admin is null while --admin is off)',
  }),
  'admin-token-file': setting(text('FILE', (path) => (path === '' ? 'a file name is required' : null)), {
    name: 'admin-token-file',
    default: '',
    defaultText: 'none',
    help: "read the admin token from FILE (its first line); re-read on reload, but a changed token needs a restart",
    feature: 'admin',
    config: 'admin.token (null: none; admin is null while --admin is off)',
  }),

  // Visualizer (issue 15): record the feed to a trace file.
  'trace-file': setting(text('PATH', (value) => (value.includes('\0') ? 'a path cannot contain a NUL byte' : null)), {
    name: 'trace-file',
    default: '',
    help: "write the visualizer's feed (state counts, router messages, upstream health and figures) to PATH as NDJSON, with the machine definitions at its top; empty: off",
    feature: 'trace',
    config: 'trace.path (empty: trace null)',
  }),
  'trace-file-size': setting(bytes({ min: 65_536, max: 68_719_476_736 }), {
    name: 'trace-file-size',
    default: 64 * 1024 * 1024,
    help: 'start a new trace file past this size; the previous one becomes PATH.1 (then .2, .3; older ones are deleted)',
    feature: 'trace',
    config: 'trace.maxBytes (without --trace-file: trace null)',
  }),

  // Response cache (issue 12) ------------------------------------------------------------------------
  'cache-size': setting(bytes({ min: 0, max: 2 ** 40, zeroMeans: 'off' }), {
    name: 'cache-size',
    default: 0,
    help: 'turns the shared HTTP cache on with this memory budget per worker process (bodies, headers and a fixed cost per object counted); 0: no cache',
    feature: 'cache',
    config: 'cache.sizeBytes (0: cache null)',
  }),
  'cache-max-object-size': setting(bytes({ min: 1, max: 2 ** 32 }), {
    name: 'cache-max-object-size',
    default: 1_048_576,
    help: 'a response body larger than this is streamed through and not stored',
    feature: 'cache',
    config: 'cache.maxObjectBytes (with --cache-size)',
  }),
  'cache-serve-stale-on-error': setting(seconds({ min: 1, max: 7 * 86_400, zeroMeans: 'off' }), {
    name: 'cache-serve-stale-on-error',
    default: 0,
    help: "serve a stored response up to SECS past its freshness when the upstreams fail (refused, reset, timeout, 5xx, all dead), as nginx's proxy_cache_use_stale or Varnish's grace; never for must-revalidate/proxy-revalidate/no-cache",
    feature: 'cache',
    config: 'cache.serveStaleOnErrorMs (with --cache-size)',
  }),
  'cache-heuristic-freshness': setting(boolean, {
    name: 'cache-heuristic-freshness',
    default: false,
    help: "give a response without explicit freshness but with Last-Modified 10% of its age as lifetime (at most a day), as RFC 9111 §4.2.2 allows",
    feature: 'cache',
    config: 'cache.heuristicFreshness (with --cache-size)',
  }),
  'cache-set-cookie': setting(oneOf(['skip', 'strip', 'store'] as const), {
    name: 'cache-set-cookie',
    default: 'skip',
    help: 'a response with Set-Cookie: skip (not stored, as nginx), strip (stored without its Set-Cookie), store (stored and replayed to everyone)',
    feature: 'cache',
    config: 'cache.setCookie (with --cache-size)',
  }),
  'cache-eviction': setting(oneOf(['slru', 'lru'] as const), {
    name: 'cache-eviction',
    default: 'slru',
    help: 'slru: segmented LRU, an object hit twice is protected from one-off scans; lru: plain least recently used',
    feature: 'cache',
    config: 'cache.eviction (with --cache-size)',
  }),
  'cache-lock-timeout': setting(seconds({ min: 1, max: 600_000 }), {
    name: 'cache-lock-timeout',
    default: 5_000,
    help: "concurrent misses for one URL wait for the first one's response at most this long, then go upstream themselves (nginx's proxy_cache_lock_timeout)",
    feature: 'cache',
    config: 'cache.lockTimeoutMs (with --cache-size)',
  }),

  // Web application firewall (issue 13): src/waf/, the request filter src/pipeline/waf.ts.
  waf: setting(oneOf(['off', 'detect', 'block'] as const), {
    name: 'waf',
    default: 'off',
    help: 'web application firewall: detect logs the requests it would block and passes them; block answers them 403',
    feature: 'waf',
    config: 'waf.mode (off: waf null)',
  }),
  'waf-paranoia': setting(integer({ min: 1, max: 4 }), {
    name: 'waf-paranoia',
    default: 1,
    help: 'paranoia level: higher levels run more rules, catching more attacks and more legitimate requests',
    feature: 'waf',
    config: 'waf.paranoia (with --waf on)',
  }),
  'waf-threshold': setting(integer({ min: 1, max: 1000 }), {
    name: 'waf-threshold',
    default: 5,
    help: "anomaly score at which a request is blocked; each matching rule adds its score (a critical rule's is 5)",
    feature: 'waf',
    config: 'waf.threshold (with --waf on)',
  }),
  'waf-body-limit': setting(bytes({ min: 0, max: 1024 * 1024, zeroMeans: 'bodies not inspected' }), {
    name: 'waf-body-limit',
    default: 64 * 1024,
    help: 'bytes of a request body inspected, held back until the verdict; the rest of a larger body is streamed on uninspected',
    feature: 'waf',
    config: 'waf.bodyLimit (with --waf on)',
  }),
  'waf-rules': setting(textList<string>('FILE', (path) => (path.trim() === '' ? { problem: 'a rule file path is required' } : { value: path }), String), {
    name: 'waf-rules',
    default: [],
    help: 'a YAML or JSON file of rules of your own, added to the shipped ones (repeatable)',
    feature: 'waf',
    config: 'waf.ruleFiles (with --waf on)',
  }),
  'waf-exclude': setting(textList('ID[-ID][,path=/PREFIX][,arg=NAME]', readExclusion, showExclusion), {
    name: 'waf-exclude',
    default: [],
    help: 'turn a rule (or a range of ids) off: everywhere, under a path prefix, or for one argument (repeatable)',
    feature: 'waf',
    config: 'waf.exclusions (with --waf on)',
  }),

  // Latency estimate (issue 11: peak-ewma's cost, p2c's tie-break) ----------------------------------------
  'ewma-decay': setting(seconds({ min: 0.1, max: 3600 }), {
    name: 'ewma-decay',
    default: 10_000,
    help: "peak-ewma: an upstream's latency estimate jumps at once to a slower answer and comes back toward faster ones with this time constant (Finagle and Linkerd: 10 s)",
    feature: 'core',
    config: 'latencyEstimate.decayMs',
  }),
  'ewma-initial-latency': setting(seconds({ min: 0.001, max: 60 }), {
    name: 'ewma-initial-latency',
    default: 30,
    help: "peak-ewma: the latency assumed for an upstream not heard from yet (and where a slow one's estimate drifts back to while idle), so it is tried but not flooded (Linkerd: 30 ms)",
    feature: 'core',
    config: 'latencyEstimate.initialMs',
  }),
} as const;

/** Shortest admin token accepted: it is the only thing between the network and the admin API. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

export function checkAdminTokenText(token: string): string | null {
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) return `a token needs at least ${ADMIN_TOKEN_MIN_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(token)) return 'a token is printable ASCII without spaces (it travels in an HTTP header)';
  return null;
}

export type Settings = typeof SETTINGS;
export type SettingName = keyof Settings;
export type SettingValues = { -readonly [N in SettingName]: Settings[N] extends Setting<infer T> ? T : never };

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}

/** Flags of the command itself, not settings: they have no config-file key. */
export const COMMAND_FLAGS = [
  { name: 'config', valueName: 'FILE', help: 'read settings from a YAML file (keys are the flag names); flags override it' },
  { name: 'help', valueName: '', help: 'show this help' },
  { name: 'version', valueName: '', help: 'show the version' },
] as const;
