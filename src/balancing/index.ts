import { ConsistentHash } from './consistent-hash.js';
import { RandomChoice } from './random.js';
import { RoundRobin } from './round-robin.js';
import type { BalanceAlgorithm, SelectionStrategy } from './strategy.js';
import type { HashingSettings } from '../protocol/index.js';

export * from './load.js';
export * from './request-key.js';
export * from './strategy.js';

/** What some algorithms need besides their name; each reads only its own part. */
export interface StrategyOptions {
  /** `consistent-hash`: bounded load and the fallback (the key itself is the chooser's business). */
  readonly hashing?: Pick<HashingSettings, 'balanceFactor' | 'fallback'>;
}

export function createStrategy(algorithm: BalanceAlgorithm, options: StrategyOptions = {}): SelectionStrategy {
  switch (algorithm) {
    case 'round-robin':
      return new RoundRobin();
    case 'random':
      return new RandomChoice();
    case 'consistent-hash': {
      const { balanceFactor = 0, fallback = 'round-robin' } = options.hashing ?? {};
      return new ConsistentHash({ balanceFactor, fallback: createStrategy(fallback, options) });
    }
  }
}
