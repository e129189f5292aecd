import { isUsable, type SelectionStrategy, type UpstreamView } from './strategy.js';

/** Each usable upstream in turn; a dead or excluded one is skipped, not given a double turn to its neighbour. */
export class RoundRobin implements SelectionStrategy {
  private next = 0;

  pick(upstreams: readonly UpstreamView[], exclude: readonly string[]): UpstreamView | undefined {
    const count = upstreams.length;
    for (let step = 0; step < count; step++) {
      const index = (this.next + step) % count;
      const upstream = upstreams[index] as UpstreamView;
      if (isUsable(upstream, exclude)) {
        this.next = (index + 1) % count;
        return upstream;
      }
    }
    return undefined;
  }
}
