/**
 * The admin API (JSON): upstreams with their health, weight, drain state,
 * in-flight count and latency; drain, restore, add, remove, reweight; reload;
 * the effective configuration (secrets redacted); the change log. Every
 * change goes through the SettingsControl, so it reaches the workers as a
 * reload does, survives later reloads, and is logged with who asked; the
 * answer comes once every proxy node has confirmed it (or names those that
 * have not). The cache purge is not a setting: it is sent to every proxy
 * node's cache at once (cache-purge.ts) and logged in the same change log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/config.js';
import { parseUpstreamText, WEIGHT_RANGE } from '../config/setting-types.js';
import { LATENCY_BOUNDS_S } from '../metrics/histogram.js';
import { aggregate, type MetricsGatherer } from '../metrics/gather.js';
import type { ChangeResult, OverlayEdit, SettingsControl } from '../node/settings-control.js';
import type { Instance } from '../node/running-instance.js';
import type { MetricFamily, UpstreamTarget } from '../protocol/index.js';
import { CachePurger, readPurgeTarget } from './cache-purge.js';
import { AdminRequestError, readJsonObject, sendJson } from './json.js';
import { LatencyWindow, WINDOW_MS } from './latency-window.js';
import { redactSecrets } from './redact.js';
import type { AdminRoute } from './route.js';
import { requesterOf } from './server.js';

export interface AdminApiDeps {
  readonly instance: Instance;
  readonly control: SettingsControl;
  readonly gatherer: MetricsGatherer;
}

const UPSTREAMS = '/api/upstreams';

export function apiRoutes(deps: AdminApiDeps): AdminRoute[] {
  const { control } = deps;
  const latency = new LatencyWindow();
  const purger = new CachePurger(deps.instance.router, () => deps.instance.proxyNodes());

  const purgeCache = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = readPurgeTarget(await readJsonObject(request));
    const who = requesterOf(request);
    if (target !== null && 'error' in target) throw new AdminRequestError(400, target.error);
    const what = target === null ? 'purge cache (all)' : `purge cache ${target.host}${target.target}`;
    const result = await purger.purge(target);
    if (result.cacheOn.length === 0 && result.unconfirmed.length === 0) {
      const entry = control.changes.record(who, what, 'refused', 'the response cache is off (--cache-size)');
      sendJson(response, 409, { error: entry.detail, change: entry });
      return;
    }
    const perNode = Object.entries(result.removed).map(([node, removed]) => `${node}: ${removed}`).join(', ');
    const unanswered = result.unconfirmed.length === 0 ? '' : `; no answer from ${result.unconfirmed.join(', ')}`;
    const entry = control.changes.record(who, what, result.total > 0 ? 'applied' : 'unchanged', `removed ${result.total} (${perNode})${unanswered}`);
    sendJson(response, 200, { result: entry.result, change: entry, removed: result.total, perNode: result.removed, unconfirmed: result.unconfirmed });
  };

  const listUpstreams = async (): Promise<unknown[]> => {
    const families = (await aggregate(await deps.gatherer.gather()).getMetricsAsJSON()) as unknown as MetricFamily[];
    const inFlight = new Map<string, number>();
    for (const sample of familyNamed(families, 'balancebeam_upstream_in_flight')?.values ?? []) {
      inFlight.set(String(sample.labels.upstream), sample.value);
    }
    const now = Date.now();
    const windowed = latency.read(LATENCY_BOUNDS_S, latencyBuckets(families), now);
    const health = new Map(deps.instance.services.upstreamHealth().map((entry) => [entry.id, entry]));
    return control.running.upstreams.map((upstream) => {
      const judged = health.get(upstream.id);
      const figures = windowed.perUpstream.get(upstream.id);
      return {
        id: upstream.id,
        address: upstream.id,
        health: judged === undefined ? 'unknown' : judged.healthy ? 'healthy' : 'dead',
        reason: judged?.reason ?? null,
        healthSince: judged === undefined ? null : new Date(judged.since).toISOString(),
        weight: upstream.weight,
        draining: upstream.draining === true,
        inFlight: inFlight.get(upstream.id) ?? 0,
        latencyMs: { p50: figures?.p50Ms ?? null, p99: figures?.p99Ms ?? null, samples: figures?.samples ?? 0 },
        latencyWindowSeconds: windowed.windowMs === null ? null : Math.round(Math.min(windowed.windowMs, WINDOW_MS * 2) / 1000),
      };
    });
  };

  /** Apply an edit and answer: 200 (applied or already so), or the edit's refusal. */
  const change = async (request: IncomingMessage, response: ServerResponse, what: string, edit: OverlayEdit, created = false): Promise<void> => {
    const result = await control.edit(requesterOf(request), what, edit);
    answerChange(response, result, created);
  };

  const upstreamAction = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const { id, action } = upstreamPath(url.pathname);
    const method = request.method;
    if (method === 'POST' && action === 'drain') {
      await change(request, response, `drain ${id}`, (overlay, running) => knownUpstream(running, id) ?? (overlay.drain(id), null));
    } else if (method === 'POST' && action === 'restore') {
      await change(request, response, `restore ${id}`, (overlay, running) => knownUpstream(running, id) ?? (overlay.restore(id), null));
    } else if (method === 'DELETE' && action === null) {
      await change(request, response, `remove ${id}`, (overlay, running) => {
        const unknown = knownUpstream(running, id);
        if (unknown !== null) return unknown;
        if (running.upstreams.length === 1) return { status: 409, message: `${id} is the last upstream: it cannot be removed (drain it instead)` };
        overlay.remove(id);
        return null;
      });
    } else if (method === 'PUT' && action === 'weight') {
      const body = await readJsonObject(request);
      const weight = readWeight(body.weight);
      await change(request, response, `weight ${id} = ${weight}`, (overlay, running) => knownUpstream(running, id) ?? (overlay.setWeight(id, weight), null));
    } else {
      throw new AdminRequestError(404, `no such upstream action: ${method ?? ''} ${url.pathname} (drain, restore: POST; weight: PUT; remove: DELETE ${UPSTREAMS}/{id})`);
    }
  };

  return [
    {
      method: 'GET',
      path: UPSTREAMS,
      handle: async (_request, response) => sendJson(response, 200, { upstreams: await listUpstreams() }),
    },
    {
      method: 'POST',
      path: UPSTREAMS,
      handle: async (request, response) => {
        const target = readNewUpstream(await readJsonObject(request));
        await change(
          request,
          response,
          `add ${target.id} (weight ${target.weight})`,
          (overlay, running) => {
            if (running.upstreams.some((upstream) => upstream.id === target.id)) return { status: 409, message: `${target.id} is already an upstream` };
            overlay.add(target);
            return null;
          },
          true,
        );
      },
    },
    { method: 'POST', path: `${UPSTREAMS}/`, handle: upstreamAction },
    { method: 'PUT', path: `${UPSTREAMS}/`, handle: upstreamAction },
    { method: 'DELETE', path: `${UPSTREAMS}/`, handle: upstreamAction },
    {
      method: 'POST',
      path: '/api/reload',
      handle: async (request, response) => {
        const result = await control.reload(requesterOf(request));
        if (result.entry.result === 'failed') sendJson(response, 422, { result: 'failed', errors: result.entry.detail.split('; '), change: result.entry });
        else answerChange(response, result, false);
      },
    },
    { method: 'POST', path: '/api/cache/purge', handle: purgeCache },
    {
      method: 'GET',
      path: '/api/config',
      handle: (_request, response) =>
        sendJson(response, 200, { effective: redactSecrets(control.running), runtimeChanges: control.overlay.view() }),
    },
    {
      method: 'GET',
      path: '/api/changes',
      handle: (_request, response, url) => {
        const since = Number(url.searchParams.get('since') ?? '0');
        if (!Number.isInteger(since) || since < 0) throw new AdminRequestError(400, 'since must be a whole number (a change seq)');
        sendJson(response, 200, { changes: control.changes.since(since) });
      },
    },
  ];
}

