/**
 * The shared HTTP cache of one process (RFC 9111, with RFC 9110's
 * semantics, RFC 5861's stale-* and RFC 9213's targeted fields): the
 * decisions, over a MemoryStore. The pipeline's glue (src/pipeline/cache.ts)
 * calls three methods:
 *
 *   lookup(request)          a request filter: a stored response to serve, or null (go upstream,
 *                            with validators if a stored one needs revalidation)
 *   onResponseHead(...)      a response filter: store the response (a tap that copies the body as
 *                            it streams to the client), turn a 304 into the stored 200, a 5xx into
 *                            a stale response where allowed, invalidate on unsafe methods
 *   requestFinished(...)     a finished hook: release whatever the request held (its fill)
 *
 * Time is `now()` (epoch ms), injected so tests run on a clock of their own.
 */
import type { IncomingMessage } from 'node:http';
import type { LocalResponse, RequestView, ResponseHead, ResponseTap } from '../pipeline/filter.js';
import type { Address, CacheSettings } from '../protocol/index.js';
import { singleRange } from './byte-range.js';
import { ABSENT, NO_DIRECTIVES, parseCacheControl, type CacheDirectives } from './cache-control.js';
import { forwardStatus, hitStatus, type ForwardReason } from './cache-status.js';
import { noneMatchHits, notModified, updatedHeaders, validatorsFor } from './conditional.js';
import { CacheFills, type Fill } from './fills.js';
import { currentAge, parseAge, type ResponseTiming } from './freshness.js';
import { removeHeaders } from '../proxy/headers.js';
import { headerValue, requestHeader } from './header-list.js';
import { parseHttpDate } from './http-date.js';
import { MemoryStore } from './memory-store.js';
import { lifetimeOf, refusalToStore, rulingDirectives, type PolicySettings } from './response-policy.js';
import { StoredResponse } from './stored-response.js';
import { secondaryKey, varyFieldNames } from './vary.js';

/** How the cache reaches an upstream by itself, for a background revalidation (stale-while-revalidate). */
export interface UpstreamFetcher {
  /** GET `path` with `headers` from a live upstream; `done` once, with the response or null on any failure. */
  fetch(request: BackgroundRequest, done: (response: FetchedResponse | null) => void): void;
}

export interface BackgroundRequest {
  readonly path: string;
  /** `[name, value, ...]`, Host included. */
  readonly headers: readonly string[];
  /** A body longer than this is a failure (the response could not be stored anyway). */
  readonly maxBodyBytes: number;
}

export interface FetchedResponse {
  readonly status: number;
  /** Hop-by-hop fields already removed. */
  readonly headers: string[];
  readonly body: Buffer;
}

/** Wakes a request that waited for a fill: sends it `request.verdict` (answer null), so it looks again. */
export type WakeWaiter = (replyTo: Address, requestId: number) => void;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH']);
/** Fields never replayed from storage: Age is recomputed, Content-Length set from the stored body. */
const NEVER_STORED = new Set(['age', 'content-length']);
/** Statuses stale-if-error stands in for (RFC 5861 §4). */
const ERROR_STATUSES = new Set([500, 502, 503, 504]);

/** Pragma: no-cache on a request without Cache-Control (RFC 9111 §5.4, deprecated but still sent). */
const PRAGMA_NO_CACHE: Readonly<CacheDirectives> = Object.freeze({ ...NO_DIRECTIVES, noCache: true });

/** What the cache decided about one request, for its response filter and finished hook. */
export class CacheNote {
  fwd: ForwardReason = 'uri-miss';
  /** The stored response this request revalidates (stale, or no-cache); null on a plain miss. */
  entry: StoredResponse | null = null;
  /** The stored validators were sent upstream in place of the client's. */
  validated = false;
  /** The fill this request leads: its response is what requests waiting on the URL get (coalescing). */
  fill: Fill | null = null;

