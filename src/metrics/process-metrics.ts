/**
 * One process's metrics: prom-client's process and Node.js figures (CPU,
 * memory, event-loop lag, GC), its actors by kind and state, and whatever
 * sources its roles add (a proxy node's requests, the primary's upstream
 * health; later the cache's and the WAF's). Created only when the admin
 * server is on, so an instance without one pays nothing; prom-client's
 * collectors (an event-loop delay monitor, a GC observer called on every
 * GC) start at the first scrape, so an admin server nobody reads costs only
 * the request counters. Their CPU and memory figures are the process's
 * since its start either way; GC and event-loop figures count from then.
 *
 * A worker answers `metrics.wanted` from its `metrics` mailbox; the primary
 * reads its own directly (gather.ts) and aggregates.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { countActorStates } from '../actors/inspection.js';
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { metricsAddress, type MetricFamily, type MetricSample, type MetricsWanted } from '../protocol/index.js';
import { gaugeFamily, type MetricSource } from './families.js';

export class ProcessMetrics {
  private readonly registry = new Registry();
  private readonly sources: MetricSource[] = [];
  private collecting = false;

  constructor(private readonly router: MailboxRouter) {}

  add(source: MetricSource): void {
    this.sources.push(source);
  }

  async families(): Promise<MetricFamily[]> {
    if (!this.collecting) {
      this.collecting = true;
      collectDefaultMetrics({ register: this.registry });
    }
    // prom-client's JSON form is the protocol's MetricFamily (its `type` is the string at run time).
    const defaults = ((await this.registry.getMetricsAsJSON()) as unknown as MetricFamily[]).map(withoutGaugeTotal);
    const families = [...defaults, actorStates(this.router)];
    for (const source of this.sources) families.push(...source.families());
    return families;
  }

  /** A worker: answer the primary's `metrics.wanted` from this process's `metrics` mailbox. */
  serve(): void {
    const { router } = this;
    router.register(localNameOf(metricsAddress(router.node)), {
      send: (wanted: MetricsWanted) => {
        if (wanted.type !== 'metrics.wanted') return;
        void this.families().then(
          (families) => router.send(wanted.replyTo, { type: 'metrics.report', requestId: wanted.requestId, node: router.node, families }),
          // A report that cannot be built is missing from the scrape (which says so), not a crash.
          () => router.send(wanted.replyTo, { type: 'metrics.report', requestId: wanted.requestId, node: router.node, families: [] }),
        );
      },
    });
  }
}

/** Live actors by kind and state, read from the router's mailboxes when asked (no per-event hook). */
function actorStates(router: MailboxRouter): MetricFamily {
  const { counts } = countActorStates(router);
  const values: MetricSample[] = [];
  for (const [kind, byState] of Object.entries(counts)) {
    for (const [state, value] of Object.entries(byState)) values.push({ labels: { kind, state }, value });
  }
  return gaugeFamily('balancebeam_actors', 'Live actors by kind and state (summed over processes)', values);
}

/**
 * prom-client names three gauges `nodejs_active_{handles,requests,resources}_total`, which
 * Prometheus' naming rules (and `promtool check metrics`) keep for counters: they are served
 * without the suffix.
 */
function withoutGaugeTotal(family: MetricFamily): MetricFamily {
  if (family.type !== 'gauge' || !family.name.endsWith('_total')) return family;
  const name = family.name.slice(0, -'_total'.length);
  return { ...family, name, values: family.values.map(({ metricName: _old, ...sample }) => sample) };
}
