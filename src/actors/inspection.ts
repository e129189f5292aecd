/**
 * The one place every actor is started, and so the one inspection stream:
 * logs at debug level, tests and the state-chart visualizer all subscribe here
 * and see the same xstate events and snapshots.
 *
 * xstate builds an inspection record per event only when an `inspect` hook is
 * attached (≈1.5 µs each, measured), so actors started while nobody observes
 * run without one.
 */
import { createActor, type Actor, type ActorOptions, type AnyActorLogic, type InputFrom, type InspectionEvent } from 'xstate';

export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

export type InspectionObserver = (event: InspectionEvent) => void;

const observers = new Set<InspectionObserver>();

function broadcast(event: InspectionEvent): void {
  for (const observer of observers) observer(event);
}

/** Observe every actor started from now on. Returns the unsubscribe function. */
export function observeActors(observer: InspectionObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export interface StartOptions<TLogic extends AnyActorLogic> {
  readonly input: InputFrom<TLogic>;
  /** A controllable clock for tests (xstate's SimulatedClock); real timers otherwise. */
  readonly clock?: Clock;
}

export function startActor<TLogic extends AnyActorLogic>(logic: TLogic, options: StartOptions<TLogic>): Actor<TLogic> {
  const actorOptions: ActorOptions<TLogic> = {
    input: options.input,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(observers.size === 0 ? {} : { inspect: broadcast }),
  };
  // createActor's rest-parameter typing cannot see that `input` is present for every TLogic.
  const actor = (createActor as (logic: TLogic, options: ActorOptions<TLogic>) => Actor<TLogic>)(logic, actorOptions);
  actor.start();
  return actor;
}

/** `--log-level debug`: every event an actor receives, as a log line (actor id, event type, resulting state). */
export function logActorEvents(write: (msg: string, fields: Record<string, string>) => void): () => void {
  return observeActors((event) => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { value?: unknown; machine?: { id: string } };
    write('actor event', {
      actor: `${snapshot.machine?.id ?? 'actor'}#${event.actorRef.sessionId}`,
      event: event.event.type,
      state: JSON.stringify(snapshot.value ?? null),
    });
  });
}
