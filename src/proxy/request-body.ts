/**
 * The client's request body as undici sees it: a Readable that does not touch
 * the client's stream until undici starts writing the body, which it does only
 * once the upstream connection is up. So when a connect fails, no body byte has
 * been consumed and the request can still go to another upstream unchanged.
 * Backpressure: push() returning false pauses the client socket; _read resumes it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { RequestBodyFailure } from '../protocol/index.js';

export class DeferredRequestBody extends Readable {
  /** Whether any byte has been taken from the client: past this point the body cannot be replayed. */
  started = false;
  /** The client's side failed: tell it apart from an upstream failure, and say how (answered 400, 413 or 408). */
  failure: RequestBodyFailure | null = null;
  /**
   * Since when (performance.now()) the balancer has been waiting for a byte
   * from the client; null while it is not waiting (not started, paused by
   * backpressure, or ended). The connection actor's one body-idle timer reads
   * it: a timestamp written per chunk instead of a timer re-armed per chunk.
   */
  awaitingClientSince: number | null = null;
  private received = 0;

  constructor(
    private readonly source: IncomingMessage,
    /** Bytes allowed before the body fails as too large; 0: no limit. */
    private readonly maxBytes = 0,
    /**
     * The client sent `Expect: 100-continue` and waits for a 100 before its body: sent on this
     * response when undici first asks for the body, i.e. once the request was admitted, an upstream
     * chosen and connected. An answer given before (429, 413, 502) goes out without a 100, and Node
     * then closes the connection, the client's body being unsent or unread.
     */
    private readonly continueTo: ServerResponse | null = null,
  ) {
    super({ highWaterMark: 64 * 1024 });
    // A body fails by destroy(error) (failWith), also before any upstream attempt has it (a malformed
    // chunk while the request waits for its pipelining turn or a rate-limit verdict). Its failure is
    // read from `failure`; an 'error' nobody listens to must not take the process down.
    this.on('error', ignoreBodyError);
  }

  get clientFailed(): boolean {
    return this.failure !== null;
  }

  /** Fail from outside (a stalled client, a parse error mid-body): the upstream request is aborted. */
  failWith(failure: RequestBodyFailure): void {
    if (this.failure !== null || this.destroyed) return;
    this.failure = failure;
    this.awaitingClientSince = null;
    this.destroy(new Error(`request body failed: ${failure}`));
  }

  override _read(): void {
    if (this.awaitingClientSince === null && this.failure === null && !this.source.complete) {
      this.awaitingClientSince = performance.now();
    }
    if (!this.started) {
      this.started = true;
      if (this.continueTo !== null && !this.continueTo.headersSent) this.continueTo.writeContinue();
      this.source.on('data', this.onData);
      this.source.once('end', this.onEnd);
      this.source.once('error', this.onError);
      this.source.once('aborted', this.onAborted);
    }
    this.source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.awaitingClientSince = null;
    this.detach();
    callback(error);
  }

  /** A fresh body for a retry; only allowed while nothing has been consumed. */
  replay(): DeferredRequestBody {
    if (this.started) throw new Error('request body already consumed');
    return new DeferredRequestBody(this.source, this.maxBytes, this.continueTo);
  }

  private detach(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.source.off('aborted', this.onAborted);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    if (this.maxBytes > 0 && this.received > this.maxBytes) {
      this.failWith('too-large');
      return;
    }
    if (this.push(chunk)) {
      this.awaitingClientSince = performance.now();
    } else {
      this.awaitingClientSince = null;
      this.source.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.awaitingClientSince = null;
    this.detach();
    this.push(null);
  };

  private readonly onError = (error: Error): void => {
    this.failure ??= 'client-aborted';
    this.destroy(error);
  };

  private readonly onAborted = (): void => {
    this.failWith('client-aborted');
  };
}

/** undici reports a failed body as the attempt's error; whoever else needs it reads `failure`. */
const ignoreBodyError = (): void => {};

/** A request has a body when it says so (RFC 9112 §6.3): a Content-Length above 0 or a Transfer-Encoding. */
export function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
