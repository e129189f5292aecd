/**
 * The feed's collector, in the primary (`p/feed`): merges every process's
 * batches into one frame every ~500 ms, keeps the last minutes of frames for
 * a page that opens later, hands each frame to the live pages (SSE) and the
 * trace file, and asks the processes' agents which actors are in a state and
 * for detailed records of a watched actor (leased, renewed while watched).
 */
import { localNameOf, nodeOf, type MailboxRouter } from '../../actors/router.js';
import {
  FEED_COLLECTOR,
  feedAgentAddress,
  LATENCY_BUCKETS,
  WAF_RECENT_KEPT,
  type Address,
  type FeedActorList,
  type FeedBatch,
  type FeedMessage,
  type InspectionRecord,
  type UpstreamHealthPoint,
  type WafFlaggedRequest,
} from '../../protocol/index.js';
import type { ChartModel } from './chart-model.js';
import type { FeedFrame, StateCounts, UpstreamFrame } from './frame.js';
import type { ActorListing, FeedSource, FrameListener, RecordListener } from './feed-source.js';
import { actorCharts, actorDefinitions } from './machines.js';
import { percentileOf } from './percentiles.js';

export interface CollectorOptions {
  /** Default 500 ms. */
  readonly frameMs?: number;
  /** Frames kept for a page that opens later. Default 10 minutes. */
  readonly historyMs?: number;
  /** Router messages kept in that history at most (older frames lose theirs first). Default 20,000. */
  readonly historyMessages?: number;
  readonly now?: () => number;
}

/** A process that has sent no batch for this long is gone (its counts leave the frame). */
const NODE_SILENCE_MS = 3_000;
const LIST_TIMEOUT_MS = 1_000;
const WATCH_LEASE_MS = 10_000;
const WATCH_RENEW_MS = 3_000;

interface NodeState {
  lastBatchAt: number;
  counts: StateCounts;
  inFlight: Map<string, number>;
  upstreamIds: string[];
  /** What its cache holds, as of its last batch (null: no cache there). */
  cacheHeld: { objects: number; bytes: number } | null;
  /** Whether its batches carry WAF counters. */
  waf: boolean;
}

/** Counts summed over the batches of one frame. */
class CacheAccumulator {
  hits = 0;
  misses = 0;
  stale = 0;
  stored = 0;
  revalidated = 0;
  coalesced = 0;
}

class WafAccumulator {
  inspected = 0;
  blocked = 0;
  detected = 0;
  byCategory: Record<string, number> = {};
  recent: WafFlaggedRequest[] = [];
}

interface UpstreamAccumulator {
  finished: number;
  failed: number;
  readonly latency: number[];
}

interface PendingList {
  readonly waiting: Set<string>;
  readonly actors: { actor: string; kind: string; state: string }[];
  total: number;
  readonly resolve: (listing: ActorListing) => void;
  readonly timer: NodeJS.Timeout;
}

