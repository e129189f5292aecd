/**
 * A statechart as plain data, walked from an xstate machine's definition
 * (`machine.root`): every state (nested, parallel, final, history), every
 * transition with its trigger (an event, `always`, an `after` delay, a done
 * or error event) and guard name, the entry and exit actions, the invoked
 * actors. Nothing is drawn by hand: the chart is what the machine is.
 *
 * It is JSON, so a trace file carries it at its top and a replay draws the
 * charts of the build that recorded it.
 */
import type { AnyStateMachine } from 'xstate';

export type ChartStateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** How a transition is triggered; the chart colours each kind differently. */
export type TriggerKind = 'event' | 'always' | 'after' | 'done' | 'error';

export interface ChartTransition {
  /** Path of the state it leaves (`''` is the machine's root). */
  readonly source: string;
  /** Paths of the states it enters; empty for a transition that only runs actions. */
  readonly targets: readonly string[];
  readonly trigger: TriggerKind;
  /** `request.received`, `after backOff`, `always`, `done: probeRound`. */
  readonly label: string;
  readonly guard: string | null;
  readonly actions: readonly string[];
  /** Leaves and re-enters its source (a self-transition that restarts timers). */
  readonly reenter: boolean;
}

export interface ChartState {
  /** Dotted path under the root, as `countActorStates` names states: `tracking.steady`; `''` for the root. */
  readonly path: string;
  readonly key: string;
  readonly kind: ChartStateKind;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  /** The invoked actors' sources (`probeRound`). */
  readonly invoke: readonly string[];
  /** Path of the initial child, if it has children. */
  readonly initial: string | null;
  readonly history: 'shallow' | 'deep' | null;
  readonly children: readonly ChartState[];
}

export interface ChartModel {
  /** The machine's id, which is the actor kind everywhere else (`connection`, `upstream`, ...). */
  readonly kind: string;
  readonly root: ChartState;
  /** Every transition of every state, in document order. */
  readonly transitions: readonly ChartTransition[];
}

/** The fields of xstate's StateNode the walker reads (its public definition API, typed loosely there). */
interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: ChartStateKind;
  readonly history?: false | 'shallow' | 'deep';
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly invoke: readonly { readonly id: string; readonly src: unknown }[];
  readonly initial?: { readonly target: readonly StateNodeLike[] };
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
}

interface TransitionLike {
  readonly target?: readonly StateNodeLike[];
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter?: boolean;
}

export function chartOf(machine: AnyStateMachine): ChartModel {
  const root = machine.root as unknown as StateNodeLike;
  const transitions: ChartTransition[] = [];
  const pathOf = (node: StateNodeLike): string => (node.id === root.id ? '' : node.id.slice(root.id.length + 1));
  const walk = (node: StateNodeLike): ChartState => {
    const path = pathOf(node);
    for (const [eventType, list] of node.transitions) {
      const { trigger, label } = describeTrigger(eventType);
      for (const transition of list) transitions.push(transitionOf(path, trigger, label, transition, pathOf));
    }
    for (const transition of node.always ?? []) transitions.push(transitionOf(path, 'always', 'always', transition, pathOf));
    const initialTarget = node.initial?.target[0];
    return {
      path,
      key: node.key,
      kind: node.type,
      entry: actionNames(node.entry),
      exit: actionNames(node.exit),
      invoke: node.invoke.map((invocation) => (typeof invocation.src === 'string' ? invocation.src : invocation.id)),
      initial: initialTarget === undefined ? null : pathOf(initialTarget),
      history: node.type === 'history' ? (node.history === 'deep' ? 'deep' : 'shallow') : null,
      children: Object.values(node.states).map(walk),
    };
  };
  return { kind: root.key, root: walk(root), transitions };
}

function transitionOf(
  source: string,
  trigger: TriggerKind,
  label: string,
  transition: TransitionLike,
  pathOf: (node: StateNodeLike) => string,
): ChartTransition {
  return {
    source,
    targets: (transition.target ?? []).map(pathOf),
    trigger,
    label,
    guard: guardName(transition.guard),
    actions: actionNames(transition.actions),
    reenter: transition.reenter === true,
  };
}

/** xstate's internal event names, as a person reads them. */
function describeTrigger(eventType: string): { trigger: TriggerKind; label: string } {
  if (eventType.startsWith('xstate.after.')) {
    // `xstate.after.<delay>.<state id>`: the delay is a name (`backOff`) or milliseconds.
    const delay = eventType.slice('xstate.after.'.length).split('.')[0] ?? '';
    return { trigger: 'after', label: `after ${/^\d+$/.test(delay) ? `${delay} ms` : delay}` };
  }
  if (eventType.startsWith('xstate.done.state.')) return { trigger: 'done', label: 'done' };
  if (eventType.startsWith('xstate.done.actor.')) return { trigger: 'done', label: `done: ${eventType.slice('xstate.done.actor.'.length)}` };
  if (eventType.startsWith('xstate.error.actor.')) return { trigger: 'error', label: `error: ${eventType.slice('xstate.error.actor.'.length)}` };
  return { trigger: 'event', label: eventType };
}

/** The actions xstate adds itself to run `after` timers: not the machine author's. */
const TIMER_ACTIONS = new Set(['xstate.raise', 'xstate.cancel']);

/** Named actions as named; the timers of `after` left out; built-ins as `assign`, inline functions as `inline`. */
function actionNames(actions: readonly unknown[]): string[] {
  const names: string[] = [];
  for (const action of actions) {
    const name = nameOf(action);
    if (name === null || TIMER_ACTIONS.has(name)) continue;
    names.push(name.startsWith('xstate.') ? name.slice('xstate.'.length) : name);
  }
  return names;
}

function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  return nameOf(guard) ?? 'inline';
}

function nameOf(implementation: unknown): string | null {
  if (typeof implementation === 'string') return implementation;
  if (typeof implementation === 'function') {
    // xstate's built-in action creators are functions with a `type` (xstate.raise, xstate.assign, ...).
    const type = (implementation as { type?: unknown }).type;
    return typeof type === 'string' ? type : 'inline';
  }
  if (typeof implementation === 'object' && implementation !== null) {
    const type = (implementation as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return null;
}

/** Every state of the chart, depth first (root first). */
export function statesOf(chart: ChartModel): ChartState[] {
  const all: ChartState[] = [];
  const visit = (state: ChartState): void => {
    all.push(state);
    state.children.forEach(visit);
  };
  visit(chart.root);
  return all;
}
