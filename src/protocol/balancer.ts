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
  /** The policies of the reloaded config; unchanged when absent. */
  readonly policy?: BalancerPolicy;
}

/** The balancer's own policies over the candidates (`--slow-start`, `--panic-threshold`). */
export interface BalancerPolicy {
  /** An added or revived upstream's weight ramps from 10% to 100% over this long; 0: off. */
  readonly slowStartMs: number;
  /** Percentage of healthy upstreams below which every upstream counts as usable; 0: off. */
  readonly panicThreshold: number;
}
