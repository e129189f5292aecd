/**
 * One attempt to send an exchange's request to one upstream, as an undici
 * dispatch handler. It settles once — with the response head or with a failure
 * — into its connection's ledger (src/actors/connection.ts): a head for an
 * exchange still in flight is relayed there and then, and the body streams
 * straight into the client's response; a failure goes to the connection actor,
 * which decides to retry or answer.
 *
 * Why a handler rather than undici's `request()` and `stream.pipeline`: per
 * request those build a body Readable, an AbortController and (at the end of
 * every pipeline in Node 20) an AbortError with a stack trace. Measured with
 * `--cpu-prof` under wrk, that was about a tenth of the proxy's CPU time; see
 * BENCHMARKS.md. Backpressure is kept: `onData` returns what `res.write`
 * returns, undici pauses the upstream parser on false, and the response's
 * 'drain' resumes it. The 'drain' listener is added at the first refused
 * write, not for every response: node:http emits 'drain' on a response only
 * after a write it refused, and most responses fit the socket's buffer
 * (one listener added and removed per request saved).
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { LoadFigures } from '../balancing/load.js';
import type { LocalResponse, ResponseHead, ResponseTap } from '../pipeline/filter.js';
import { ownDelay } from '../balancing/own-delay.js';
import type { ProxyFailure } from '../protocol/index.js';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { classifyUpstreamError } from './failure.js';
import { headerStrings } from './headers.js';
import { relayInterimResponse } from './relay.js';

/**
 * Where an attempt reports, exactly once: one object per connection (its actor's ledger), so a
 * dispatch allocates no callback. `responded` runs inside undici's parser, before any body byte.
 */
export interface AttemptSettlement {
  responded(exchange: Exchange, response: UpstreamResponse): void;
  failed(exchange: Exchange, failure: ProxyFailure): void;
}

type Abort = (reason?: Error) => void;

export class UpstreamCall implements Dispatcher.DispatchHandler, UpstreamResponse {
  statusCode = 0;
  /** Upstream response headers, `[name, value, ...]` as received. */
  private rawHeaders: readonly Buffer[] = [];
  private settled = false;
  private abortUpstream: Abort | null = null;
  private resumeUpstream: (() => void) | null = null;
  private target: ServerResponse | null = null;
  /** The response filters' taps on this body; null (the common case) when none asked for one. */
  private taps: ResponseTap[] | null = null;
  private discarded = false;
  /** `onDrain` is on the target's 'drain': added at the first write it refused, removed at detach. */
  private listeningForDrain = false;
  /** onHeaders paused the upstream until the actor decided what to do with this response. */
  private pausedForDecision = false;
  /**
   * How the body ended while nobody was attached yet: undici does not pause for
   * a bodiless response (HEAD), and an upstream may break off at once.
   */
  private endedEarly: 'complete' | 'broken' | null = null;
  /** undici is done with this attempt: completed or failed. */
  private ended = false;
  /** This attempt has been counted out of its upstream's in-flight figure: guards the exactly-once. */
  private released = false;
  /**
   * When undici wrote the request on a connection (onConnect), and the loop's idle clock then: the latency
   * sample runs from there, so neither a connect nor a wait in the pool counts as the upstream's time.
   */
  private writtenAt = 0;
  private idleAtWrite = 0;
  /**
   * Since when (performance.now()) this response has been waiting on the
   * client: a write it refused and has not drained. Null while it is not
   * waiting. After the
   * last write the stamp stays until the response closes (Node emits no
   * 'drain' once a response has ended): the client has the send timeout to take
   * what is buffered.
   */
  awaitingClientSince: number | null = null;

  constructor(
    /** Its upstream's load figures: counted in by forward.ts, counted out here. */
    private readonly load: LoadFigures,
    /** Whose request this is: its response gets interim (1xx) responses at once, the final one once relayed. */
    private readonly exchange: Exchange,
    private readonly upstreamId: string,
    /** Told the outcome, exactly once (the connection's ledger: no closure per attempt). */
    private readonly settlement: AttemptSettlement,
  ) {}

  /** The client went away first (`discard`): nobody reads this response, and its failure is not the upstream's. */
  get wasDiscarded(): boolean {
    return this.discarded;
  }

  /** Run the exchange's response filters on the head, write it, and stream the body into the client's response. */
  pipeTo(exchange: Exchange): void {
    const { res } = exchange;
    if (this.discarded) return;
    if (res.headersSent || res.writableEnded) {
      // Answered meanwhile (a malformed body while it waited for its turn): this response goes nowhere.
      this.discard();
      return;
    }
    if (res.socket === null && !res.destroyed) {
      // Pipelined behind a response still being written: wait for Node to attach this one, upstream paused.
      // Not a wait on the client: if the client stops reading, the response ahead of it is the one stamped.
      res.once('socket', () => this.pipeTo(exchange));
      return;
    }
    if (this.endedEarly === 'broken') {
      res.destroy();
      return;
    }
    const head: ResponseHead = { statusCode: this.statusCode, headers: headerStrings(this.rawHeaders), replacement: null };
    for (const filter of (exchange.pipeline as NonNullable<Exchange['pipeline']>).responseFilters) {
      const tap = filter.onHead(exchange, head);
      if (tap !== null) (this.taps ??= []).push(tap);
    }
    if (head.replacement !== null) {
      this.sendReplacement(exchange, head.replacement);
      return;
    }
    res.writeHead(head.statusCode, head.headers);
    if (this.endedEarly === 'complete') {
      this.endTaps();
      res.end();
      return;
    }
    this.target = res;
    if (this.pausedForDecision) {
      this.pausedForDecision = false;
      this.resumeUpstream?.();
    }
  }

