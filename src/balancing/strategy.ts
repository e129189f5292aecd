/**
 * Choosing an upstream: given every upstream with its health and the ids this
 * request already tried, pick one that is usable, or none. Strategies keep
 * only their own cursor; health belongs to the balancer actor.
 */
import type { UpstreamTarget } from '../protocol/index.js';

export interface UpstreamView {
  readonly target: UpstreamTarget;
  healthy: boolean;
}

export interface SelectionStrategy {
  pick(upstreams: readonly UpstreamView[], exclude: readonly string[]): UpstreamView | undefined;
}

export type BalanceAlgorithm = 'round-robin' | 'random';
export const BALANCE_ALGORITHMS: readonly BalanceAlgorithm[] = ['round-robin', 'random'];

export function isUsable(upstream: UpstreamView, exclude: readonly string[]): boolean {
  return upstream.healthy && (exclude.length === 0 || !exclude.includes(upstream.target.id));
}
