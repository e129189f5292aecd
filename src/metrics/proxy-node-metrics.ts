/**
 * A proxy node's metrics source: its requests (request-metrics.ts), and per
 * upstream the attempts in flight and the response-head latency histogram
 * that the byte path keeps in its load figures, plus the client connections
 * open now. Read at scrape time; nothing here runs per request.
 */
import type { UpstreamLoads } from '../balancing/load.js';
import type { MetricFamily, MetricSample } from '../protocol/index.js';
import { gaugeFamily, histogramFamily, type MetricSource } from './families.js';
import type { LatencyHistogram } from './histogram.js';
import type { RequestMetrics } from './request-metrics.js';

export class ProxyNodeMetrics implements MetricSource {
  constructor(
    private readonly requests: RequestMetrics,
    private readonly loads: UpstreamLoads,
    private readonly openConnections: () => number,
  ) {}

  families(): MetricFamily[] {
    const inFlight: MetricSample[] = [];
    const latency: { labels: { upstream: string }; histogram: LatencyHistogram }[] = [];
    this.loads.forEach((figures, upstream) => {
      inFlight.push({ labels: { upstream }, value: figures.inFlight });
      if (figures.headLatency !== null) latency.push({ labels: { upstream }, histogram: figures.headLatency });
    });
    return [
      ...this.requests.families(),
      gaugeFamily('balancebeam_upstream_in_flight', 'Attempts sent to the upstream and not yet ended (summed over workers)', inFlight),
      histogramFamily(
        'balancebeam_upstream_response_duration_seconds',
        "Time from an attempt's request being handed to its upstream connection to the upstream's response head",
        latency,
      ),
      gaugeFamily('balancebeam_active_connections', 'Client connections open now (summed over workers)', [
        { labels: {}, value: this.openConnections() },
      ]),
    ];
  }
}