  /**
   * A response filter put a response it holds in place of this one (a 304 revalidating a stored 200, a
   * stale one for a 5xx): it is written whole, and the upstream's body, if any, is read and dropped
   * (onData without a target) so the upstream connection stays reusable.
   */
  private sendReplacement(exchange: Exchange, replacement: LocalResponse): void {
    const { res } = exchange;
    exchange.status = replacement.status;
    this.endTaps();
    res.writeHead(replacement.status, replacement.headers as string[]);
    if (replacement.body === null) res.end();
    else res.end(replacement.body);
    if (this.pausedForDecision) {
      this.pausedForDecision = false;
      this.resumeUpstream?.();
    }
  }

  /** Nobody will read this response: abort it (its upstream connection is not reused). No-op once it has ended. */
  discard(): void {
    if (this.discarded || this.ended) return;
    this.discarded = true;
    this.release();
    this.abortUpstream?.(new Error('response discarded'));
  }

  // undici's handler interface -------------------------------------------------

  onConnect(abort: Abort): void {
    // Discarded while queued in the pool (its client left): undici's abort at this point would destroy
    // the pooled connection the request was about to be written on. An error thrown here fails this
    // request alone (undici's errorRequest): it is dropped unsent and the connection serves the next one.
    if (this.discarded) throw new Error('response discarded before it was sent');
    this.abortUpstream = abort;
    this.writtenAt = performance.now();
    this.idleAtWrite = ownDelay.idleNow();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) {
      // Interim (102, 103; a 100 never gets here, see interim-responses.ts): the final response is still to come.
      relayInterimResponse(this.exchange.res, statusCode, rawHeaders);
      return true;
    }
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    this.resumeUpstream = resume;
    this.settled = true;
    // The upstream's part of the wait: our own loop's delay beyond its usual share is taken out (own-delay.ts).
    const now = performance.now();
    this.load.latencySampled(ownDelay.upstreamPart(now - this.writtenAt, this.idleAtWrite, now), now);
    this.load.headLatency?.observeMs(now - this.writtenAt);
    // For a live exchange this attaches the client's response (pipeTo) before this returns.
    this.settlement.responded(this.exchange, this);
    if (this.target !== null || this.discarded) return true;
    this.pausedForDecision = true;
    return false;
  }

  onData(chunk: Buffer): boolean {
    const target = this.target;
    if (target === null) return !this.discarded;
    if (this.taps !== null) for (const tap of this.taps) tap.data(chunk);
    if (target.write(chunk)) return true;
    this.awaitingClientSince = performance.now();
    if (!this.listeningForDrain) {
      // Added after the refusal, in the same turn: node:http emits 'drain' only once its socket has written out.
      this.listeningForDrain = true;
      target.on('drain', this.onDrain);
    }
    return false;
  }

  onComplete(): void {
    this.ended = true;
    this.release();
    const target = this.detach();
    if (target !== null) {
      this.endTaps();
      target.end();
    } else {
      this.endedEarly = 'complete';
    }
  }

  onError(error: Error): void {
    if (this.settled && bodiless(this.statusCode) && errorCode(error) === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
      // A 204 or 304 ends at its head whatever its Content-Length says (RFC 9112 §6.3; RFC 9110 §8.6 allows
      // one on a 304), and llhttp ends it there; undici 7 then compares the body bytes with Content-Length
      // for every method but HEAD and fails a complete response. It is complete: relay it as such. undici
      // has closed that upstream connection; the next request opens another.
      this.onComplete();
      return;
    }
    this.ended = true;
    this.release();
    if (!this.settled) {
      this.settled = true;
      this.reportFailure(error);
      return;
    }
    // Broke off mid-body (or discarded): cut the client's connection so a short body never looks complete.
    this.abortTaps();
    const target = this.detach();
    if (target !== null) target.destroy();
    else this.endedEarly = 'broken';
  }

  // ---------------------------------------------------------------------------

  /** No response head: classified by where it failed, for the connection actor to retry or answer. */
  private reportFailure(error: unknown): void {
    const bodyFailed = this.exchange.body?.clientFailed === true;
    const failure = classifyUpstreamError(error, this.upstreamId, bodyFailed);
    // A failure that is the upstream's counts as a slow sample; the client's body or its leaving does not.
    if (failure.kind !== 'request-body-failed' && !this.discarded) this.load.failureSampled(performance.now());
    this.settlement.failed(this.exchange, failure);
  }

  private readonly onDrain = (): void => {
    this.awaitingClientSince = null;
    this.resumeUpstream?.();
  };

  private endTaps(): void {
    const taps = this.taps;
    this.taps = null;
    if (taps !== null) for (const tap of taps) tap.end();
  }

  private abortTaps(): void {
    const taps = this.taps;
    this.taps = null;
    if (taps !== null) for (const tap of taps) tap.abort();
  }

  /** Counts the attempt out of its upstream's in-flight figure, once whichever way it ends. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.load.attemptEnded();
  }

  private detach(): ServerResponse | null {
    const target = this.target;
    if (target === null) return null;
    this.target = null;
    if (this.listeningForDrain) {
      this.listeningForDrain = false;
      target.off('drain', this.onDrain);
    }
    return target;
  }
}

/** Final statuses that never have a body (RFC 9112 §6.3), whatever the headers say. */
function bodiless(statusCode: number): boolean {
  return statusCode === 204 || statusCode === 304;
}

function errorCode(error: Error): unknown {
  return (error as { code?: unknown }).code;
}
