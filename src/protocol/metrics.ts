/**
 * Metrics crossing processes: the admin server in the primary asks every
 * worker for its figures and aggregates them for `/metrics` and the API.
 * A family is prom-client's JSON form of a metric (`getMetricsAsJSON`), so
 * prom-client's own aggregation (sum, first, max, ...) can merge them.
 */
import type { Address, NodeId } from './address.js';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** How the families of several processes merge (prom-client's aggregators). */
export type MetricAggregator = 'sum' | 'first' | 'min' | 'max' | 'average' | 'omit';

export interface MetricSample {
  readonly value: number;
  readonly labels: { readonly [label: string]: string | number };
  /** For a histogram's series: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
  readonly metricName?: string;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricKind;
  readonly aggregator: MetricAggregator;
  readonly values: readonly MetricSample[];
}

/** Asks a process for its metrics; answered with `metrics.report` to `replyTo`. */
export interface MetricsWanted {
  readonly type: 'metrics.wanted';
  readonly requestId: number;
  readonly replyTo: Address;
}

export interface MetricsReport {
  readonly type: 'metrics.report';
  readonly requestId: number;
  readonly node: NodeId;
  readonly families: readonly MetricFamily[];
}