  constructor(
    readonly cache: HttpCache,
    readonly request: RequestView,
    /** 'unsafe': a method that invalidates (POST, PUT, DELETE, PATCH, unknown). */
    readonly method: 'GET' | 'HEAD' | 'unsafe',
    readonly primaryKey: string,
    readonly host: string,
    readonly requestDirectives: CacheDirectives,
    readonly requestTime: number,
  ) {}

  /** stale-if-error: the actor asks this when the upstream could not be reached (FailureFallback). */
  responseForFailure(): LocalResponse | null {
    return this.cache.staleForFailure(this, null);
  }
}

export interface CacheCounters {
  hits: number;
  misses: number;
  stored: number;
  revalidated: number;
  staleServed: number;
  coalesced: number;
}

export class HttpCache {
  readonly store: MemoryStore;
  readonly counters: CacheCounters = { hits: 0, misses: 0, stored: 0, revalidated: 0, staleServed: 0, coalesced: 0 };
  private readonly fills: CacheFills;
  private readonly policy: PolicySettings;

  constructor(
    readonly settings: CacheSettings,
    wake: WakeWaiter,
    private readonly fetcher: UpstreamFetcher | null = null,
    readonly now: () => number = Date.now,
  ) {
    this.store = new MemoryStore(settings.sizeBytes, settings.eviction);
    this.fills = new CacheFills(settings.lockTimeoutMs, wake);
    this.policy = settings;
  }

  /** Same settings, same store: a reload that does not change them keeps what is stored. */
  sameSettings(settings: CacheSettings): boolean {
    const mine = this.settings;
    return (
      mine.sizeBytes === settings.sizeBytes &&
      mine.maxObjectBytes === settings.maxObjectBytes &&
      mine.serveStaleOnErrorMs === settings.serveStaleOnErrorMs &&
      mine.heuristicFreshness === settings.heuristicFreshness &&
      mine.setCookie === settings.setCookie &&
      mine.eviction === settings.eviction &&
      mine.lockTimeoutMs === settings.lockTimeoutMs
    );
  }

  // Requests ------------------------------------------------------------------------------------

  /** Coalescing: a GET for a URL whose response is on its way waits for it (true: the caller says PENDING). */
  waitForFill(request: RequestView, replyTo: Address): boolean {
    const { req } = request;
    if (req.method !== 'GET' || req.headers['cache-control'] !== undefined || req.headers.upgrade !== undefined) return false;
    if (!this.fills.join(primaryKeyOf(req), replyTo, request.id)) return false;
    this.counters.coalesced++;
    return true;
  }

  lookup(request: RequestView): LocalResponse | null {
    const { req } = request;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      if (!SAFE_METHODS.has(method)) request.filterNote = new CacheNote(this, request, 'unsafe', primaryKeyOf(req), hostOf(req), NO_DIRECTIVES, 0);
      return null;
    }
    if (req.headers.upgrade !== undefined) return null;
    const cacheControl = req.headers['cache-control'];
    const requestDirectives =
      cacheControl === undefined ? (pragmaNoCache(req) ? PRAGMA_NO_CACHE : NO_DIRECTIVES) : parseCacheControl(cacheControl);
    const now = this.now();
    const primaryKey = primaryKeyOf(req);
    const note = new CacheNote(this, request, method, primaryKey, hostOf(req), requestDirectives, now);
    request.filterNote = note;

