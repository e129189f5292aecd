/**
 * The visualizer's routes, for the admin server (src/admin/route.ts):
 *
 *   GET /                  the page
 *   GET /feed              the live frames, as server-sent events
 *   GET /viz/…             the page's script, stylesheet and uPlot (shipped in the package, no CDN)
 *   GET /viz/api/mode      live or replay
 *   GET /viz/api/charts    every actor kind's chart, as SVG laid out once at start
 *   GET /viz/api/history   the frames kept (live: the last minutes; replay: the whole trace)
 *   GET /viz/api/actors?kind=K&state=PATH   the actors of a kind in a state, from every process
 *   GET /viz/api/actor?id=ADDRESS           one actor's detailed records (SSE), inspected only while open
 *   GET /viz/api/stately   the frames as the Stately inspector's events (NDJSON)
 *
 * The admin server checks the token before any route runs.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminRoute } from '../route.js';
import { layoutChart } from './chart-layout.js';
import { statesOf } from './chart-model.js';
import { chartSvg } from './chart-svg.js';
import type { FeedSource } from './feed-source.js';
import { PAGE_HTML } from './page/html.js';
import { PAGE_CSS } from './page/style.js';
import { EventStream } from './sse.js';
import { toStatelyEvents } from './stately-export.js';

export interface VisualizerDeps {
  readonly source: FeedSource;
}

const PAGE_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), 'page');
const UPLOT_DIRECTORY = dirname(dirname(createRequire(import.meta.url).resolve('uplot')));

/** The files under /viz/ and where they are: the page's compiled modules, and uPlot with its licence. */
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  'app.js': { file: join(PAGE_DIRECTORY, 'app.js'), type: 'text/javascript' },
  'model.js': { file: join(PAGE_DIRECTORY, 'model.js'), type: 'text/javascript' },
  'uplot.js': { file: join(UPLOT_DIRECTORY, 'dist', 'uPlot.iife.min.js'), type: 'text/javascript' },
  'uplot.css': { file: join(UPLOT_DIRECTORY, 'dist', 'uPlot.min.css'), type: 'text/css' },
  'uplot-LICENSE.txt': { file: join(UPLOT_DIRECTORY, 'LICENSE'), type: 'text/plain' },
};

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(body);
}

const sendJson = (response: ServerResponse, status: number, value: unknown): void => send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));

export function visualizerRoutes(deps: VisualizerDeps): AdminRoute[] {
  const { source } = deps;
  // Laid out once: the charts do not change while the process runs.
  const charts = source.charts.map((chart) => ({
    kind: chart.kind,
    svg: chartSvg(layoutChart(chart)),
    paths: statesOf(chart).map((state) => state.path),
  }));
  const definitions = new Map(Object.entries(source.definitions));
  const assetCache = new Map<string, Buffer>();

  const serveAsset = async (name: string, response: ServerResponse): Promise<void> => {
    if (name === 'style.css') return send(response, 200, 'text/css; charset=utf-8', PAGE_CSS);
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (asset === undefined) return sendJson(response, 404, { error: `no such file: /viz/${name}` });
    let body = assetCache.get(name);
    if (body === undefined) {
      try {
        body = await readFile(asset.file);
      } catch (error) {
        return sendJson(response, 500, { error: `cannot read ${name}: ${(error as Error).message}` });
      }
      assetCache.set(name, body);
    }
    send(response, 200, `${asset.type}; charset=utf-8`, body);
  };

  const api = async (name: string, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    switch (name) {
      case 'mode':
        return sendJson(response, 200, { mode: source.mode });
      case 'charts':
        return sendJson(response, 200, charts);
      case 'history':
        return sendJson(response, 200, { frames: source.history() });
      case 'actors': {
        const kind = url.searchParams.get('kind');
        if (kind === null || kind === '') return sendJson(response, 400, { error: 'kind is required: /viz/api/actors?kind=connection&state=open' });
        const state = url.searchParams.get('state');
        const limit = Number(url.searchParams.get('limit') ?? '200');
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return sendJson(response, 400, { error: 'limit must be a whole number from 1 to 10000' });
        return sendJson(response, 200, await source.listActors(kind, state === null || state === '' ? null : state, limit));
      }
      case 'actor': {
        const id = url.searchParams.get('id');
        if (id === null || !/^[^/\s]+\/\S+$/.test(id)) return sendJson(response, 400, { error: 'id must be an actor address, e.g. p/upstream/127.0.0.1:8080' });
        let stop: () => void = () => {};
        const stream = new EventStream(response, () => stop());
        stop = source.watch(id, (record) => stream.send(record));
        request.on('close', () => stop());
        return;
      }
      case 'stately': {
        const events = toStatelyEvents(source.history(), definitions);
        response.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-disposition': 'attachment; filename="balancebeam-stately.ndjson"' });
        response.end(events.map((event) => JSON.stringify(event)).join('\n') + (events.length > 0 ? '\n' : ''));
        return;
      }
      default:
        return sendJson(response, 404, { error: `no such endpoint: /viz/api/${name}` });
    }
  };

  return [
    { method: 'GET', path: '/', public: true, handle: (_request, response) => send(response, 200, 'text/html; charset=utf-8', PAGE_HTML) },
    {
      method: 'GET',
      path: '/feed',
      handle: (request, response) => {
        let stop: () => void = () => {};
        const stream = new EventStream(response, () => stop());
        stop = source.onFrame((frame) => stream.send(frame));
        request.on('close', () => stop());
      },
    },
    {
      method: 'GET',
      path: '/viz/api/',
      handle: (request, response, url) => api(url.pathname.slice('/viz/api/'.length), request, response, url),
    },
    // The page's script, styles and uPlot: no data in them, so no token (the page sends it on /feed and /viz/api/).
    { method: 'GET', path: '/viz/', public: true, handle: (_request, response, url) => serveAsset(url.pathname.slice('/viz/'.length), response) },
  ];
}