function answerChange(response: ServerResponse, result: ChangeResult, created: boolean): void {
  const { entry, applied } = result;
  if (entry.result === 'refused') {
    sendJson(response, result.status ?? 409, { error: entry.detail, change: entry });
    return;
  }
  sendJson(response, created && entry.result === 'applied' ? 201 : 200, {
    result: entry.result,
    change: entry,
    changed: result.changed,
    ...(applied === undefined ? {} : { version: applied.version, confirmed: applied.confirmed, unconfirmed: applied.unconfirmed }),
  });
}

function familyNamed(families: readonly MetricFamily[], name: string): MetricFamily | undefined {
  return families.find((family) => family.name === name);
}

/** upstream → cumulative bucket counts in LATENCY_BOUNDS_S order, +Inf last, summed over processes. */
function latencyBuckets(families: readonly MetricFamily[]): Map<string, number[]> {
  const buckets = new Map<string, number[]>();
  const family = familyNamed(families, 'balancebeam_upstream_response_duration_seconds');
  for (const sample of family?.values ?? []) {
    if (sample.metricName !== 'balancebeam_upstream_response_duration_seconds_bucket') continue;
    const upstream = String(sample.labels.upstream);
    const counts = buckets.get(upstream) ?? new Array<number>(LATENCY_BOUNDS_S.length + 1).fill(0);
    const le = sample.labels.le;
    const index = le === '+Inf' ? LATENCY_BOUNDS_S.length : LATENCY_BOUNDS_S.indexOf(Number(le));
    if (index >= 0) counts[index] = sample.value;
    buckets.set(upstream, counts);
  }
  return buckets;
}

/** `/api/upstreams/{id}` or `/api/upstreams/{id}/{action}`, the id URL-encoded (`127.0.0.1%3A8080`) or not. */
function upstreamPath(pathname: string): { id: string; action: string | null } {
  const rest = pathname.slice(UPSTREAMS.length + 1);
  const slash = rest.lastIndexOf('/');
  const [rawId, action] = slash === -1 ? [rest, null] : [rest.slice(0, slash), rest.slice(slash + 1)];
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    throw new AdminRequestError(400, `'${rawId}' is not a valid URL-encoded upstream id`);
  }
  if (id === '') throw new AdminRequestError(404, `an upstream id (host:port) is required: ${UPSTREAMS}/{id}`);
  return { id, action };
}

function knownUpstream(running: Config, id: string): { status: number; message: string } | null {
  return running.upstreams.some((upstream) => upstream.id === id) ? null : { status: 404, message: `no upstream ${id}` };
}

function readWeight(value: unknown): number {
  const { min, max } = WEIGHT_RANGE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AdminRequestError(400, `weight must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function readNewUpstream(body: Record<string, unknown>): UpstreamTarget {
  const unknownField = Object.keys(body).find((key) => key !== 'address' && key !== 'weight');
  if (unknownField !== undefined) throw new AdminRequestError(400, `unknown field '${unknownField}' (address and weight are)`);
  if (typeof body.address !== 'string' || body.address.includes(',')) throw new AdminRequestError(400, 'address must be "host:port"');
  const read = parseUpstreamText(body.address);
  if (!read.ok) throw new AdminRequestError(400, read.problems.map((problem) => problem.message).join('; '));
  return { ...read.value, weight: body.weight === undefined ? 1 : readWeight(body.weight) };
}