    const names = this.store.varyNamesOf(primaryKey);
    const entry = names === undefined ? undefined : this.store.get(`${primaryKey}\n${secondaryKey(names, req.headers)}`);
    if (entry === undefined) {
      note.fwd = names === undefined ? 'uri-miss' : 'vary-miss';
      this.counters.misses++;
      this.lead(note);
      return null;
    }
    const age = currentAge(entry.timing, now);
    const remaining = entry.lifetime - age;
    const needsValidation = entry.directives.noCache || requestDirectives.noCache;
    if (!needsValidation && acceptable(requestDirectives, entry.directives, age, remaining)) {
      this.counters.hits++;
      return this.fromStore(entry, req, age, hitStatus(remaining));
    }
    if (!needsValidation && remaining <= 0 && mayServeWhileRevalidating(entry.directives, requestDirectives, -remaining)) {
      this.counters.staleServed++;
      this.revalidateInBackground(entry);
      return this.fromStore(entry, req, age, hitStatus(remaining, 'stale-while-revalidate'));
    }
    this.counters.misses++;
    note.entry = entry;
    note.fwd = requestDirectives.noCache ? 'request' : 'stale';
    const validators = validatorsFor(entry.etag, entry.lastModified);
    if (validators !== null) {
      request.upstreamHeaders = validators;
      note.validated = true;
    }
    if (!forbidsStale(entry.directives) && !requestDirectives.noCache) request.fallback = note;
    this.lead(note);
    return null;
  }

  /** A stale response in place of a failure (stale-if-error, --cache-serve-stale-on-error), or null. */
  staleForFailure(note: CacheNote, upstreamStatus: number | null): LocalResponse | null {
    const entry = note.entry;
    if (entry === null || forbidsStale(entry.directives) || note.requestDirectives.noCache) return null;
    const age = currentAge(entry.timing, this.now());
    const staleness = age - entry.lifetime;
    const allowed = Math.max(entry.directives.staleIfError, note.requestDirectives.staleIfError, this.settings.serveStaleOnErrorMs / 1000);
    if (allowed === ABSENT || staleness > allowed) return null;
    this.counters.staleServed++;
    return this.fromStore(entry, note.request.req, age, forwardStatus(note.fwd, upstreamStatus, false, entry.lifetime - age, 'stale-if-error'));
  }

  // Responses -----------------------------------------------------------------------------------

  onResponseHead(note: CacheNote, head: ResponseHead): ResponseTap | null {
    const status = head.statusCode;
    if (note.method === 'unsafe') {
      // RFC 9111 §4.4: a non-error response to an unsafe method invalidates the URL and its Location/Content-Location.
      if (status >= 200 && status < 400) this.invalidate(note, head.headers);
      head.headers.push('cache-status', forwardStatus('method', status, false));
      return null;
    }
    const now = this.now();
    const { req } = note.request;
    const entry = note.entry;
    if (entry !== null) {
      if (status === 304 && note.validated) {
        this.refresh(entry, head.headers, note.requestTime, now);
        this.counters.revalidated++;
        const age = currentAge(entry.timing, now);
        head.replacement = this.fromStore(entry, req, age, forwardStatus(note.fwd, 304, false, entry.lifetime - age));
        this.release(note);
        return null;
      }
      if (ERROR_STATUSES.has(status)) {
        const stale = this.staleForFailure(note, status);
        if (stale !== null) {
          head.replacement = stale;
          this.release(note);
          return null;
        }
      }
    }
    if (note.method === 'HEAD') {
      // RFC 9111 §4.3.5: a HEAD response whose validators differ from the stored GET's makes it stale.
      const etag = headerValue(head.headers, 'etag');
      if (entry !== null && status === 200 && etag !== undefined && etag !== entry.etag) this.store.delete(entry.key);
      head.headers.push('cache-status', forwardStatus(note.fwd, status, false));
      this.release(note);
      return null;
    }
    const ruling = rulingDirectives(head.headers);
    const refusal = refusalToStore(
      {
        method: 'GET',
        status,
        headers: head.headers,
        ruling,
        requestDirectives: note.requestDirectives,
        requestHasAuthorization: req.headers.authorization !== undefined,
      },
      this.policy,
    );
    if (refusal !== null) {
      // A final response that replaces a stored one but may not be stored leaves nothing valid behind.
      if (entry !== null && status !== 304 && !ERROR_STATUSES.has(status) && status !== 206) this.store.delete(entry.key);
      head.headers.push('cache-status', forwardStatus(note.fwd, status, false, undefined, refusal.replace(/ /g, '-')));
      this.release(note);
      return null;
    }
    head.headers.push('cache-status', forwardStatus(note.fwd, status, true));
    return new StoreTap(this, note, status, head.headers.slice(0, head.headers.length - 2), now);
  }

  /** A finished request gives up its fill, however it ended (an upstream failure never reached a tap). */
  requestFinished(note: CacheNote): void {
    this.release(note);
  }

  /** Removes every stored variant of a URL (Host and origin-form target); the number removed. For the admin API. */
  purge(host: string, target: string): number {
    return this.store.deleteUrl(`${host.toLowerCase()}${target}`);
  }

  // Inside --------------------------------------------------------------------------------------

  /** Stores a complete response; called by the tap at the end of the body, and by background revalidations. */
  storeResponse(note: { readonly primaryKey: string; readonly host: string; readonly requestTime: number }, req: IncomingMessage, status: number, headers: readonly string[], body: Buffer, responseTime: number): void {
    const ruling = rulingDirectives(headers);
    const varyNames = varyFieldNames(headerValue(headers, 'vary'));
    if (varyNames === null) return;
    const excluded = this.excludedFields(ruling.directives);
    const stored = headers.slice();
    removeHeaders(stored, excluded);
    const timing = timingOf(headers, note.requestTime, responseTime);
    const varyRequestHeaders: string[] = [];
    for (const name of varyNames) {
      const value = requestHeader(req.headers[name]);
      if (value !== undefined) varyRequestHeaders.push(name, value);
    }
    const entry = new StoredResponse(
      `${note.primaryKey}\n${secondaryKey(varyNames, req.headers)}`,
      note.primaryKey,
      status,
      stored,
      body,
      timing,
      ruling.directives,
      lifetimeOf(status, headers, ruling, timing.dateValue, this.policy),
      headerValue(headers, 'etag') ?? null,
      headerValue(headers, 'last-modified') ?? null,
      varyNames,
      note.host,
      req.url ?? '/',
      varyRequestHeaders,
    );
    if (this.store.insert(entry)) this.counters.stored++;
  }

  /** The fill this request led, if any, is over: its waiters look again (and find it stored, or go upstream). */
  release(note: CacheNote): void {
    const { fill } = note;
    if (fill === null) return;
    note.fill = null;
    this.fills.finish(fill);
  }

  private lead(note: CacheNote): void {
    const { req } = note.request;
    if (note.method !== 'GET' || note.requestDirectives.noStore || req.headers.range !== undefined) return;
    if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) return;
    note.fill = this.fills.start(note.primaryKey);
  }

  private excludedFields(directives: CacheDirectives): Set<string> {
    const excluded = new Set(NEVER_STORED);
    if (this.settings.setCookie !== 'store') excluded.add('set-cookie');
    for (const name of directives.privateFields ?? []) excluded.add(name);
    return excluded;
  }

  /** A 304 revalidated a stored response: its fields and freshness are updated (RFC 9111 §4.3.4). */
  private refresh(entry: StoredResponse, fresh: readonly string[], requestTime: number, now: number): void {
    const excluded = this.excludedFields(entry.directives);
    entry.headers = updatedHeaders(entry.headers, fresh, excluded);
    const ruling = rulingDirectives(entry.headers);
    entry.directives = ruling.directives;
    entry.timing = timingOf(fresh, requestTime, now);
    entry.lifetime = lifetimeOf(entry.status, entry.headers, ruling, entry.timing.dateValue, this.policy);
    entry.etag = headerValue(entry.headers, 'etag') ?? null;
    entry.lastModified = headerValue(entry.headers, 'last-modified') ?? null;
    this.store.resized(entry);
  }

  /** stale-while-revalidate: one background request per stored response, whose answer updates or replaces it. */
  private revalidateInBackground(entry: StoredResponse): void {
    if (entry.revalidating || this.fetcher === null) return;
    entry.revalidating = true;
    const headers = ['host', entry.host, ...entry.varyRequestHeaders, ...(validatorsFor(entry.etag, entry.lastModified) ?? [])];
    const requestTime = this.now();
    this.fetcher.fetch({ path: entry.path, headers, maxBodyBytes: this.settings.maxObjectBytes }, (response) => {
      entry.revalidating = false;
      if (response === null) return;
      const now = this.now();
      if (response.status === 304) {
        if (this.store.peek(entry.key) === entry) this.refresh(entry, response.headers, requestTime, now);
        return;
      }
      const ruling = rulingDirectives(response.headers);
      const refusal = refusalToStore(
        { method: 'GET', status: response.status, headers: response.headers, ruling, requestDirectives: NO_DIRECTIVES, requestHasAuthorization: false },
        this.policy,
      );
      if (refusal !== null) {
        if (!ERROR_STATUSES.has(response.status)) this.store.delete(entry.key);
        return;
      }
      const req = { url: entry.path, headers: requestHeadersOf(entry.varyRequestHeaders) } as IncomingMessage;
      this.storeResponse({ primaryKey: entry.primaryKey, host: entry.host, requestTime }, req, response.status, response.headers, response.body, now);
    });
  }

  /** RFC 9111 §4.4: the request's URL, and same-origin Location / Content-Location. */
  private invalidate(note: CacheNote, headers: readonly string[]): void {
    this.store.deleteUrl(note.primaryKey);
    const { req } = note.request;
    const base = `http://${note.host}${req.url ?? '/'}`;
    for (const name of ['location', 'content-location']) {
      const value = headerValue(headers, name);
      if (value === undefined) continue;
      let url: URL;
      try {
        url = new URL(value, base);
      } catch {
        continue;
      }
      if (url.protocol === 'http:' && url.host.toLowerCase() === note.host) this.store.deleteUrl(`${note.host}${url.pathname}${url.search}`);
    }
  }

  /** The stored response as this request gets it: 200 (or its status), 304 to a matching condition, 206 for a range. */
  private fromStore(entry: StoredResponse, req: IncomingMessage, age: number, cacheStatus: string): LocalResponse {
    const headers = entry.headers.slice();
    let status = entry.status;
    let body: Buffer | null = req.method === 'HEAD' ? null : entry.body;
    if ((status === 200 || status === 203) && notModified(req.headers, entry.etag, entry.lastModified, entry.timing.dateValue)) {
      status = 304;
      body = null;
    } else {
      const range = requestHeader(req.headers.range);
      if (range !== undefined && status === 200 && ifRangeHolds(req, entry)) {
        const answer = singleRange(range, entry.body.length);
        if (answer.kind === 'partial') {
          status = 206;
          headers.push('content-range', `bytes ${answer.start}-${answer.end}/${entry.body.length}`);
          if (body !== null) body = entry.body.subarray(answer.start, answer.end + 1);
          headers.push('content-length', String(answer.end - answer.start + 1));
        } else if (answer.kind === 'unsatisfiable') {
          status = 416;
          body = null;
          headers.push('content-range', `bytes */${entry.body.length}`, 'content-length', '0');
        } else {
          headers.push('content-length', String(entry.body.length));
        }
      } else if (status !== 204 && status !== 304) {
        headers.push('content-length', String(entry.body.length));
      }
    }
    headers.push('age', String(Math.floor(age)), 'cache-status', cacheStatus);
    return { status, headers, body };
  }
}

