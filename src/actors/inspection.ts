/**
 * The one place every actor is started, and the inspection stream over them:
 * `--log-level debug`, tests and the visualizer's detail view (one watched actor) attach
 * here, at any time while the process runs, and detach when done.
 *
 * In xstate v5 each root actor has its own system (every connection actor is
 * one), and a system builds inspection events for the observers registered
 * with `system.inspect` only: with none it returns at once. So a stream is
 * attached actor by actor: to every matching actor already running and to
 * every one started afterwards; detaching unregisters it from all of them.
 * While nobody listens no actor has an observer, and the actor path costs
 * what it did before streams existed (ARCHITECTURE.md, "Inspection").
 *
 * The running actors are found in the router: every actor has a mailbox
 * there (a client connection's in a slot), under its address, from start to end. The router already pays for
 * that map, so tracking live actors adds nothing per connection.
 *
 * Per-kind state counts do not use the stream: `countActorStates` reads the
 * live actors' snapshots when asked (say once a second), which costs nothing
 * per event. An always-on `inspect` hook would nearly triple the actor path.
 */
import {
  Actor,
  createActor,
  type ActorOptions,
  type AnyActor,
  type AnyActorLogic,
  type AnyActorRef,
  type InputFrom,
  type InspectionEvent,
  type Subscription,
} from 'xstate';
import type { Address, InspectionRecord, InspectionStateCounts, JsonValue, NodeId, StateValue } from '../protocol/index.js';
import type { Mailbox, MailboxRouter } from './router.js';

export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

export interface StartOptions<TLogic extends AnyActorLogic> {
  readonly input: InputFrom<TLogic>;
  /** A controllable clock for tests (xstate's SimulatedClock); real timers otherwise. */
  readonly clock?: Clock;
  /**
   * The actor's id on the inspection stream: the address it is registered under in the router, where
   * a stream attached later finds it. Default `<kind>#<session id>`.
   */
  readonly id?: Address;
  /**
   * Told when the actor fails (an action or guard throws, and xstate stops it with status `error`).
   * Without one xstate rethrows the error from a timer: an uncaught exception, which ends the process.
   */
  readonly onError?: ActorErrorObserver;
}

/** Where an actor's failure goes: one object per actor (xstate binds its method once at subscription). */
export interface ActorErrorObserver {
  error(error: unknown): void;
}

/** Which actors a stream watches: all of them, those of one kind (machine id), or one actor by id. */
export type InspectionScope =
  | { readonly watch: 'all' }
  | { readonly watch: 'kind'; readonly kind: string }
  | { readonly watch: 'actor'; readonly actor: string };

/** A readable, JSON-safe view of an actor's context; undefined leaves it out of the record. */
export type ContextProjection = (kind: string, context: unknown) => JsonValue | undefined;

export interface AttachOptions {
  /** Where the records go. It runs inside the actor's step, so it must be quick and must not throw. */
  readonly sink: Mailbox<InspectionRecord>;
  /** Default: every actor. */
  readonly scope?: InspectionScope;
  readonly projectContext?: ContextProjection;
  /** Milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
}

/** Stops a stream: its actors lose their observer, and it records nothing more. */
export type Detach = () => void;

const streams = new Set<InspectionStream>();

export function startActor<TLogic extends AnyActorLogic>(logic: TLogic, options: StartOptions<TLogic>): Actor<TLogic> {
  // No spread: this runs once per client connection.
  const actorOptions: ActorOptions<TLogic> = options.clock === undefined ? { input: options.input } : { input: options.input, clock: options.clock };
  // createActor's rest-parameter typing cannot see that `input` is present for every TLogic.
  const actor = (createActor as (logic: TLogic, options: ActorOptions<TLogic>) => Actor<TLogic>)(logic, actorOptions);
  if (streams.size !== 0) {
    const id = options.id ?? `${kindOf(actor)}#${actor.sessionId}`;
    for (const stream of streams) stream.offer(actor, id);
  }
  if (options.onError !== undefined) actor.subscribe(options.onError);
  actor.start();
  return actor;
}

/**
 * Attach a stream for the process `router` serves: the next events of the matching actors
 * running now (those with a mailbox in the router), and those of matching actors started later.
 */
export function attachInspection(router: MailboxRouter, options: AttachOptions): Detach {
  const stream = new InspectionStream(router.node, options);
  streams.add(stream);
  forEachRunningActor(router, (actor, id) => stream.offer(actor, id));
  return () => {
    streams.delete(stream);
    stream.detach();
  };
}

/** Visits each running xstate actor among the router's mailboxes (others are plain objects). */
function forEachRunningActor(router: MailboxRouter, visit: (actor: AnyActor, id: string) => void): void {
  router.forEachMailbox((mailbox, address) => {
    if (!(mailbox instanceof Actor)) return;
    const actor = mailbox as AnyActor;
    // A connection that has just closed may still be registered for a moment.
    if ((actor.getSnapshot() as { status: string }).status === 'active') visit(actor, address);
  });
}

class InspectionStream {
  private readonly scope: InspectionScope;
  private readonly now: () => number;
  /** The root actors this stream observes, with their `system.inspect` registration. */
  private readonly watched = new Map<AnyActor, Subscription>();

