/**
 * The machines the visualizer draws: every actor kind balancebeam runs. A
 * new actor kind is added here, and its chart, counts and detail view follow.
 */
import type { AnyStateMachine } from 'xstate';
import { balancerMachine } from '../../actors/balancer.js';
import { connectionMachine } from '../../actors/connection.js';
import { healthSupervisorMachine } from '../../actors/health-supervisor.js';
import { leaseHolderMachine } from '../../actors/lease-holder.js';
import { rateLimiterMachine } from '../../actors/rate-limiter.js';
import { upstreamMachine } from '../../actors/upstream.js';
import { chartOf, type ChartModel } from './chart-model.js';

export const ACTOR_MACHINES: readonly AnyStateMachine[] = [
  connectionMachine,
  upstreamMachine,
  balancerMachine,
  healthSupervisorMachine,
  rateLimiterMachine,
  leaseHolderMachine,
];

/** Walked once per process, when the visualizer starts. */
export function actorCharts(): ChartModel[] {
  return ACTOR_MACHINES.map(chartOf);
}

/** Each machine's definition as JSON (functions left out), as the Stately inspector takes it. */
export function actorDefinitions(): Record<string, string> {
  const definitions: Record<string, string> = {};
  for (const machine of ACTOR_MACHINES) definitions[machine.id] = JSON.stringify(machine.definition);
  return definitions;
}