/** Copies a response body as it streams to the client; stores it once complete. Never holds the client up. */
class StoreTap implements ResponseTap {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private abandoned = false;

  constructor(
    private readonly cache: HttpCache,
    private readonly note: CacheNote,
    private readonly status: number,
    private readonly headers: readonly string[],
    private readonly responseTime: number,
  ) {}

  data(chunk: Buffer): void {
    if (this.abandoned) return;
    this.bytes += chunk.length;
    if (this.bytes > this.cache.settings.maxObjectBytes) {
      // Too large after all (no Content-Length said so): streamed through, not stored.
      this.giveUp();
      return;
    }
    this.chunks.push(chunk);
  }

  end(): void {
    if (this.abandoned) return;
    const declared = headerValue(this.headers, 'content-length');
    if (declared !== undefined && Number(declared) !== this.bytes) {
      this.giveUp();
      return;
    }
    // One copy into memory of its own: undici's chunks are views of socket reads of up to 64 KiB
    // (which a small body would keep alive whole), and Buffer.concat would use the shared pool.
    const body = Buffer.allocUnsafeSlow(this.bytes);
    let offset = 0;
    for (const chunk of this.chunks) offset += chunk.copy(body, offset);
    this.chunks = [];
    this.cache.storeResponse(this.note, this.note.request.req, this.status, this.headers, body, this.responseTime);
    this.cache.release(this.note);
  }

