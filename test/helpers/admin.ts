/**
 * The admin server of a balancer started by the test: `--admin 127.0.0.1:0`
 * added to its arguments, the bound address read from its `admin listening`
 * line, and calls to it as JSON (or text, for /metrics).
 */
import type { ExecutionContext } from 'ava';
import { startBalancer, type RunningBalancer, type SpawnOptions } from './balancer.js';

export interface AdminCallOptions {
  readonly token?: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface AdminAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: Record<string, unknown> | undefined;
}

export class AdminClient {
  constructor(
    /** `http://127.0.0.1:PORT` */
    readonly origin: string,
    /** Sent with every call unless a call names its own. */
    private readonly token?: string,
  ) {}

  async call(method: string, path: string, options: AdminCallOptions = {}): Promise<AdminAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token ?? this.token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(`${this.origin}${path}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** A call that must answer 2xx: its JSON. */
  async ok(method: string, path: string, options: AdminCallOptions = {}): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, options);
    if (answer.status < 200 || answer.status > 299) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
    return answer.json ?? {};
  }

  /** GET /api/upstreams, by id. */
  async upstreams(): Promise<Map<string, UpstreamEntry>> {
    const { upstreams } = (await this.ok('GET', '/api/upstreams')) as { upstreams: UpstreamEntry[] };
    return new Map(upstreams.map((entry) => [entry.id, entry]));
  }
}

export interface UpstreamEntry {
  readonly id: string;
  readonly address: string;
  readonly health: string;
  readonly reason: string | null;
  readonly weight: number;
  readonly draining: boolean;
  readonly inFlight: number;
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null; readonly samples: number };
}

/** The upstream id as a path segment of the API (`127.0.0.1%3A8080`). */
export const upstreamPath = (id: string): string => `/api/upstreams/${encodeURIComponent(id)}`;

export interface BalancerWithAdmin {
  readonly balancer: RunningBalancer;
  readonly admin: AdminClient;
}

/** `startBalancer` with `--admin 127.0.0.1:0` (unless args give --admin), and a client for it. */
export async function startBalancerWithAdmin(
  t: ExecutionContext,
  args: readonly string[],
  options: SpawnOptions & { readonly token?: string } = {},
): Promise<BalancerWithAdmin> {
  const full = args.includes('--admin') ? [...args] : [...args, '--admin', '127.0.0.1:0'];
  const balancer = await startBalancer(t, full, { ...options, readyTimeoutMs: 30_000 });
  const line = await balancer.process.waitForLog((entry) => entry.msg === 'admin listening', { timeoutMs: 5_000, what: 'the admin listening line' });
  return { balancer, admin: new AdminClient(`http://${String(line.address)}`, options.token) };
}
