import type { Address } from './address.js';

/** One upstream server as configured: id is its `host:port`, stable for the life of the process. */
export interface UpstreamTarget {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Relative share of requests (`--upstream HOST:PORT,weight=3`); 1 unless configured. */
  readonly weight: number;
  /**
   * Drained from the admin API: no new requests are sent to it (in every process), those in flight
   * finish, its health is still tracked. Absent: not drained.
   */
  readonly draining?: boolean;
}

/**
 * A connection actor could not connect to the upstream (refused, unreachable,
 * connect timed out): passive health. A reset after the connect is not one.
 */
export interface UpstreamConnectFailed {
  readonly type: 'upstream.connect-failed';
  readonly upstreamId: string;
  readonly reason: string;
}

/**
 * An upstream connected but answered with something that is not HTTP (garbage
 * instead of a status line): passive health, like a failed connect.
 */
export interface UpstreamMisbehaved {
  readonly type: 'upstream.misbehaved';
  readonly upstreamId: string;
  readonly reason: string;
}

/** Ask an upstream actor to report its health now and on every change. */
export interface UpstreamSubscribe {
  readonly type: 'upstream.subscribe';
  readonly replyTo: Address;
}

/** An upstream actor's health as it is now; sent to every subscriber on each change. */
export interface UpstreamHealthChanged {
  readonly type: 'upstream.health-changed';
  readonly upstreamId: string;
  readonly healthy: boolean;
  readonly reason: string;
}
