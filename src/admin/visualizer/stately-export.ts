/**
 * The feed in the Stately inspector's event format (as @statelyai/inspect
 * sends it): an `@xstate.actor` event for each actor seen, an `@xstate.event`
 * for each router message (sender, recipient, message type), and an
 * `@xstate.snapshot` for each detailed record of a watched actor. NDJSON,
 * one event a line, in time order.
 */
import type { FeedFrame } from './frame.js';

const PROTOCOL_VERSION = '1.0.0';

interface StatelyBase {
  readonly rootId: string | undefined;
  readonly sessionId: string;
  readonly createdAt: string;
  readonly id: string;
  readonly _version: string;
}

export type StatelyEvent =
  | (StatelyBase & { readonly type: '@xstate.actor'; readonly name: string; readonly definition: string | undefined; readonly parentId: string | undefined; readonly snapshot: object })
  | (StatelyBase & { readonly type: '@xstate.event'; readonly event: { readonly type: string }; readonly sourceId: string | undefined })
  | (StatelyBase & { readonly type: '@xstate.snapshot'; readonly event: { readonly type: string }; readonly snapshot: object });

/** The actor kind an address names: `w1/conn/…` → connection. */
export function kindOfAddress(address: string): string {
  const name = address.split('/')[1] ?? '';
  return name === 'conn' ? 'connection' : name;
}

export function toStatelyEvents(frames: readonly FeedFrame[], definitions: ReadonlyMap<string, string>): StatelyEvent[] {
  const events: StatelyEvent[] = [];
  const seen = new Set<string>();
  let next = 0;
  const base = (sessionId: string, time: number): StatelyBase => ({
    rootId: sessionId.split('/').slice(0, 3).join('/'),
    sessionId,
    createdAt: String(time),
    id: `bb-${next++}`,
    _version: PROTOCOL_VERSION,
  });
  const actor = (sessionId: string, time: number): void => {
    if (seen.has(sessionId)) return;
    seen.add(sessionId);
    const name = kindOfAddress(sessionId);
    events.push({ ...base(sessionId, time), type: '@xstate.actor', name, definition: definitions.get(name), parentId: undefined, snapshot: { status: 'active' } });
  };
  for (const frame of frames) {
    for (const [time, from, to, type] of frame.messages) {
      actor(from, time);
      actor(to, time);
      events.push({ ...base(to, time), type: '@xstate.event', event: { type }, sourceId: from });
    }
    for (const record of frame.records ?? []) {
      actor(record.actor, record.time);
      events.push({
        ...base(record.actor, record.time),
        type: '@xstate.snapshot',
        event: { type: record.event },
        snapshot: { value: record.state, status: record.status, ...(record.context === undefined ? {} : { context: record.context }) },
      });
    }
  }
  return events;
}
