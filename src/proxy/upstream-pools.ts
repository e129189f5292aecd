/**
 * One undici connection pool per upstream, per process: keep-alive connections
 * are reused across requests and clients, bounded in number. Pools are kept
 * by upstream id, never by index, and follow the configuration as it is
 * reloaded: an added upstream gets a pool, a removed one's pool is retired
 * (no new requests; its in-flight ones finish), and new timeouts give every
 * upstream a fresh pool while the old ones drain.
 */
import { buildConnector, Pool } from 'undici';
import { upstreamOrigin } from '../config/config.js';
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

/**
 * An upstream socket's read buffer before it stops reading (its highWaterMark; undici's own is 64 KiB):
 * a 64 KiB body and its head. libuv reads 64 KiB at a time, so with 64 KiB the first read of such a
 * response filled the buffer and the socket stopped and restarted reading (two epoll_ctl calls) before
 * undici took it. When undici pauses for a slow client, this is what a pooled connection holds in user
 * space beyond the kernel's buffer (BENCHMARKS.md, optimisation log: the socket buffers).
 */
export const UPSTREAM_SOCKET_BUFFER_BYTES = 80 * 1024;

function createPool(upstream: UpstreamTarget, settings: PoolSettings): Pool {
  // buildConnector hands options it does not know to net.connect (undici's core/connect.js); its types omit them.
  const socketOptions = { timeout: settings.connectTimeoutMs, highWaterMark: UPSTREAM_SOCKET_BUFFER_BYTES };
  return new Pool(upstreamOrigin(upstream), {
    connections: settings.connectionsPerUpstream,
    pipelining: 1,
    // undici's own connector (its defaults, the connect timeout, a larger read buffer), with 100 Continue dropped:
    // see interim-responses.ts.
    connect: connectDroppingContinues(buildConnector(socketOptions)),
    headersTimeout: settings.responseTimeoutMs,
    bodyTimeout: settings.bodyIdleTimeoutMs,
    keepAliveTimeout: 4_000,
  });
}

const sameSettings = (a: PoolSettings, b: PoolSettings): boolean =>
  a.connectionsPerUpstream === b.connectionsPerUpstream &&
  a.connectTimeoutMs === b.connectTimeoutMs &&
  a.responseTimeoutMs === b.responseTimeoutMs &&
  a.bodyIdleTimeoutMs === b.bodyIdleTimeoutMs;

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  /** Pools of removed (or re-timed) upstreams, closing once their in-flight requests finish. */
  private readonly retiring = new Set<Pool>();

  constructor(
    upstreams: readonly UpstreamTarget[],
    private settings: PoolSettings = DEFAULT_POOL_SETTINGS,
  ) {
    for (const upstream of upstreams) this.pools.set(upstream.id, createPool(upstream, settings));
  }

  get(upstreamId: string): Pool {
    const pool = this.pools.get(upstreamId);
    if (pool === undefined) throw new Error(`no pool for upstream ${upstreamId}`);
    return pool;
  }

  /** Follow a reloaded configuration (see the module comment). */
  update(upstreams: readonly UpstreamTarget[], settings: PoolSettings): void {
    const renew = !sameSettings(settings, this.settings);
    this.settings = settings;
    const wanted = new Set(upstreams.map((upstream) => upstream.id));
    for (const [id, pool] of this.pools) {
      if (renew || !wanted.has(id)) {
        this.pools.delete(id);
        this.retire(pool);
      }
    }
    for (const upstream of upstreams) {
      if (!this.pools.has(upstream.id)) this.pools.set(upstream.id, createPool(upstream, settings));
    }
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
    const all = [...this.pools.values(), ...this.retiring];
    await Promise.race([Promise.all(all.map((pool) => pool.close())), gaveUp]);
    clearTimeout(timer);
    this.destroy();
  }

  destroy(): void {
    for (const pool of [...this.pools.values(), ...this.retiring]) pool.destroy().catch(ignoreDestroyError);
  }

  private retire(pool: Pool): void {
    this.retiring.add(pool);
    // close() waits for the requests already dispatched, then releases the sockets.
    pool.close().then(
      () => this.retiring.delete(pool),
      () => this.retiring.delete(pool),
    );
  }
}

// destroy() after close() has nothing left to release; an error there tells nobody anything.
const ignoreDestroyError = (): void => {};
