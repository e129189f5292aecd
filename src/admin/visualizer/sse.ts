/**
 * Server-sent events: one HTTP response that stays open, one `data:` line
 * per message. Chosen over WebSocket because the feed flows one way (the
 * page's few commands are plain POSTs), it is plain HTTP through the same
 * route and token check as every other admin request, and node:http speaks
 * it with no upgrade handling or framing code. A client that reads too
 * slowly is cut off rather than buffered without bound.
 */
import type { ServerResponse } from 'node:http';

/** Bytes a client may leave unread before it is dropped. */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

export class EventStream {
  private readonly heartbeat: NodeJS.Timeout;
  closed = false;

  constructor(
    private readonly response: ServerResponse,
    onClose: () => void,
  ) {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    response.flushHeaders();
    this.heartbeat = setInterval(() => this.comment('heartbeat'), HEARTBEAT_MS);
    this.heartbeat.unref();
    response.on('close', () => {
      this.closed = true;
      clearInterval(this.heartbeat);
      onClose();
    });
  }

  send(data: unknown): void {
    if (this.closed) return;
    if (this.response.writableLength > MAX_UNREAD_BYTES) {
      this.response.destroy();
      return;
    }
    this.response.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  private comment(text: string): void {
    if (!this.closed) this.response.write(`: ${text}\n\n`);
  }
}
