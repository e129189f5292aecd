/**
 * The feed's own work per request, in isolation and timed in CPU time (so
 * the other processes on a busy machine disturb it less than the end-to-end
 * rows): the router tap for the two messages a rate-limited request sends
 * (check and verdict), the finished hook's tally, and the flush and frame
 * that run 4 and 2 times a second, amortised over a request rate. Part of
 * `visualizer-cost.ts`; alone: `node dist/bench/visualizer-feed-micro.js`.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MailboxRouter } from '../src/actors/router.js';
import { FeedCollector } from '../src/admin/visualizer/collector.js';
import { startFeedAgent } from '../src/admin/visualizer/feed/feed-agent.js';
import type { FinishedView } from '../src/pipeline/filter.js';
import { RATE_LIMITER, type RequestVerdict } from '../src/protocol/index.js';

export interface FeedMicroCost {
  /** CPU ns per request for the tap (two messages) and the finished hook. */
  readonly perRequestNs: number;
  /** CPU µs per flush + frame cycle (4 flushes and 2 frames a second), with 100 live connections. */
  readonly perSecondUs: number;
  /** Same two messages through the router with no tap: what the tap adds to. */
  readonly routerOnlyNs: number;
}

const cpuNs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
};

/** `capPerSecond`: the default cap (2,000) drops most of a busy second's messages cheaply; a high one records them all (the worst case). */
export function measureFeedMicro(capPerSecond: number, requests = 400_000): FeedMicroCost {
  const router = new MailboxRouter('p');
  let delivered = 0;
  const sink = { send: () => void delivered++ };
  router.register('rate-limiter', sink);
  const connections: `p/conn/${string}`[] = [];
  for (let i = 0; i < 100; i++) {
    const address = router.register(`conn/c${i}`, sink);
    connections.push(address as `p/conn/${string}`);
  }
  const verdict: RequestVerdict = { type: 'request.verdict', requestId: 1, answer: null };
  const view = { upstreamId: '127.0.0.1:8080', startedAt: performance.now(), status: 200 } as unknown as FinishedView;
  const run = (withFeed: boolean, hook: ((view: FinishedView) => void) | null): number => {
    const start = cpuNs();
    for (let i = 0; i < requests; i++) {
      const replyTo = connections[i % 100] as `p/conn/${string}`;
      router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId: i, checks: [{ rule: 'default', key: '10.0.0.1', limit: null }], headersWhenAllowed: false, replyTo });
      router.send(replyTo, verdict);
      if (withFeed && hook !== null) hook(view);
    }
    return (cpuNs() - start) / requests;
  };
  run(false, null); // warm up
  const routerOnly = Math.min(run(false, null), run(false, null), run(false, null));
  // The timer never fires here: the loop below flushes by hand, every 10,000 requests.
  const agent = startFeedAgent(router, { flushMs: 250, capPerSecond });
  const collector = new FeedCollector(router, { frameMs: 3_600_000 });
  const hook = (finished: FinishedView): void => agent.requestFigures.finished(finished);
  run(true, hook);
  agent.flush();
  collector.frame();
  // Drained every 10,000 requests, as the 250 ms flush would at 40,000 req/s: the ring stays small.
  const withFeedRuns: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = cpuNs();
    for (let chunk = 0; chunk < requests; chunk += 10_000) {
      for (let i = 0; i < 10_000; i++) {
        const replyTo = connections[i % 100] as `p/conn/${string}`;
        router.send(RATE_LIMITER, { type: 'rate-limit.check', requestId: i, checks: [{ rule: 'default', key: '10.0.0.1', limit: null }], headersWhenAllowed: false, replyTo });
        router.send(replyTo, verdict);
        hook(view);
      }
      agent.requestFigures.drain(() => 0, ['127.0.0.1:8080']);
      (agent as unknown as { flush(): void }).flush();
      collector.frame();
    }
    withFeedRuns.push((cpuNs() - start) / requests);
  }
  const withFeed = Math.min(...withFeedRuns);
  // One second's fixed work: 4 flushes and 2 frames with nothing recorded in between.
  const cycles = 2_000;
  const start = cpuNs();
  for (let i = 0; i < cycles; i++) {
    agent.flush();
    agent.flush();
    agent.flush();
    agent.flush();
    collector.frame();
    collector.frame();
  }
  const perSecondUs = (cpuNs() - start) / cycles / 1000;
  agent.stop();
  collector.stop();
  return { perRequestNs: withFeed - routerOnly, perSecondUs, routerOnlyNs: routerOnly };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ recordingAll: measureFeedMicro(80_000), defaultCap: measureFeedMicro(2_000) }));
}
