import { isUsable, type SelectionStrategy, type UpstreamView } from './strategy.js';

/** A uniformly random usable upstream (the original balancebeam's choice). */
export class RandomChoice implements SelectionStrategy {
  constructor(private readonly random: () => number = Math.random) {}

  pick(upstreams: readonly UpstreamView[], exclude: readonly string[]): UpstreamView | undefined {
    let usable = 0;
    for (const upstream of upstreams) if (isUsable(upstream, exclude)) usable++;
    if (usable === 0) return undefined;
    let remaining = Math.floor(this.random() * usable);
    for (const upstream of upstreams) {
      if (!isUsable(upstream, exclude)) continue;
      if (remaining === 0) return upstream;
      remaining--;
    }
    return undefined;
  }
}
