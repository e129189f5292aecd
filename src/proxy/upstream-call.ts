/**
 * One attempt to send an exchange's request to one upstream, as an undici
 * dispatch handler. It settles once — with the response head or with a failure
 * — and, once the connection actor has decided to relay, streams the body
 * straight into the client's response.
 *
 * Why a handler rather than undici's `request()` and `stream.pipeline`: per
 * request those build a body Readable, an AbortController and (at the end of
 * every pipeline in Node 20) an AbortError with a stack trace. Measured with
 * `--cpu-prof` under wrk, that was about a tenth of the proxy's CPU time; see
 * BENCHMARKS.md. Backpressure is kept: `onData` returns what `res.write`
 * returns, undici pauses the upstream parser on false, and the response's
 * 'drain' resumes it.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { clientResponseHeaders } from './headers.js';
import { relayInterimResponse } from './relay.js';

export interface UpstreamHead {
  readonly statusCode: number;
  /** Upstream response headers, `[name, value, ...]` as received. */
  readonly rawHeaders: readonly Buffer[];
}

/** What an attempt reports, exactly once. */
export interface UpstreamCallListener {
  responded(call: UpstreamCall): void;
  failed(error: unknown): void;
}

type Abort = (reason?: Error) => void;

export class UpstreamCall implements Dispatcher.DispatchHandler, UpstreamHead {
  statusCode = 0;
  rawHeaders: readonly Buffer[] = [];
  private settled = false;
  private abortUpstream: Abort | null = null;
  private resumeUpstream: (() => void) | null = null;
  private target: ServerResponse | null = null;
  private discarded = false;
  /** onHeaders paused the upstream until the actor decided what to do with this response. */
  private pausedForDecision = false;
  /**
   * How the body ended while nobody was attached yet: undici does not pause for
   * a bodiless response (HEAD), and an upstream may break off at once.
   */
  private endedEarly: 'complete' | 'broken' | null = null;
  /** undici is done with this attempt: completed or failed. */
  private ended = false;

  constructor(
    private readonly listener: UpstreamCallListener,
    /** The client's response, for interim (1xx) responses; the final one waits for the actor's decision. */
    private readonly interimTo: ServerResponse,
  ) {}

  /** Stream the body into the client's response, head first. */
  pipeTo(res: ServerResponse): void {
    if (this.discarded) return;
    if (this.endedEarly === 'broken') {
      res.destroy();
      return;
    }
    res.writeHead(this.statusCode, clientResponseHeaders(this.rawHeaders, this.statusCode === 204));
    if (this.endedEarly === 'complete') {
      res.end();
      return;
    }
    this.target = res;
    res.on('drain', this.resume);
    if (this.pausedForDecision) {
      this.pausedForDecision = false;
      this.resume();
    }
  }

  /** Nobody will read this response: abort it (its upstream connection is not reused). No-op once it has ended. */
  discard(): void {
    if (this.discarded || this.ended) return;
    this.discarded = true;
    this.abortUpstream?.(new Error('response discarded'));
  }

  // undici's handler interface -------------------------------------------------

  onConnect(abort: Abort): void {
    this.abortUpstream = abort;
    if (this.discarded) abort(new Error('response discarded'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) {
      // Interim (102, 103; a 100 never gets here, see interim-responses.ts): the final response is still to come.
      relayInterimResponse(this.interimTo, statusCode, rawHeaders);
      return true;
    }
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    this.resumeUpstream = resume;
    this.settled = true;
    this.listener.responded(this);
    if (this.target !== null || this.discarded) return true;
    this.pausedForDecision = true;
    return false;
  }

  onData(chunk: Buffer): boolean {
    const target = this.target;
    if (target === null) return !this.discarded;
    return target.write(chunk);
  }

  onComplete(): void {
    this.ended = true;
    const target = this.detach();
    if (target !== null) target.end();
    else this.endedEarly = 'complete';
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
    if (!this.settled) {
      this.settled = true;
      this.listener.failed(error);
      return;
    }
    // Broke off mid-body: cut the client's connection so a short body never looks complete.
    const target = this.detach();
    if (target !== null) target.destroy();
    else this.endedEarly = 'broken';
  }

  // ---------------------------------------------------------------------------

  private readonly resume = (): void => {
    this.resumeUpstream?.();
  };

  private detach(): ServerResponse | null {
    const target = this.target;
    if (target === null) return null;
    this.target = null;
    target.off('drain', this.resume);
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
