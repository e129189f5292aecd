/**
 * The four upstreams of the balancing bench: node:http servers on loopback
 * that answer every request after a delay that the run can change while it
 * goes on (the "degrades" scenario). Each tags its answers with
 * `x-upstream: NAME`, so the load can count who served what.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const UPSTREAM_HEADER = 'x-upstream';
const BODY = 'ok\n';

export class DelayedUpstream {
  /** Milliseconds before each answer; read per request, so a change applies to the next one. */
  delayMs: number;
  private readonly server: Server;

  constructor(
    readonly name: string,
    delayMs: number,
  ) {
    this.delayMs = delayMs;
    this.server = createServer((req, res) => this.answer(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    setTimeout(() => this.reply(res), this.delayMs);
  }

  private reply(res: ServerResponse): void {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length, [UPSTREAM_HEADER]: this.name });
    res.end(BODY);
  }
}

export async function startUpstreams(delaysMs: readonly number[]): Promise<DelayedUpstream[]> {
  const upstreams = delaysMs.map((delay, index) => new DelayedUpstream(`u${index + 1}`, delay));
  await Promise.all(upstreams.map((upstream) => upstream.listen()));
  return upstreams;
}
