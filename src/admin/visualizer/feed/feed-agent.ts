/**
 * Each process's part of the feed (every worker, and the primary or the
 * single process): it taps the router, tallies requests per upstream, and
 * every ~250 ms sends one `feed.batch` to the collector in the primary, over
 * the router (cluster IPC from a worker). It also answers the collector:
 * which actors are in a state, and detailed inspection of one watched actor,
 * attached with `attachInspection` only while the collector renews the lease.
 */
import { Actor, type AnyActor } from 'xstate';
import { attachInspection, countActorStates, listLiveActors, routeRecordsTo, type Detach } from '../../../actors/inspection.js';
import { localNameOf, type MailboxRouter } from '../../../actors/router.js';
import type { UpstreamLoads } from '../../../balancing/load.js';
import type { CacheRegistry } from '../../../cache/registry.js';
import type { RateLimitTally } from '../../../metrics/rate-limit-tally.js';
import type { WafCounters } from '../../../waf/counters.js';
import {
  FEED_COLLECTOR,
  feedAgentAddress,
  type FeedListActors,
  type FeedWatch,
  type InspectionRecord,
  type RateLimitFigures,
  type StateValue,
} from '../../../protocol/index.js';
import { occupies } from '../page/model.js';
import { CacheFiguresReader, WafFiguresReader } from './cache-waf-figures.js';
import { projectContext } from './context-projection.js';
import { MessageRing } from './message-ring.js';
import { RequestFigures } from './request-figures.js';
import { FeedTap } from './router-tap.js';
import type { LocalDecisionTally } from '../../../rate-limit/local-tally.js';

export interface FeedAgentOptions {
  /** Default 250 ms. */
  readonly flushMs?: number;
  /** Router messages recorded per second at most; the rest are counted as dropped. Default 2,000. */
  readonly capPerSecond?: number;
  readonly now?: () => number;
}

export interface FeedAgent {
  /** The finished hook that tallies requests per upstream: the proxy node adds it to its pipeline. */
  readonly requestFigures: RequestFigures;
  /** The proxy node's load figures (in-flight per upstream) and its current upstream ids. */
  attachLoads(loads: UpstreamLoads, upstreamIds: () => Iterable<string>): void;
  /** The rate-limit store's tally of the requests it admitted on a lease (no message for the tap to see). */
  attachRateLimit(tally: LocalDecisionTally): void;
  /** The proxy node's cache, WAF counters and (a store deciding in this process) rate-limit tally. */
  attachFigures(figures: ProcessFigures): void;
  /** Send what is pending now (tests; shutdown). */
  flush(): void;
  stop(): void;
}

export interface ProcessFigures {
  readonly caches: CacheRegistry;
  readonly waf: WafCounters | null;
  readonly rateLimit: RateLimitTally | null;
}

interface Watch {
  readonly detach: Detach;
  expiresAt: number;
}

