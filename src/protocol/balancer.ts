import type { UpstreamTarget } from './upstream.js';

/**
 * The full list of upstreams a process's balancer is to balance over, with
 * their weights: ids not listed are removed, new ids added (and subscribed
 * to), a changed weight applied. Matched by id, never by position. Sent on a
 * config reload.
 */
export interface BalancerUpstreamsSet {
  readonly type: 'balancer.upstreams-set';
  readonly upstreams: readonly UpstreamTarget[];
}
