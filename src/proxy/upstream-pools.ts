/**
 * One undici connection pool per upstream, per process: keep-alive connections
 * are reused across requests and clients, bounded in number.
 */
import { buildConnector, Pool } from 'undici';
import type { UpstreamTarget } from '../protocol/index.js';
import { connectDroppingContinues } from './interim-responses.js';

export interface PoolSettings {
  /** Most connections one process keeps open to one upstream; further requests queue. */
  readonly connectionsPerUpstream: number;
  readonly connectTimeoutMs: number;
  /** No response head within this → 504. */
  readonly responseTimeoutMs: number;
  /** No body byte from the upstream within this → the client's connection is cut. */
  readonly bodyIdleTimeoutMs: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  connectionsPerUpstream: 256,
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 60_000,
  bodyIdleTimeoutMs: 60_000,
};

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(upstreams: readonly UpstreamTarget[], settings: PoolSettings = DEFAULT_POOL_SETTINGS) {
    for (const upstream of upstreams) {
      this.pools.set(
        upstream.id,
        new Pool(`http://${upstream.host}:${upstream.port}`, {
          connections: settings.connectionsPerUpstream,
          pipelining: 1,
          // undici's own connector (its defaults, the connect timeout), with 100 Continue dropped: see interim-responses.ts.
          connect: connectDroppingContinues(buildConnector({ timeout: settings.connectTimeoutMs })),
          headersTimeout: settings.responseTimeoutMs,
          bodyTimeout: settings.bodyIdleTimeoutMs,
          keepAliveTimeout: 4_000,
        }),
      );
    }
  }

  get(upstreamId: string): Pool {
    const pool = this.pools.get(upstreamId);
    if (pool === undefined) throw new Error(`no pool for upstream ${upstreamId}`);
    return pool;
  }

  /**
   * Lets requests still in flight to upstreams finish for up to `graceMs`,
   * then destroys whatever is left (a hung upstream must not hold up an exit).
   */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all([...this.pools.values()].map((pool) => pool.close())), gaveUp]);
    clearTimeout(timer);
    this.destroy();
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy().catch(ignoreDestroyError);
  }
}

// destroy() after close() has nothing left to release; an error there tells nobody anything.
const ignoreDestroyError = (): void => {};