export function startFeedAgent(router: MailboxRouter, options: FeedAgentOptions = {}): FeedAgent {
  const now = options.now ?? Date.now;
  const capPerSecond = options.capPerSecond ?? 2_000;
  const flushMs = options.flushMs ?? 250;
  // Room for a batch at the cap, with slack: the cap, not the ring, decides what is dropped.
  const ring = new MessageRing(Math.ceil((capPerSecond * flushMs) / 1000) * 2 + 64, capPerSecond);
  const tap = new FeedTap(router.node, ring, now);
  const requestFigures = new RequestFigures();
  let loads: UpstreamLoads | null = null;
  let localRateLimit: LocalDecisionTally | null = null;
  let upstreamIds: () => Iterable<string> = () => [];
  const watches = new Map<string, Watch>();
  let cacheFigures: CacheFiguresReader | null = null;
  let wafFigures: WafFiguresReader | null = null;
  let rateLimitTally: RateLimitTally | null = null;
  const previousTap = router.tap;
  router.tap = tap;

  const flush = (): void => {
    const time = now();
    for (const [actor, watch] of watches) {
      if (watch.expiresAt <= time) {
        watch.detach();
        watches.delete(actor);
      }
    }
    const { messages, dropped } = ring.drain();
    const figures = loads;
    router.send(FEED_COLLECTOR, {
      type: 'feed.batch',
      node: router.node,
      time,
      messages,
      dropped,
      counts: countActorStates(router, now).counts,
      upstreams: requestFigures.drain((id) => (figures === null ? 0 : figures.of(id).inFlight), upstreamIds()),
      // Requests admitted on a lease, and a store deciding here (Redis), are tallied here; the primary's tap sees the
      // memory store's checks decided there.
      rateLimit: rateLimitOf(mergeFigures(tap.drainRateLimit(), localRateLimit?.drain() ?? null), rateLimitTally),
      cache: cacheFigures?.drain() ?? null,
      waf: wafFigures?.drain() ?? null,
      health: tap.drainHealth(),
    });
  };
  const timer = setInterval(flush, flushMs);
  timer.unref();

  const answerList = (question: FeedListActors): void => {
    const matching = listLiveActors(router).filter((actor) => actor.kind === question.kind && (question.state === null || occupies(actor.state, question.state)));
    router.send(question.replyTo, {
      type: 'feed.actor-list',
      requestId: question.requestId,
      node: router.node,
      actors: matching.slice(0, question.limit),
      total: matching.length,
    });
  };

  const watch = (request: FeedWatch): void => {
    const existing = watches.get(request.actor);
    if (request.leaseMs <= 0) {
      existing?.detach();
      watches.delete(request.actor);
      return;
    }
    if (existing !== undefined) {
      existing.expiresAt = now() + request.leaseMs;
      return;
    }
    const sink = routeRecordsTo(router, request.replyTo);
    const detach = attachInspection(router, { sink, scope: { watch: 'actor', actor: request.actor }, projectContext, now });
    watches.set(request.actor, { detach, expiresAt: now() + request.leaseMs });
    // Its state and context now, before its next event.
    // Not running here (it has ended, or never was): said at once, so the page does not wait for it.
    sink.send(
      snapshotRecord(router, request.actor, now()) ?? {
        type: 'inspection.record',
        time: now(),
        node: router.node,
        actor: request.actor,
        kind: 'actor',
        event: 'watch.not-running',
        state: null,
        status: 'stopped',
      },
    );
  };

  const agentAddress = feedAgentAddress(router.node);
  router.register(localNameOf(agentAddress), {
    send: (message: FeedListActors | FeedWatch) => {
      if (message.type === 'feed.list-actors') answerList(message);
      else watch(message);
    },
  });

  return {
    requestFigures,
    attachLoads: (attached, ids) => {
      loads = attached;
      upstreamIds = ids;
    },
    attachRateLimit: (tally) => {
      localRateLimit = tally;
    },
    attachFigures: (figures) => {
      cacheFigures = new CacheFiguresReader(figures.caches);
      wafFigures = figures.waf === null ? null : new WafFiguresReader(figures.waf);
      rateLimitTally = figures.rateLimit;
    },
    flush,
    stop: () => {
      clearInterval(timer);
      for (const entry of watches.values()) entry.detach();
      watches.clear();
      router.unregister(agentAddress);
      if (router.tap === tap) router.tap = previousTap;
    },
  };
}

function rateLimitOf(tapped: RateLimitFigures | null, tally: RateLimitTally | null): RateLimitFigures | null {
  if (tally === null) return tapped;
  const own = tally.drainFigures();
  if (tapped === null || tapped.checks === 0) return own;
  return { checks: tapped.checks + own.checks, denials: tapped.denials + own.denials, top: [...tapped.top, ...own.top] };
}

function snapshotRecord(router: MailboxRouter, id: string, time: number): InspectionRecord | null {
  let found: AnyActor | null = null;
  router.forEachMailbox((mailbox, address) => {
    if (address === id && mailbox instanceof Actor) found = mailbox as AnyActor;
  });
  if (found === null) return null;
  const actor: AnyActor = found;
  const snapshot = actor.getSnapshot() as { status: InspectionRecord['status']; value?: StateValue; context?: unknown };
  const source: unknown = actor.src;
  const kind = typeof source === 'string' ? source : ((source as { id?: string }).id ?? 'actor');
  const context = projectContext(kind, snapshot.context);
  return {
    type: 'inspection.record',
    time,
    node: router.node,
    actor: id,
    kind,
    event: 'watch.started',
    state: snapshot.value ?? null,
    status: snapshot.status,
    ...(context === undefined ? {} : { context }),
  };
}

/** The tap's figures (checks the limiter answered) and the store's (requests admitted on a lease), as one. */
function mergeFigures(tapped: RateLimitFigures | null, local: RateLimitFigures | null): RateLimitFigures | null {
  if (local === null) return tapped;
  if (tapped === null) return local;
  return { checks: tapped.checks + local.checks, denials: tapped.denials, top: [...tapped.top, ...local.top] };
}
