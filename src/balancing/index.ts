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

export function createStrategy(algorithm: BalanceAlgorithm): SelectionStrategy {
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
      return new PeakEwma();
  }
}