  abort(): void {
    this.giveUp();
  }

  private giveUp(): void {
    this.abandoned = true;
    this.chunks = [];
    this.cache.release(this.note);
  }
}

/** Whether a stored response may be reused as it is for this request (RFC 9111 §4.2, §5.2.1). */
function acceptable(request: CacheDirectives, response: CacheDirectives, age: number, remaining: number): boolean {
  if (request.maxAge !== ABSENT && age > request.maxAge) return false;
  if (remaining > 0) return request.minFresh === ABSENT || remaining >= request.minFresh;
  // Stale: only when the client accepts it (max-stale) and the response does not forbid it.
  return request.maxStale !== ABSENT && !forbidsStale(response) && -remaining <= request.maxStale;
}

/** must-revalidate, proxy-revalidate, s-maxage (which implies it, §5.2.2.10) and no-cache: never served stale. */
function forbidsStale(directives: CacheDirectives): boolean {
  return directives.mustRevalidate || directives.proxyRevalidate || directives.sMaxAge !== ABSENT || directives.noCache;
}

function mayServeWhileRevalidating(response: CacheDirectives, request: CacheDirectives, staleness: number): boolean {
  if (forbidsStale(response) || response.staleWhileRevalidate === ABSENT) return false;
  // A client that bounds the age or asks for freshness left is not served stale behind its back.
  if (request.maxAge !== ABSENT || request.minFresh !== ABSENT) return false;
  return staleness <= response.staleWhileRevalidate;
}

