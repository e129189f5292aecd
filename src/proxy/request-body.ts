/**
 * The client's request body as undici sees it: a Readable that does not touch
 * the client's stream until undici starts writing the body, which it does only
 * once the upstream connection is up. So when a connect fails, no body byte has
 * been consumed and the request can still go to another upstream unchanged.
 * Backpressure: push() returning false pauses the client socket; _read resumes it.
 *
 * The one exception is a filter that must see the body's start before the
 * request goes anywhere (the WAF, through `holdPrefix`): then up to its limit
 * is read ahead and held — the client is paused once the limit is reached —,
 * and handed to undici first when it starts reading, the rest following as
 * usual. Held bytes are not "started": a fail-over's replay carries them over.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { BodyPrefixSink, RequestBodyView } from '../pipeline/filter.js';
import type { RequestBodyFailure } from '../protocol/index.js';
import { firstHeaderValue } from './headers.js';

export class DeferredRequestBody extends Readable implements RequestBodyView {
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
  /** Bytes read ahead for a filter (holdPrefix) and not yet handed to undici; null when none were. */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  private prefixLimit = 0;
  /** Told once, when the prefix is in or the body failed before. */
  private sink: BodyPrefixSink | null = null;
  /** The client's body ended while being held. */
  private sourceEnded = false;

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
    const sink = this.sink;
    this.sink = null;
    sink?.prefixFailed(failure);
  }

  /** Read up to `limit` bytes ahead of the upstream and hold them; `sink` hears once (see filter.ts). */
  holdPrefix(limit: number, sink: BodyPrefixSink): void {
    if (this.started || this.held !== null) throw new Error('holdPrefix: the body is already being read');
    this.held = [];
    this.prefixLimit = limit;
    this.sink = sink;
    if (this.continueTo !== null && !this.continueTo.headersSent) this.continueTo.writeContinue();
    this.awaitingClientSince = performance.now();
    this.attach();
    this.source.resume();
  }

  private deliverPrefix(complete: boolean): void {
    const sink = this.sink;
    if (sink === null) return;
    this.sink = null;
    const held = this.held ?? [];
    const whole = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held);
    sink.prefixReady(whole.length > this.prefixLimit ? whole.subarray(0, this.prefixLimit) : whole, complete);
  }

  override _read(): void {
    if (this.awaitingClientSince === null && this.failure === null && !this.source.complete) {
      this.awaitingClientSince = performance.now();
    }
    if (!this.started) {
      this.started = true;
      if (this.held !== null) {
        // Read ahead for a filter: those bytes first, then the rest as usual (listeners already attached).
        const held = this.held;
        this.held = null;
        this.heldBytes = 0;
        for (const chunk of held) this.push(chunk);
        if (this.sourceEnded) {
          this.awaitingClientSince = null;
          this.push(null);
          return;
        }
      } else {
        if (this.continueTo !== null && !this.continueTo.headersSent) this.continueTo.writeContinue();
        this.attach();
      }
    }
    this.source.resume();
  }

  private attach(): void {
    this.source.on('data', this.onData);
    this.source.once('end', this.onEnd);
    this.source.once('error', this.onError);
    this.source.once('aborted', this.onAborted);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.awaitingClientSince = null;
    this.detach();
    callback(error);
  }

  /** A fresh body for a retry; only allowed while nothing has been consumed. */
  replay(): DeferredRequestBody {
    if (this.started) throw new Error('request body already consumed');
    const next = new DeferredRequestBody(this.source, this.maxBytes, this.continueTo);
    if (this.held !== null) {
      // What was read ahead goes with the request to its next upstream.
      this.detach();
      next.adopt(this.held, this.heldBytes, this.received, this.sourceEnded, this.prefixLimit);
      this.held = null;
    }
    return next;
  }

  private adopt(held: Buffer[], heldBytes: number, received: number, sourceEnded: boolean, limit: number): void {
    this.held = held;
    this.heldBytes = heldBytes;
    this.received = received;
    this.sourceEnded = sourceEnded;
    this.prefixLimit = limit;
    if (!sourceEnded) this.attach();
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
    if (this.held !== null) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes >= this.prefixLimit) {
        // Enough for the filter: the client waits (TCP backpressure) until the request is forwarded.
        this.awaitingClientSince = null;
        this.source.pause();
        this.deliverPrefix(false);
      } else {
        this.awaitingClientSince = performance.now();
      }
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
    if (this.held !== null) {
      this.sourceEnded = true;
      this.deliverPrefix(true);
      return;
    }
    this.push(null);
  };

  private readonly onError = (error: Error): void => {
    this.failure ??= 'client-aborted';
    this.destroy(error);
    const sink = this.sink;
    this.sink = null;
    sink?.prefixFailed(this.failure);
  };

  private readonly onAborted = (): void => {
    this.failWith('client-aborted');
  };
}

/** undici reports a failed body as the attempt's error; whoever else needs it reads `failure`. */
const ignoreBodyError = (): void => {};

/** A request has a body when it says so (RFC 9112 §6.3): a Content-Length above 0 or a Transfer-Encoding. */
export function requestHasBody(req: IncomingMessage): boolean {
  // Off the raw list: node:http's header object is not built for a request nothing looks up (headers.ts).
  const length = firstHeaderValue(req.rawHeaders, 'content-length');
  if (length !== undefined) return length !== '0';
  return firstHeaderValue(req.rawHeaders, 'transfer-encoding') !== undefined;
}
