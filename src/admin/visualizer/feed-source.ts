/**
 * What the visualizer's routes serve from: the live collector, or a trace
 * being replayed. A replay has the same frames but no running actors, so
 * listing and watching answer with nothing.
 */
import type { ChartModel } from './chart-model.js';
import type { FeedFrame } from './frame.js';
import type { InspectionRecord } from '../../protocol/index.js';
import type { Trace } from './trace-file.js';

export interface ActorListing {
  readonly actors: readonly { readonly actor: string; readonly kind: string; readonly state: string }[];
  readonly total: number;
  /** Processes that did not answer in time. */
  readonly missing: readonly string[];
}

export type FrameListener = (frame: FeedFrame) => void;
export type RecordListener = (record: InspectionRecord) => void;

export interface FeedSource {
  readonly mode: 'live' | 'replay';
  readonly charts: readonly ChartModel[];
  /** kind → machine definition JSON. */
  readonly definitions: { readonly [kind: string]: string };
  history(): readonly FeedFrame[];
  onFrame(listener: FrameListener): () => void;
  listActors(kind: string, state: string | null, limit?: number): Promise<ActorListing>;
  watch(actor: string, listener: RecordListener): () => void;
}

export function replaySource(trace: Trace): FeedSource {
  return {
    mode: 'replay',
    charts: trace.header.charts,
    definitions: trace.header.definitions,
    history: () => trace.frames,
    onFrame: () => () => {},
    listActors: () => Promise.resolve({ actors: [], total: 0, missing: [] }),
    watch: () => () => {},
  };
}
