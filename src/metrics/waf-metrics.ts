/** The WAF's metrics (with --waf and --admin): its counters, summed over workers, read at scrape time. */
import type { MetricFamily, MetricSample } from '../protocol/index.js';
import type { WafCounters } from '../waf/counters.js';
import { counterFamily, type MetricSource } from './families.js';

export class WafMetrics implements MetricSource {
  constructor(private readonly counters: WafCounters) {}

  families(): MetricFamily[] {
    const { inspected, blocked, detected, byCategory } = this.counters;
    const categories: MetricSample[] = [];
    for (const [category, value] of byCategory) categories.push({ labels: { category }, value });
    return [
      counterFamily('balancebeam_waf_inspected_total', 'Requests the WAF inspected', [{ labels: {}, value: inspected }]),
      counterFamily('balancebeam_waf_flagged_total', 'Requests whose anomaly score reached the threshold, by what was done (blocked, or only logged in detect mode)', [
        { labels: { action: 'blocked' }, value: blocked },
        { labels: { action: 'detected' }, value: detected },
      ]),
      counterFamily('balancebeam_waf_flagged_by_category_total', 'Flagged requests with a match of the category (one request may count in several)', categories),
    ];
  }
}
