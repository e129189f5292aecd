/**
 * A client for the rate-limit tests: one request, from a chosen loopback
 * source address (Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 is
 * another client), with its status, headers and how long it took.
 */
import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { withDeadline } from './wait.js';

export interface LimitedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly ms: number;
}

export async function limitedGet(
  port: number,
  path: string,
  options: { readonly from?: string; readonly headers?: OutgoingHttpHeaders; readonly host?: string } = {},
): Promise<LimitedResponse> {
  const started = performance.now();
  const call = new Promise<LimitedResponse>((resolve, reject) => {
    const req = request(
      { host: options.host ?? '127.0.0.1', port, path, headers: options.headers, agent: false, localAddress: options.from ?? '127.0.0.1' },
      (res) => {
        res.resume();
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, ms: performance.now() - started }));
      },
    );
    req.once('error', reject);
    req.end();
  });
  return withDeadline(call, 15_000, `GET ${path} on port ${port}`);
}

/** The statuses of `count` requests sent one after another, spread round robin over `ports`. */
export async function statusesOver(ports: readonly number[], path: string, count: number, from = '127.0.0.1'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await limitedGet(ports[i % ports.length] as number, path, { from })).status);
  return statuses;
}