function ifRangeHolds(req: IncomingMessage, entry: StoredResponse): boolean {
  const ifRange = requestHeader(req.headers['if-range']);
  if (ifRange === undefined) return true;
  // RFC 9110 §13.1.5: a strong entity-tag comparison, or the exact Last-Modified date.
  if (ifRange.trim().startsWith('"')) return entry.etag !== null && !entry.etag.startsWith('W/') && noneMatchHits(ifRange, entry.etag);
  return entry.lastModified !== null && parseHttpDate(ifRange) === parseHttpDate(entry.lastModified);
}

function timingOf(headers: readonly string[], requestTime: number, responseTime: number): ResponseTiming {
  const date = parseHttpDate(headerValue(headers, 'date'));
  return {
    requestTime,
    responseTime,
    dateValue: Number.isNaN(date) ? responseTime : date,
    ageValue: parseAge(headerValue(headers, 'age')),
  };
}

function requestHeadersOf(fields: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) headers[fields[i] as string] = fields[i + 1] as string;
  return headers;
}

function hostOf(req: IncomingMessage): string {
  return (req.headers.host ?? '').toLowerCase();
}

/** The primary cache key: Host and the origin-form target (the scheme is always http here). */
export function primaryKeyOf(req: IncomingMessage): string {
  return `${hostOf(req)}${req.url ?? '/'}`;
}

function pragmaNoCache(req: IncomingMessage): boolean {
  const pragma = requestHeader(req.headers.pragma);
  return pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma);
}