export class FeedCollector implements FeedSource {
  readonly mode = 'live';
  readonly charts: readonly ChartModel[] = actorCharts();
  readonly definitions = actorDefinitions();
  private readonly frameMs: number;
  private readonly historyMs: number;
  private readonly historyMessages: number;
  private readonly now: () => number;
  private readonly nodes = new Map<string, NodeState>();
  private messages: FeedMessage[] = [];
  private dropped = 0;
  private droppedTotal = 0;
  private health: UpstreamHealthPoint[] = [];
  private readonly currentHealth = new Map<string, { healthy: boolean; reason: string }>();
  private readonly upstreams = new Map<string, UpstreamAccumulator>();
  private cache = new CacheAccumulator();
  private waf = new WafAccumulator();
  private rateChecks = 0;
  private rateDenials = 0;
  private readonly rateClients = new Map<string, [number, number]>();
  private readonly frames: FeedFrame[] = [];
  private framedMessages = 0;
  private records: InspectionRecord[] = [];
  private lastFrameAt: number;
  private readonly frameListeners = new Set<FrameListener>();
  private readonly recordListeners = new Map<string, Set<RecordListener>>();
  private readonly renewals = new Map<string, NodeJS.Timeout>();
  private readonly pendingLists = new Map<number, PendingList>();
  private nextRequestId = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly router: MailboxRouter,
    options: CollectorOptions = {},
  ) {
    this.frameMs = options.frameMs ?? 500;
    this.historyMs = options.historyMs ?? 600_000;
    this.historyMessages = options.historyMessages ?? 20_000;
    this.now = options.now ?? Date.now;
    this.lastFrameAt = this.now();
    router.register(localNameOf(FEED_COLLECTOR), {
      send: (message: FeedBatch | FeedActorList | InspectionRecord) => this.receive(message),
    });
    this.timer = setInterval(() => this.frame(), this.frameMs);
    this.timer.unref();
  }

  private receive(message: FeedBatch | FeedActorList | InspectionRecord): void {
    if (message.type === 'feed.batch') this.merge(message);
    else if (message.type === 'feed.actor-list') this.listed(message);
    else this.recorded(message);
  }

  private merge(batch: FeedBatch): void {
    const node: NodeState = this.nodes.get(batch.node) ?? { lastBatchAt: 0, counts: {}, inFlight: new Map(), upstreamIds: [], cacheHeld: null, waf: false };
    this.nodes.set(batch.node, node);
    node.lastBatchAt = this.now();
    node.counts = batch.counts;
    node.upstreamIds = Object.keys(batch.upstreams);
    for (const message of batch.messages) this.messages.push(message);
    this.dropped += batch.dropped;
    for (const [id, figures] of Object.entries(batch.upstreams)) {
      node.inFlight.set(id, figures.inFlight);
      let accumulator = this.upstreams.get(id);
      if (accumulator === undefined) {
        accumulator = { finished: 0, failed: 0, latency: new Array<number>(LATENCY_BUCKETS).fill(0) };
        this.upstreams.set(id, accumulator);
      }
      accumulator.finished += figures.finished;
      accumulator.failed += figures.failed;
      figures.latency.forEach((count, bucket) => (accumulator.latency[bucket] = (accumulator.latency[bucket] ?? 0) + count));
    }
    // Batches from a process of an older build (none today) carry neither.
    const cache = batch.cache ?? null;
    node.cacheHeld = cache === null ? null : { objects: cache.objects, bytes: cache.bytes };
    if (cache !== null) {
      const sum = this.cache;
      sum.hits += cache.hits;
      sum.misses += cache.misses;
      sum.stale += cache.stale;
      sum.stored += cache.stored;
      sum.revalidated += cache.revalidated;
      sum.coalesced += cache.coalesced;
    }
    const waf = batch.waf ?? null;
    node.waf = waf !== null;
    if (waf !== null) {
      const sum = this.waf;
      sum.inspected += waf.inspected;
      sum.blocked += waf.blocked;
      sum.detected += waf.detected;
      for (const [category, count] of Object.entries(waf.byCategory)) sum.byCategory[category] = (sum.byCategory[category] ?? 0) + count;
      for (const flagged of waf.recent) sum.recent.push(flagged);
    }
    for (const point of batch.health) {
      this.health.push(point);
      this.currentHealth.set(point.upstreamId, { healthy: point.healthy, reason: point.reason });
    }
    if (batch.rateLimit !== null) {
      this.rateChecks += batch.rateLimit.checks;
      this.rateDenials += batch.rateLimit.denials;
      for (const [client, checks, denials] of batch.rateLimit.top) {
        const tally = this.rateClients.get(client) ?? [0, 0];
        tally[0] += checks;
        tally[1] += denials;
        this.rateClients.set(client, tally);
      }
    }
  }

  /** Builds the frame of the interval just ended and hands it to every listener. Public for tests. */
  frame(): FeedFrame {
    const time = this.now();
    const counts: Record<string, Record<string, number>> = {};
    const live: string[] = [];
    const ids = new Set<string>();
    let cacheHeld: { objects: number; bytes: number } | null = null;
    let wafSeen = false;
    for (const [name, node] of this.nodes) {
      if (time - node.lastBatchAt > NODE_SILENCE_MS) {
        this.nodes.delete(name);
        continue;
      }
      live.push(name);
      if (node.cacheHeld !== null) {
        cacheHeld ??= { objects: 0, bytes: 0 };
        cacheHeld.objects += node.cacheHeld.objects;
        cacheHeld.bytes += node.cacheHeld.bytes;
      }
      wafSeen ||= node.waf;
      for (const id of node.upstreamIds) ids.add(id);
      for (const [kind, states] of Object.entries(node.counts)) {
        const merged = (counts[kind] ??= {});
        for (const [state, count] of Object.entries(states)) merged[state] = (merged[state] ?? 0) + count;
      }
    }
    if (ids.size === 0) for (const id of this.currentHealth.keys()) ids.add(id);
    const upstreams: Record<string, UpstreamFrame> = {};
    for (const id of [...ids].sort()) {
      const accumulator = this.upstreams.get(id);
      let inFlight = 0;
      for (const name of live) inFlight += this.nodes.get(name)?.inFlight.get(id) ?? 0;
      const health = this.currentHealth.get(id);
      upstreams[id] = {
        healthy: health?.healthy ?? null,
        reason: health?.reason ?? '',
        finished: accumulator?.finished ?? 0,
        failed: accumulator?.failed ?? 0,
        inFlight,
        p50: accumulator === undefined ? null : percentileOf(accumulator.latency, 0.5),
        p99: accumulator === undefined ? null : percentileOf(accumulator.latency, 0.99),
      };
    }
    this.upstreams.clear();
    const messages = this.messages.sort((a, b) => a[0] - b[0]);
    this.droppedTotal += this.dropped;
    const frame: FeedFrame = {
      type: 'frame',
      time,
      intervalMs: Math.max(1, time - this.lastFrameAt),
      counts,
      nodes: live.sort(),
      messages,
      dropped: this.dropped,
      droppedTotal: this.droppedTotal,
      upstreams,
      health: this.health,
      rateLimit: {
        checks: this.rateChecks,
        denials: this.rateDenials,
        top: [...this.rateClients.entries()]
          .sort((a, b) => b[1][1] - a[1][1] || b[1][0] - a[1][0])
          .slice(0, 10)
          .map(([client, [checks, denials]]) => [client, checks, denials] as const),
      },
      cache: cacheHeld === null ? null : { ...this.cache, ...cacheHeld },
      waf: wafSeen ? { ...this.waf, recent: this.waf.recent.sort((a, b) => a.time - b.time).slice(-WAF_RECENT_KEPT) } : null,
      ...(this.records.length === 0 ? {} : { records: this.records }),
    };
    this.cache = new CacheAccumulator();
    this.waf = new WafAccumulator();
    this.records = [];
    this.lastFrameAt = time;
    this.messages = [];
    this.dropped = 0;
    this.health = [];
    this.rateChecks = 0;
    this.rateDenials = 0;
    this.rateClients.clear();
    this.keep(frame);
    for (const listener of this.frameListeners) listener(frame);
    return frame;
  }

  private keep(frame: FeedFrame): void {
    this.frames.push(frame);
    this.framedMessages += frame.messages.length;
    while (this.frames.length > 0 && (this.frames[0] as FeedFrame).time < frame.time - this.historyMs) {
      this.framedMessages -= (this.frames.shift() as FeedFrame).messages.length;
    }
    // Past the message budget, the oldest frames keep their figures and lose their messages.
    for (let i = 0; this.framedMessages > this.historyMessages && i < this.frames.length; i++) {
      const old = this.frames[i] as FeedFrame;
      if (old.messages.length === 0) continue;
      this.framedMessages -= old.messages.length;
      this.frames[i] = { ...old, messages: [] };
    }
  }

  /** The frames of the last minutes, oldest first. */
  history(): readonly FeedFrame[] {
    return this.frames;
  }

  onFrame(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Which actors of `kind` are in `state` (null: any), asked of every process. */
  listActors(kind: string, state: string | null, limit = 200): Promise<ActorListing> {
    const requestId = this.nextRequestId++;
    const waiting = new Set([...this.nodes.keys()]);
    return new Promise((resolve) => {
      if (waiting.size === 0) {
        resolve({ actors: [], total: 0, missing: [] });
        return;
      }
      const timer = setTimeout(() => this.finishList(requestId), LIST_TIMEOUT_MS);
      this.pendingLists.set(requestId, { waiting, actors: [], total: 0, resolve, timer });
      for (const node of waiting) {
        this.router.send(feedAgentAddress(node), { type: 'feed.list-actors', requestId, kind, state, limit, replyTo: FEED_COLLECTOR });
      }
    });
  }

  private listed(list: FeedActorList): void {
    const pending = this.pendingLists.get(list.requestId);
    if (pending === undefined) return;
    pending.actors.push(...list.actors);
    pending.total += list.total;
    pending.waiting.delete(list.node);
    if (pending.waiting.size === 0) this.finishList(list.requestId);
  }

  private finishList(requestId: number): void {
    const pending = this.pendingLists.get(requestId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pendingLists.delete(requestId);
    pending.actors.sort((a, b) => a.actor.localeCompare(b.actor));
    pending.resolve({ actors: pending.actors, total: pending.total, missing: [...pending.waiting] });
  }

  /**
   * Detailed records of one actor (its snapshot now, then each event with its context) while
   * `listener` is attached: the actor's process attaches inspection to it alone, for a lease
   * renewed while anyone watches; the returned function stops watching.
   */
  watch(actor: string, listener: RecordListener): () => void {
    const listeners = this.recordListeners.get(actor);
    if (listeners !== undefined) listeners.add(listener);
    else {
      // Listening before asking: in the primary the agent answers at once, inside the send.
      this.recordListeners.set(actor, new Set([listener]));
      const agent = feedAgentAddress(nodeOf(actor as Address));
      const renew = (): void => this.router.send(agent, { type: 'feed.watch', actor, leaseMs: WATCH_LEASE_MS, replyTo: FEED_COLLECTOR });
      renew();
      const timer = setInterval(renew, WATCH_RENEW_MS);
      timer.unref();
      this.renewals.set(actor, timer);
    }
    return () => {
      const current = this.recordListeners.get(actor);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.recordListeners.delete(actor);
      clearInterval(this.renewals.get(actor));
      this.renewals.delete(actor);
      this.router.send(feedAgentAddress(nodeOf(actor as Address)), { type: 'feed.watch', actor, leaseMs: 0, replyTo: FEED_COLLECTOR });
    };
  }

  /** How many actors are being watched in detail (tests: watching ends with the page). */
  get watchedCount(): number {
    return this.recordListeners.size;
  }

  private recorded(record: InspectionRecord): void {
    // An invoked child (`<actor>/<invoke id>`) reaches its root's watchers.
    let listeners = this.recordListeners.get(record.actor);
    if (listeners === undefined) {
      for (const [actor, set] of this.recordListeners) if (record.actor.startsWith(`${actor}/`)) listeners = set;
    }
    if (listeners === undefined) return;
    for (const listener of listeners) listener(record);
    this.records.push(record);
  }

  stop(): void {
    clearInterval(this.timer);
    for (const timer of this.renewals.values()) clearInterval(timer);
    this.renewals.clear();
    this.recordListeners.clear();
    for (const id of [...this.pendingLists.keys()]) this.finishList(id);
    this.frameListeners.clear();
    this.router.unregister(FEED_COLLECTOR);
  }
}
