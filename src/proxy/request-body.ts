/**
 * The client's request body as undici sees it: a Readable that does not touch
 * the client's stream until undici starts writing the body, which it does only
 * once the upstream connection is up. So when a connect fails, no body byte has
 * been consumed and the request can still go to another upstream unchanged.
 * Backpressure: push() returning false pauses the client socket; _read resumes it.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

export class DeferredRequestBody extends Readable {
  /** Whether any byte has been taken from the client: past this point the body cannot be replayed. */
  started = false;
  /** The client's side failed (aborted upload): tell it apart from an upstream failure. */
  clientFailed = false;

  constructor(private readonly source: IncomingMessage) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.source.on('data', this.onData);
      this.source.once('end', this.onEnd);
      this.source.once('error', this.onError);
      this.source.once('aborted', this.onAborted);
    }
    this.source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(error);
  }

  /** A fresh body for a retry; only allowed while nothing has been consumed. */
  replay(): DeferredRequestBody {
    if (this.started) throw new Error('request body already consumed');
    return new DeferredRequestBody(this.source);
  }

  private detach(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.source.off('aborted', this.onAborted);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.detach();
    this.push(null);
  };

  private readonly onError = (error: Error): void => {
    this.clientFailed = true;
    this.destroy(error);
  };

  private readonly onAborted = (): void => {
    this.clientFailed = true;
    this.destroy(new Error('client aborted the request body'));
  };
}

/** A request has a body when it says so (RFC 9112 §6.3): a Content-Length above 0 or a Transfer-Encoding. */
export function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