  constructor(
    private readonly node: NodeId,
    private readonly options: AttachOptions,
  ) {
    this.scope = options.scope ?? { watch: 'all' };
    this.now = options.now ?? Date.now;
  }

  offer(actor: AnyActor, id: string): void {
    if (!this.matches(actor, id) || this.watched.has(actor)) return;
    this.watched.set(
      actor,
      actor.system.inspect((event: InspectionEvent) => this.record(actor, id, event)),
    );
  }

  detach(): void {
    for (const subscription of this.watched.values()) subscription.unsubscribe();
    this.watched.clear();
  }

  private matches(actor: AnyActor, id: string): boolean {
    switch (this.scope.watch) {
      case 'all':
        return true;
      case 'kind':
        return kindOf(actor) === this.scope.kind;
      case 'actor':
        return id === this.scope.actor;
    }
  }

  /** One record per snapshot: the event that caused it and the state it left. Other inspection events are skipped. */
  private record(root: AnyActor, rootId: string, event: InspectionEvent): void {
    if (event.type !== '@xstate.snapshot') return;
    const eventType = event.event.type;
    // An inspected actor that receives records (a collector) must not record them, or it would loop.
    if (eventType.startsWith('inspection.')) return;
    // Inspection events type their actor loosely; within a system every actor is a full ActorRef.
    const ref = event.actorRef as AnyActorRef;
    const kind = kindOf(ref);
    const snapshot = event.snapshot as { status: InspectionRecord['status']; value?: StateValue; context?: unknown };
    const context = this.options.projectContext?.(kind, snapshot.context);
    this.options.sink.send({
      type: 'inspection.record',
      time: this.now(),
      node: this.node,
      actor: ref === root ? rootId : `${rootId}/${ref.id}`,
      kind,
      event: eventType,
      state: snapshot.value ?? null,
      status: snapshot.status,
      ...(context === undefined ? {} : { context }),
    });
    // Its system ends with it: nothing left to unregister from at detach.
    if (ref === root && snapshot.status !== 'active') this.watched.delete(root);
  }
}

/** A machine's id, or the name a parent invoked the actor by. */
function kindOf(ref: AnyActorRef): string {
  const source: unknown = ref.src;
  if (typeof source === 'string') return source;
  const id = (source as { id?: unknown }).id;
  return typeof id === 'string' ? id : 'actor';
}

/** `'open'`; `{ a: 'b' }` → `'a.b'`; parallel regions joined with commas. */
export function stateKey(value: StateValue | undefined): string {
  if (value === undefined) return 'running';
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([region, inner]) => `${region}.${stateKey(inner)}`)
    .join(',');
}

export interface LiveActor {
  readonly actor: string;
  readonly kind: string;
  readonly state: string;
}

/** The actors running in the router's process (plain data): the page lists those in a state from this. */
export function listLiveActors(router: MailboxRouter): LiveActor[] {
  const actors: LiveActor[] = [];
  forEachRunningActor(router, (actor, id) => actors.push({ actor: id, kind: kindOf(actor), state: stateOf(actor) }));
  return actors;
}

/** The always-on source of per-kind state counts: read when asked, nothing recorded per event. */
export function countActorStates(router: MailboxRouter, now: () => number = Date.now): InspectionStateCounts {
  const counts: Record<string, Record<string, number>> = {};
  forEachRunningActor(router, (actor) => {
    const perState = (counts[kindOf(actor)] ??= {});
    const state = stateOf(actor);
    perState[state] = (perState[state] ?? 0) + 1;
  });
  return { type: 'inspection.state-counts', time: now(), node: router.node, counts };
}

function stateOf(actor: AnyActor): string {
  return stateKey((actor.getSnapshot() as { value?: StateValue }).value);
}

/** A sink that sends each record through the router, to a collector in another process if need be. */
export function routeRecordsTo(router: MailboxRouter, collector: Address): Mailbox<InspectionRecord> {
  return { send: (record) => router.send(collector, record) };
}

/** `--log-level debug`: every event an actor takes, as a log line (actor id and kind, event type, resulting state). */
export function logActorEvents(router: MailboxRouter, write: (msg: string, fields: Record<string, string>) => void): Detach {
  return attachInspection(router, {
    sink: {
      send: (record) =>
        write('actor event', { actor: record.actor, kind: record.kind, event: record.event, state: JSON.stringify(record.state) }),
    },
  });
}
