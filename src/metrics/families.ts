/**
 * Building Prometheus metric families (prom-client's JSON form, which
 * crosses processes as data and which prom-client aggregates and renders)
 * from the figures kept in place. Runs only when someone scrapes.
 */
import type { MetricAggregator, MetricFamily, MetricSample } from '../protocol/index.js';
import type { LatencyHistogram } from './histogram.js';

/** Something that has metrics to show: a proxy node, the primary's actors, later the cache and the WAF. */
export interface MetricSource {
  families(): readonly MetricFamily[];
}

type Labels = MetricSample['labels'];

export function counterFamily(name: string, help: string, values: readonly MetricSample[]): MetricFamily {
  return { name, help, type: 'counter', aggregator: 'sum', values };
}

export function gaugeFamily(name: string, help: string, values: readonly MetricSample[], aggregator: MetricAggregator = 'sum'): MetricFamily {
  return { name, help, type: 'gauge', aggregator, values };
}

/** One histogram family; each entry is one labelled series. */
export function histogramFamily(
  name: string,
  help: string,
  series: readonly { readonly labels: Labels; readonly histogram: LatencyHistogram }[],
): MetricFamily {
  const values: MetricSample[] = [];
  for (const { labels, histogram } of series) {
    let cumulative = 0;
    histogram.bounds.forEach((bound, index) => {
      cumulative += histogram.counts[index] as number;
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
    });
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count });
    values.push({ metricName: `${name}_sum`, labels, value: histogram.sum });
    values.push({ metricName: `${name}_count`, labels, value: histogram.count });
  }
  return { name, help, type: 'histogram', aggregator: 'sum', values };
}
