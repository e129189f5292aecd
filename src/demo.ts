/**
 * `balancebeam demo`: three small upstream servers on loopback, so a newcomer
 * can see balancing, failover and headers with nothing else installed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UpstreamTarget } from './protocol/index.js';

export interface DemoUpstreams {
  readonly upstreams: UpstreamTarget[];
  close(): Promise<void>;
}

export async function startDemoUpstreams(count = 3): Promise<DemoUpstreams> {
  const servers: Server[] = [];
  const upstreams: UpstreamTarget[] = [];
  for (let n = 1; n <= count; n++) {
    const server = createServer((req, res) => {
      req.resume();
      const port = (server.address() as AddressInfo).port;
      const body =
        `hello from demo upstream #${n} (127.0.0.1:${port})\n` +
        `you asked for ${req.method} ${req.url}; x-forwarded-for: ${String(req.headers['x-forwarded-for'] ?? '-')}\n`;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    servers.push(server);
    upstreams.push({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1 });
  }
  return {
    upstreams,
    close: async () => {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })));
    },
  };
}
