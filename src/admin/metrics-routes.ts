/** `GET /metrics`: every process's figures, gathered and aggregated (metrics/gather.ts), in Prometheus' text format. */
import { aggregate, type MetricsGatherer } from '../metrics/gather.js';
import type { AdminRoute } from './route.js';

export function metricsRoutes(deps: { readonly gatherer: MetricsGatherer }): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handle: async (_request, response) => {
        const registry = aggregate(await deps.gatherer.gather());
        const text = await registry.metrics();
        response.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        response.end(text);
      },
    },
  ];
}
