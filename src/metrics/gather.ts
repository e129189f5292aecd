/**
 * The primary's view of the whole instance's metrics: its own families read
 * directly, every worker's asked over the router (`metrics.wanted` →
 * `metrics.report`, plain data over cluster IPC), then merged by
 * prom-client's `AggregatorRegistry.aggregate` (counters, histograms and
 * most gauges summed; each family says how).
 *
 * Why over the router rather than prom-client's own cluster mode
 * (`AggregatorRegistry.clusterMetrics`): that one asks `cluster.workers`
 * only, so the primary's figures (upstream health, rate-limit decisions)
 * would be left out; it fails the whole scrape when one worker is slow
 * (a 5 s timeout, then an error); and it sends its own IPC messages beside
 * the router's. Here a worker that does not answer within the timeout is
 * left out and counted in `balancebeam_metrics_missing_workers`.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { metricsAddress, type MetricFamily, type MetricsReport, type NodeId } from '../protocol/index.js';
import { gaugeFamily } from './families.js';
import type { ProcessMetrics } from './process-metrics.js';

export const METRICS_REPORTS = 'metrics-reports';

interface Round {
  readonly reports: (readonly MetricFamily[])[];
  readonly waiting: Set<NodeId>;
  finish(): void;
}

export interface Gathered {
  /** One list of families per process that answered, the primary's first. */
  readonly perProcess: readonly (readonly MetricFamily[])[];
  /** Workers that did not answer in time. */
  readonly missing: readonly NodeId[];
}

export class MetricsGatherer {
  private nextRequest = 1;
  private readonly rounds = new Map<number, Round>();

  constructor(
    private readonly router: MailboxRouter,
    private readonly local: ProcessMetrics,
    /** The worker nodes to ask ([] with --workers 1). */
    private readonly workers: () => readonly NodeId[],
    private readonly timeoutMs = 2_000,
  ) {
    router.register(localNameOf(`${router.node}/${METRICS_REPORTS}`), {
      send: (report: MetricsReport) => {
        const round = this.rounds.get(report.requestId);
        if (report.type !== 'metrics.report' || round === undefined || !round.waiting.delete(report.node)) return;
        round.reports.push(report.families);
        if (round.waiting.size === 0) round.finish();
      },
    });
  }

  async gather(): Promise<Gathered> {
    const requestId = this.nextRequest++;
    const workers = this.workers();
    const round: Round = { reports: [], waiting: new Set(workers), finish: () => {} };
    const answered = new Promise<void>((resolve) => {
      round.finish = resolve;
    });
    this.rounds.set(requestId, round);
    const replyTo = `${this.router.node}/${METRICS_REPORTS}` as const;
    for (const node of workers) this.router.send(metricsAddress(node), { type: 'metrics.wanted', requestId, replyTo });
    let timer: NodeJS.Timeout | undefined;
    const own = await this.local.families();
    if (round.waiting.size > 0) {
      await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
    }
    clearTimeout(timer);
    this.rounds.delete(requestId);
    const missing = [...round.waiting];
    const gatherer = gaugeFamily(
      'balancebeam_metrics_missing_workers',
      'Worker processes that did not report in time for this scrape (their figures are left out)',
      [{ labels: {}, value: missing.length }],
    );
    return { perProcess: [[...own, gatherer], ...round.reports], missing };
  }
}

/** Every process's families merged into one registry, ready to render or read. */
export function aggregate(gathered: Gathered): Registry {
  return AggregatorRegistry.aggregate(gathered.perProcess.map((families) => [...families]));
}
