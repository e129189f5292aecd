import type { HashingSettings } from '../protocol/index.js';
import type { LatencyEstimate } from './load.js';
import { ConsistentHash } from './consistent-hash.js';
import { LeastConnections } from './least-connections.js';
import { PowerOfTwoChoices } from './p2c.js';
import { PeakEwma } from './peak-ewma.js';
import { RandomChoice } from './random.js';
import { RoundRobin } from './round-robin.js';
import type { BalanceAlgorithm, SelectionStrategy } from './strategy.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

export * from './load.js';
export * from './request-key.js';
export * from './strategy.js';

/** What some algorithms need besides their name; each reads only its own part. */
export interface StrategyOptions {
  /** `consistent-hash`: bounded load and the fallback (the key itself is the chooser's business). */
  readonly hashing?: Pick<HashingSettings, 'balanceFactor' | 'fallback'>;
  /** `peak-ewma`: the same estimate settings the load figures were made with. */
  readonly estimate?: LatencyEstimate;
}

export function createStrategy(algorithm: BalanceAlgorithm, options: StrategyOptions = {}): SelectionStrategy {
  switch (algorithm) {
    case 'round-robin':
      return new RoundRobin();
    case 'random':
      return new RandomChoice();
    case 'weighted-round-robin':
      return new WeightedRoundRobin();
    case 'least-connections':
      return new LeastConnections();
    case 'p2c':
      return new PowerOfTwoChoices();
    case 'peak-ewma':
      return new PeakEwma(Math.random, options.estimate);
    case 'consistent-hash': {
      const { balanceFactor = 0, fallback = 'round-robin' } = options.hashing ?? {};
      return new ConsistentHash({ balanceFactor, fallback: createStrategy(fallback, options) });
    }
  }
}
