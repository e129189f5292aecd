/**
 * Whether a configuration runs the visualizer's feed, in a module of its own:
 * the feed's code (and the page's, with dagre) is imported only when it is
 * wanted, so a balancer without `--admin` or `--trace` does not carry it.
 */
import type { Config } from '../../config/config.js';

/** Does this configuration run the feed? The admin server's page and a trace file need it. */
export function feedWanted(config: Config): boolean {
  return config.admin !== null || config.trace !== null;
}
