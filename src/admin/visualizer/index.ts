/**
 * The visualizer (issue 15): statecharts drawn from the machines, the live
 * feed, the sequence view, per-upstream plots, record and replay.
 *
 * Mounting, for the admin server: in the primary (or the single process),
 * `startPrimaryFeed(router, config)` before the primary services start (so
 * the upstream actors' first health reports are seen), and
 * `visualizerRoutes({ source: feed.collector })` among the admin routes;
 * in every process that proxies, `startFeedAgent(router)` (the primary's
 * feed has one already: `feed.agent`) passed to `startProxyNode`.
 */
import type { MailboxRouter } from '../../actors/router.js';
import type { Config } from '../../config/config.js';
import { log } from '../../log.js';
import { FeedCollector } from './collector.js';
import { startFeedAgent, type FeedAgent } from './feed/feed-agent.js';
import { TraceWriter } from './trace-file.js';

export { FeedCollector } from './collector.js';
export { startFeedAgent, type FeedAgent } from './feed/feed-agent.js';
export type { FeedSource } from './feed-source.js';
export { visualizerRoutes, type VisualizerDeps } from './routes.js';

export { feedWanted } from './feed-wanted.js';

export interface PrimaryFeed {
  readonly collector: FeedCollector;
  /** The primary's own agent: passed to its proxy node when it proxies too (`--workers 1`). */
  readonly agent: FeedAgent;
  stop(): Promise<void>;
}

export function startPrimaryFeed(router: MailboxRouter, config: Config): PrimaryFeed {
  const agent = startFeedAgent(router);
  const collector = new FeedCollector(router);
  const trace = config.trace;
  let writer: TraceWriter | null = null;
  if (trace !== null) {
    writer = new TraceWriter(trace.path, trace.maxBytes, collector.charts, collector.definitions, (error) =>
      log.error('cannot write the trace file; tracing stops', { path: trace.path, error: error.message }),
    );
    const traceWriter = writer;
    collector.onFrame((frame) => traceWriter.frame(frame));
    log.info('tracing', { path: trace.path, maxBytes: trace.maxBytes });
  }
  return {
    collector,
    agent,
    stop: async () => {
      agent.flush();
      collector.frame();
      agent.stop();
      collector.stop();
      await writer?.close();
    },
  };
}
