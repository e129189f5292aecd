/**
 * An upstream that a test can crash and bring back on the same port, as a
 * restarted server would: `kill()` stops listening and cuts every connection
 * at once (responses already written are delivered; requests not yet answered
 * see their connection close), `start()` listens again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

export class RestartableUpstream {
  port = 0;
  /** Requests answered, over every life of the server. */
  answered = 0;
  private server: Server | null = null;

  constructor(readonly name: string) {}

  get id(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Listens on the port of its first life (port 0, a free one, the first time). */
  async start(): Promise<void> {
    if (this.server !== null) return;
    const body = `upstream ${this.name}`;
    const server = createServer((_req, res) => {
      this.answered++;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-upstream': this.name });
      res.end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async kill(): Promise<void> {
    const { server } = this;
    if (server === null) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

export async function startRestartableUpstream(t: ExecutionContext, name: string): Promise<RestartableUpstream> {
  const upstream = new RestartableUpstream(name);
  await upstream.start();
  t.teardown(() => upstream.kill());
  return upstream;
}
