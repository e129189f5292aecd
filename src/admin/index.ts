/**
 * The admin server assembled: its routes from every source, in one list:
 * the API (`/api/`), `/metrics`, and the visualizer (`/`, `/feed`, `/viz/`),
 * which reads the instance's feed. What a route source can read from `deps`:
 * `instance.router` (the primary's; workers are reached through it),
 * `instance.proxyNodes()` (`['p']`, or the live `w1`…`wN`), `instance.workerNodes()`
 * ([] with --workers 1), `instance.services.upstreamHealth()`, `control.changes`
 * (the change log), `gatherer.gather()` (every process's metrics).
 */
import type { AdminSettings } from '../protocol/index.js';
import { MetricsGatherer } from '../metrics/gather.js';
import type { Instance } from '../node/running-instance.js';
import type { SettingsControl } from '../node/settings-control.js';
import { apiRoutes, type AdminApiDeps } from './api-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { visualizerRoutes } from './visualizer/routes.js';
import type { AdminRoute } from './route.js';
import { startAdminServer, type AdminServer } from './server.js';

export type AdminDeps = AdminApiDeps;

export function adminRoutes(deps: AdminDeps): AdminRoute[] {
  return [
    ...apiRoutes(deps),
    ...metricsRoutes(deps),
    // The page, its assets under /viz/, the live feed (/feed) and its own JSON (/viz/api/).
    ...(deps.instance.feed === null ? [] : visualizerRoutes({ source: deps.instance.feed })),
  ];
}

/** Starts the admin server for a running instance (the primary process); rejects when it cannot listen. */
export async function startAdmin(settings: AdminSettings, instance: Instance, control: SettingsControl): Promise<AdminServer> {
  if (instance.metrics === null) throw new Error('the instance was started without the admin server');
  const gatherer = new MetricsGatherer(instance.router, instance.metrics, () => instance.workerNodes());
  return startAdminServer(settings, adminRoutes({ instance, control, gatherer }));
}
