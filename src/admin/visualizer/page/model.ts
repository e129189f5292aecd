/**
 * The page's reading of frames, with no DOM: shared by the page (compiled to
 * /viz/model.js) and by the tests that check a replay shows what the live
 * page showed at the same moment.
 */
import type { StateValue, UpstreamHealthPoint } from '../../../protocol/index.js';
import type { FeedFrame, StateCounts } from '../frame.js';

/** Does an actor in state `key` (`countActorStates`' form: `a.b`, parallel regions joined by commas) occupy `path`? */
export function occupies(key: string, path: string): boolean {
  if (path === '') return true;
  for (const part of key.split(',')) if (part === path || part.startsWith(`${path}.`)) return true;
  return false;
}

/** Live actors of `kind` in `path` (its substates included); the root path counts them all. */
export function countFor(counts: StateCounts, kind: string, path: string): number {
  const states = counts[kind];
  if (states === undefined) return 0;
  let total = 0;
  for (const [key, count] of Object.entries(states)) if (occupies(key, path)) total += count;
  return total;
}

/** The paths a state value occupies: `{ tracking: 'steady' }` → `tracking`, `tracking.steady`. */
export function pathsOf(value: StateValue | null, prefix = ''): string[] {
  if (value === null) return [];
  if (typeof value === 'string') return [prefix === '' ? value : `${prefix}.${value}`];
  const paths: string[] = [];
  for (const [region, inner] of Object.entries(value)) {
    const path = prefix === '' ? region : `${prefix}.${region}`;
    paths.push(path, ...pathsOf(inner, path));
  }
  return paths;
}

/** Index of the last frame at or before `time` (-1: none), frames being in time order. */
export function frameIndexAt(frames: readonly FeedFrame[], time: number): number {
  let low = 0;
  let high = frames.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((frames[middle] as FeedFrame).time <= time) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/** The counts the page shows at `time`: those of the last frame by then. */
export function countsAt(frames: readonly FeedFrame[], time: number): StateCounts {
  const index = frameIndexAt(frames, time);
  return index < 0 ? {} : (frames[index] as FeedFrame).counts;
}

export interface HealthSpan {
  readonly from: number;
  readonly to: number;
  readonly healthy: boolean;
  readonly reason: string;
}

/** An upstream's health as spans between `start` and `end`, from the health points of the frames up to `end`. */
export function healthSpans(points: readonly UpstreamHealthPoint[], upstreamId: string, start: number, end: number): HealthSpan[] {
  const spans: HealthSpan[] = [];
  let current: { since: number; healthy: boolean; reason: string } | null = null;
  for (const point of points) {
    if (point.upstreamId !== upstreamId || point.time > end) continue;
    if (current !== null && current.healthy === point.healthy) continue;
    if (current !== null && point.time > start) spans.push({ from: Math.max(current.since, start), to: point.time, healthy: current.healthy, reason: current.reason });
    current = { since: point.time, healthy: point.healthy, reason: point.reason };
  }
  if (current !== null) spans.push({ from: Math.max(current.since, start), to: end, healthy: current.healthy, reason: current.reason });
  return spans;
}
