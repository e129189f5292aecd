/**
 * The request counters and the request latency histogram of one proxy node,
 * as a finished hook of the pipeline: per request two Map lookups (upstream,
 * outcome), one increment, one histogram observation. No label object, no
 * string built, no closure per request; labels are made at scrape time.
 *
 * Labels are bounded: the upstream (configured ids, or `none` when no
 * upstream was tried), the outcome (a closed union) and the status class.
 * No client address, no path.
 */
import { performance } from 'node:perf_hooks';
import type { FinishedHook, FinishedView } from '../pipeline/filter.js';
import type { MetricFamily, MetricSample } from '../protocol/index.js';
import { counterFamily, histogramFamily, type MetricSource } from './families.js';
import { LatencyHistogram } from './histogram.js';

/** Status classes by index: 0 is "no status sent" (the client left, the response was cut). */
const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const NO_UPSTREAM = 'none';

type OutcomeCounts = Map<string, Float64Array>;

export class RequestMetrics implements FinishedHook, MetricSource {
  readonly name = 'metrics';
  /** upstream id → outcome → count per status class. */
  private readonly counts = new Map<string, OutcomeCounts>();
  readonly duration = new LatencyHistogram();

  finished(request: FinishedView): void {
    this.duration.observeMs(performance.now() - request.startedAt);
    const upstream = request.upstreamId ?? NO_UPSTREAM;
    let byOutcome = this.counts.get(upstream);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      this.counts.set(upstream, byOutcome);
    }
    const outcome = request.outcome ?? 'unknown';
    let byClass = byOutcome.get(outcome);
    if (byClass === undefined) {
      byClass = new Float64Array(STATUS_CLASSES.length);
      byOutcome.set(outcome, byClass);
    }
    const status = request.res.writableFinished ? request.status : 0;
    const statusClass = status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
    byClass[statusClass] = (byClass[statusClass] as number) + 1;
  }

  /** Forget upstreams no longer configured, so their labels do not outlive them. */
  keepUpstreams(ids: ReadonlySet<string>): void {
    for (const id of this.counts.keys()) if (id !== NO_UPSTREAM && !ids.has(id)) this.counts.delete(id);
  }

  families(): MetricFamily[] {
    const values: MetricSample[] = [];
    for (const [upstream, byOutcome] of this.counts) {
      for (const [outcome, byClass] of byOutcome) {
        byClass.forEach((value, index) => {
          if (value > 0) values.push({ labels: { upstream, outcome, status_class: STATUS_CLASSES[index] as string }, value });
        });
      }
    }
    return [
      counterFamily('balancebeam_requests_total', 'Requests finished, by upstream (none: no upstream tried), outcome and status class', values),
      histogramFamily('balancebeam_request_duration_seconds', 'Time from request head parsed to response finished', [
        { labels: {}, histogram: this.duration },
      ]),
    ];
  }
}
