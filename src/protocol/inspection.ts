/**
 * What the inspection stream carries: plain data (JSON- and structuredClone-
 * safe), so a worker's records can be routed to an address in the primary,
 * written to a trace file, or replayed.
 */
import type { NodeId } from './address.js';

/** xstate's state value, as data: `'open'`, or `{ parent: 'child' }` for nested states. */
export type StateValue = string | { readonly [region: string]: StateValue };

/** A JSON value: what a context projection may return. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** One event an actor took, and the state it left the actor in. */
export interface InspectionRecord {
  readonly type: 'inspection.record';
  /** Milliseconds since the epoch, on the recording process's clock. */
  readonly time: number;
  readonly node: NodeId;
  /**
   * The actor's id: its mailbox address when it has one (`w1/conn/V1StGXR8_Z5j`,
   * `p/upstream/127.0.0.1:8080`); an actor it invoked is `<parent id>/<invoke id>`.
   */
  readonly actor: string;
  /** The actor's kind: its machine id (`connection`, `upstream`, ...), or the name its parent invoked it by. */
  readonly kind: string;
  /** The event's type (`xstate.init` at start, `xstate.stop` when stopped). */
  readonly event: string;
  /** The state the event left the actor in; null for actors that are not state machines. */
  readonly state: StateValue | null;
  /** `active` while running; `done` (final state), `stopped` or `error` once it has ended. */
  readonly status: 'active' | 'done' | 'stopped' | 'error';
  /** A readable projection of the actor's context, when the subscriber asked for one. */
  readonly context?: JsonValue;
}

/** How many live actors of each kind are in each state, in one process, at one moment. */
export interface InspectionStateCounts {
  readonly type: 'inspection.state-counts';
  readonly time: number;
  readonly node: NodeId;
  /** kind → state → count, e.g. `{ connection: { open: 120, closing: 3 }, upstream: { healthy: 2 } }`. */
  readonly counts: { readonly [kind: string]: { readonly [state: string]: number } };
}
