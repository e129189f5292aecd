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
 *
 * A pipelined response waits for its turn (Node attaches a response to the
 * socket only once the one before it has finished) with the upstream paused:
 * nothing is written into a response that is not on the socket yet. Written
 * there, its body would buffer in the response, `write` would return false,
 * and no 'drain' would ever come if the client never reads the one before it;
 * the upstream connection would be held for good.
 *
 * `awaitingClientSince` says since when the response has been waiting on the
 * client (a refused write not yet drained, or its turn not yet come): the
 * connection actor's one timer reads it for the send timeout, instead of a
 * timer per write.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { clientResponseHeaders } from './headers.js';

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
  /**
   * Since when (performance.now()) this response has been waiting on the
   * client: a write it refused and has not drained, or its turn on a
   * pipelined connection not yet come. Null while it is not waiting. After the
   * last write the stamp stays until the response closes (Node emits no
   * 'drain' once a response has ended): the client has the send timeout to take
   * what is buffered.
   */
  awaitingClientSince: number | null = null;

  constructor(private readonly listener: UpstreamCallListener) {}

  /** Stream the body into the client's response, head first. */
  pipeTo(res: ServerResponse): void {
    if (this.discarded) return;
    if (res.socket === null && !res.destroyed) {
      // Pipelined behind a response still being written: wait for Node to attach this one, upstream paused.
      this.awaitingClientSince ??= performance.now();
      res.once('socket', () => this.pipeTo(res));
      return;
    }
    this.awaitingClientSince = null;
    if (this.endedEarly === 'broken') {
      res.destroy();
      return;
    }
    res.writeHead(this.statusCode, clientResponseHeaders(this.rawHeaders));
    if (this.endedEarly === 'complete') {
      res.end();
      return;
    }
    this.target = res;
    res.on('drain', this.onDrain);
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
    // Discarded while queued in the pool (its client left): undici's abort at this point would destroy
    // the pooled connection the request was about to be written on. An error thrown here fails this
    // request alone (undici's errorRequest): it is dropped unsent and the connection serves the next one.
    if (this.discarded) throw new Error('response discarded before it was sent');
    this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational: the final response is still to come
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
    if (target.write(chunk)) return true;
    this.awaitingClientSince = performance.now();
    return false;
  }

  onComplete(): void {
    this.ended = true;
    const target = this.detach();
    if (target !== null) target.end();
    else this.endedEarly = 'complete';
  }

  onError(error: Error): void {
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

  private readonly onDrain = (): void => {
    this.awaitingClientSince = null;
    this.resumeUpstream?.();
  };

  private resume(): void {
    this.resumeUpstream?.();
  }

  private detach(): ServerResponse | null {
    const target = this.target;
    if (target === null) return null;
    this.target = null;
    target.off('drain', this.onDrain);
    return target;
  }
}
