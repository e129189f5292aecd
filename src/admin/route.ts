/**
 * One endpoint of the admin server. The server matches method and path, checks
 * the bearer token before any route but a public one runs, and answers 404/405 itself; the
 * visualizer, the admin API and /metrics each contribute a list of these.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface AdminRoute {
  readonly method: AdminMethod;
  /** An exact path (`/metrics`, `/`), or a prefix when it ends with `/` (`/api/upstreams/`; `/` itself is exact). */
  readonly path: string;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): void | Promise<void>;
  /**
   * Served without the bearer token: the visualizer's page and static files, which hold no data (a browser
   * cannot send a token when it navigates; the page sends it on every data request it makes).
   */
  readonly public?: boolean;
}
