/**
 * A plain HTTP server over a list of admin routes, for `balancebeam replay`
 * and the visualizer's tests (the admin server proper adds the token check).
 * Exact paths first, then the longest matching prefix; 404 and 405 answered here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminRoute } from '../route.js';

export function matchRoute(routes: readonly AdminRoute[], path: string): AdminRoute[] {
  const exact = routes.filter((route) => route.path === path);
  if (exact.length > 0) return exact;
  const prefixes = routes.filter((route) => route.path.endsWith('/') && route.path !== '/' && path.startsWith(route.path));
  const longest = Math.max(0, ...prefixes.map((route) => route.path.length));
  return prefixes.filter((route) => route.path.length === longest);
}

function answer(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify({ error: message }));
}

export function handleWithRoutes(routes: readonly AdminRoute[], request: IncomingMessage, response: ServerResponse): void {
  let url: URL;
  try {
    url = new URL(request.url ?? '/', 'http://admin.invalid');
  } catch {
    return answer(response, 400, 'bad request target');
  }
  const candidates = matchRoute(routes, url.pathname);
  if (candidates.length === 0) return answer(response, 404, `nothing at ${url.pathname}`);
  const route = candidates.find((candidate) => candidate.method === request.method);
  if (route === undefined) {
    response.setHeader('allow', candidates.map((candidate) => candidate.method).join(', '));
    return answer(response, 405, `${request.method ?? ''} is not allowed here`);
  }
  Promise.resolve()
    .then(() => route.handle(request, response, url))
    .catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, error instanceof Error ? error.message : String(error));
      else response.destroy();
    });
}

export async function serveRoutes(routes: readonly AdminRoute[], bind: { host: string; port: number }): Promise<{ server: Server; address: string }> {
  const server = createServer((request, response) => handleWithRoutes(routes, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { server, address: `${host}:${bound.port}` };
}
