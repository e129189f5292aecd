/**
 * The admin server: a node:http server in the primary process (the one that
 * holds the instance-wide actors and the settings), serving the routes the
 * admin API, /metrics and the visualizer contribute (route.ts). It checks
 * the bearer token before any route runs, answers 404 and 405 itself, and
 * turns a route's failure into a 500 rather than a crash.
 *
 * Two guards besides the token, for the loopback-without-token case where a
 * browser on the same machine is the threat: a state-changing request
 * whose Origin is not the admin server's own is refused (a web page cannot
 * post to it), and so is one whose Host is not the admin address or a
 * loopback name (DNS rebinding).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort } from '../config/config.js';
import { isLoopbackHost } from '../config/load.js';
import { log } from '../log.js';
import type { AdminSettings } from '../protocol/index.js';
import { BearerToken } from './bearer-token.js';
import { AdminRequestError, sendError } from './json.js';
import type { AdminRoute } from './route.js';

export interface AdminServer {
  /** `host:port` as bound (the real port when asked for port 0). */
  readonly address: string;
  close(): Promise<void>;
}

/** Requests that carried the right token (only when one is configured). */
const authenticated = new WeakSet<IncomingMessage>();

/** Who made an admin request, for the change log: the token's holder (or nobody's, on loopback without one) and the peer. */
export function requesterOf(request: IncomingMessage): string {
  const { remoteAddress, remotePort } = request.socket;
  const peer = remoteAddress === undefined ? 'an unknown peer' : formatHostPort(remoteAddress.replace(/^::ffff:/, ''), remotePort ?? 0);
  return authenticated.has(request) ? `token holder at ${peer}` : `${peer} (loopback, no token)`;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export async function startAdminServer(settings: AdminSettings, routes: readonly AdminRoute[]): Promise<AdminServer> {
  const token = settings.token === null ? null : new BearerToken(settings.token);
  const exact = new Map<string, AdminRoute[]>();
  const prefixes: AdminRoute[] = [];
  for (const route of routes) {
    if (route.path.endsWith('/') && route.path !== '/') prefixes.push(route);
    else exact.set(route.path, [...(exact.get(route.path) ?? []), route]);
  }
  // Longest prefix first, so `/api/upstreams/` wins over `/api/`.
  prefixes.sort((a, b) => b.path.length - a.path.length);

  const candidatesFor = (path: string): AdminRoute[] => {
    const found = exact.get(path);
    if (found !== undefined) return found;
    const prefix = prefixes.find((route) => path.startsWith(route.path));
    return prefix === undefined ? [] : prefixes.filter((route) => route.path === prefix.path);
  };

  const publicRoute = (target: string | undefined): boolean => {
    try {
      const path = new URL(target ?? '/', 'http://admin.invalid').pathname;
      return candidatesFor(path).some((route) => route.method === 'GET' && route.public === true);
    } catch {
      return false;
    }
  };

  const server = createServer({ requireHostHeader: true }, (request, response) => {
    void serve(request, response).catch((error: unknown) => {
      log.error('admin request failed', { url: request.url, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      if (!response.headersSent) sendError(response, 500, 'internal error (logged)');
      else response.destroy();
    });
  });
  let bound = '';

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // Only a public route (the page's static files) is served without the token; an unknown path is not one.
    const isPublic = request.method === 'GET' && publicRoute(request.url);
    if (token !== null && !isPublic) {
      if (!token.accepts(request.headers.authorization)) {
        const error = request.headers.authorization === undefined ? '' : ', error="invalid_token"';
        sendError(response, 401, 'a bearer token is required (Authorization: Bearer TOKEN)', {
          'www-authenticate': `Bearer realm="balancebeam admin"${error}`,
        });
        return;
      }
      authenticated.add(request);
    }
    const host = request.headers.host ?? '';
    if (host !== bound && !isLoopbackHost(host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')) && token === null) {
      sendError(response, 421, `this admin server answers to ${bound} and loopback names, not ${host}`);
      return;
    }
    const method = request.method ?? 'GET';
    const origin = request.headers.origin;
    if (STATE_CHANGING.has(method) && origin !== undefined && origin !== `http://${host}`) {
      sendError(response, 403, `a ${method} from another origin (${origin}) is refused`);
      return;
    }
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://admin.invalid');
    } catch {
      sendError(response, 400, 'the request target is not a valid path');
      return;
    }
    const candidates = candidatesFor(url.pathname);
    if (candidates.length === 0) {
      sendError(response, 404, `no admin endpoint at ${url.pathname}`);
      return;
    }
    const route = candidates.find((candidate) => candidate.method === method);
    if (route === undefined) {
      const allowed = [...new Set(candidates.map((candidate) => candidate.method))].join(', ');
      sendError(response, 405, `${method} is not allowed here (allowed: ${allowed})`, { allow: allowed });
      return;
    }
    try {
      await route.handle(request, response, url);
    } catch (error) {
      if (!(error instanceof AdminRequestError)) throw error;
      if (!response.headersSent) sendError(response, error.status, error.message);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that sends garbage gets Node's 400 and is dropped; nothing reaches a route.
  server.on('clientError', (_error, socket) => socket.destroy());
  const address = server.address() as AddressInfo;
  bound = formatHostPort(address.address, address.port);
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
