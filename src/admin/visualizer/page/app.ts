/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The visualizer page (served as /viz/app.js; no framework, no CDN). It
 * folds the feed's frames — live over /feed, or a trace's in a replay —
 * into the charts' counts, the sequence view, the upstream panels and the
 * rate limiter's figures. Clicking a state lists its actors; clicking an
 * actor watches it (detailed inspection runs only while the stream is open).
 * Every request carries the admin token the page was opened with
 * (`#token=…`) or that was typed in, as `Authorization: Bearer`.
 */
import type UPlot from 'uplot';
import type { FeedMessage, InspectionRecord, UpstreamHealthPoint } from '../../../protocol/index.js';
import type { FeedFrame } from '../frame.js';
import { countFor, frameIndexAt, healthSpans, pathsOf } from './model.js';

const UPlotConstructor = (globalThis as unknown as { uPlot: typeof UPlot }).uPlot;

interface ChartInfo {
  readonly kind: string;
  readonly svg: string;
  readonly paths: readonly string[];
}

interface ModeInfo {
  readonly mode: 'live' | 'replay';
  readonly trace?: string;
}

const PLOT_WINDOW_MS = 5 * 60_000;
const MAX_MESSAGES = 3_000;
const SHOWN_MESSAGES = 400;

const state = {
  token: '',
  mode: 'live' as 'live' | 'replay',
  frames: [] as FeedFrame[],
  /** Replay: the time shown (live: the newest frame's). */
  cursor: 0,
  playing: false,
  speed: 1,
  charts: [] as ChartInfo[],
  selectedState: null as { kind: string; path: string } | null,
  watched: null as { actor: string; kind: string; abort: AbortController } | null,
  watchedRecords: [] as InspectionRecord[],
  actorFilter: '',
  plots: new Map<string, { rate: UPlot; inFlight: UPlot; latency: UPlot }>(),
  cachePlots: null as { lookups: UPlot; fills: UPlot; held: UPlot } | null,
  wafPlots: null as { requests: UPlot } | null,
  drained: new Set<string>(),
};

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function headers(): HeadersInit {
  return state.token === '' ? {} : { authorization: `Bearer ${state.token}` };
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
  return (await response.json()) as T;
}

/** Server-sent events read with fetch, so the stream carries the Authorization header (EventSource cannot). */
async function readEvents(path: string, signal: AbortSignal, onData: (data: unknown) => void): Promise<void> {
  const response = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, signal });
  if (!response.ok || response.body === null) throw new Error(`${path}: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data !== '') onData(JSON.parse(data));
    }
  }
}

function text(tag: string, content: string, className = ''): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className !== '') element.className = className;
  return element;
}

const clock = (time: number): string => {
  const date = new Date(time);
  return `${date.toLocaleTimeString([], { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
};

// ---------------------------------------------------------------- charts

function drawCharts(): void {
  const holder = $('charts');
  holder.replaceChildren();
  for (const chart of state.charts) {
    const section = document.createElement('section');
    section.className = 'chart-section';
    section.dataset.kind = chart.kind;
    const title = text('h2', chart.kind);
    const total = text('span', '', 'total');
    total.dataset.totalFor = chart.kind;
    title.append(total);
    const wrap = document.createElement('div');
    wrap.className = 'chart-wrap';
    wrap.innerHTML = chart.svg;
    wrap.addEventListener('click', (event) => {
      const target = (event.target as Element).closest('g.state');
      if (target === null) return;
      const path = target.getAttribute('data-path') ?? '';
      void selectState(chart.kind, path);
    });
    section.append(title, wrap);
    holder.append(section);
  }
}

function showCounts(frame: FeedFrame | undefined): void {
  const counts = frame?.counts ?? {};
  for (const element of document.querySelectorAll<SVGTextElement>('svg.chart text.count')) {
    const kind = element.dataset.kind ?? '';
    const path = element.dataset.path ?? '';
    const count = countFor(counts, kind, path);
    element.textContent = frame === undefined ? '' : String(count);
    element.closest('g.state')?.classList.toggle('occupied', count > 0 && path !== '');
  }
  for (const element of document.querySelectorAll<HTMLElement>('[data-total-for]')) {
    const kind = element.dataset.totalFor ?? '';
    element.textContent = `${countFor(counts, kind, '')} live`;
  }
}

function highlightWatched(record: InspectionRecord | null): void {
  for (const element of document.querySelectorAll('svg.chart g.state.watched')) element.classList.remove('watched');
  if (record === null) return;
  const svg = document.querySelector(`svg.chart[data-kind="${CSS.escape(record.kind)}"]`);
  if (svg === null) return;
  for (const path of pathsOf(record.state)) svg.querySelector(`g.state[data-path="${CSS.escape(path)}"]`)?.classList.add('watched');
}

// ---------------------------------------------------------------- actors in a state, one actor in detail

async function selectState(kind: string, path: string): Promise<void> {
  state.selectedState = { kind, path };
  for (const element of document.querySelectorAll('svg.chart g.state.selected')) element.classList.remove('selected');
  document.querySelector(`svg.chart[data-kind="${CSS.escape(kind)}"] g.state[data-path="${CSS.escape(path)}"]`)?.classList.add('selected');
  const panel = $('actors');
  panel.replaceChildren(text('div', `${kind} in ${path === '' ? 'any state' : path}: loading…`, 'muted'));
  if (state.mode === 'replay') {
    panel.replaceChildren(text('div', 'A replay has counts, not the live actors: pick an actor from the sequence view.', 'muted'));
    return;
  }
  try {
    const listing = await getJson<{ actors: { actor: string; kind: string; state: string }[]; total: number; missing: string[] }>(
      `/viz/api/actors?kind=${encodeURIComponent(kind)}&state=${encodeURIComponent(path)}`,
    );
    const table = document.createElement('table');
    table.append(rowOf('th', ['actor', 'state']));
    for (const actor of listing.actors) {
      const row = rowOf('td', [actor.actor, actor.state]);
      row.className = 'clickable actor-row';
      row.dataset.actor = actor.actor;
      row.addEventListener('click', () => watchActor(actor.actor, actor.kind));
      table.append(row);
    }
    const caption = `${kind} in ${path === '' ? 'any state' : path}: ${listing.total}${listing.total > listing.actors.length ? ` (first ${listing.actors.length} shown)` : ''}`;
    panel.replaceChildren(text('div', caption), table);
    if (listing.missing.length > 0) panel.append(text('div', `no answer from ${listing.missing.join(', ')}`, 'error-line'));
  } catch (error) {
    panel.replaceChildren(text('div', String(error), 'error-line'));
  }
}

function rowOf(cell: 'td' | 'th', values: readonly string[], numeric: readonly number[] = []): HTMLTableRowElement {
  const row = document.createElement('tr');
  values.forEach((value, index) => row.append(text(cell, value, numeric.includes(index) ? 'num' : '')));
  return row;
}

function kindOfActor(actor: string): string {
  const name = actor.split('/')[1] ?? '';
  const known: Record<string, string> = { conn: 'connection', upstream: 'upstream', balancer: 'balancer', 'health-supervisor': 'health-supervisor', 'rate-limiter': 'rate-limiter' };
  return known[name] ?? name;
}

function watchActor(actor: string, kind: string): void {
  state.watched?.abort.abort();
  const abort = new AbortController();
  state.watched = { actor, kind, abort };
  state.watchedRecords = [];
  renderDetail();
  if (state.mode === 'replay') return;
  readEvents(`/viz/api/actor?id=${encodeURIComponent(actor)}`, abort.signal, (data) => {
    const record = data as InspectionRecord;
    state.watchedRecords.push(record);
    if (state.watchedRecords.length > 50) state.watchedRecords.shift();
    renderDetail();
  }).catch((error: unknown) => {
    if (!abort.signal.aborted) $('detail-error').textContent = String(error);
  });
}

function renderDetail(): void {
  const panel = $('detail');
  const watched = state.watched;
  if (watched === null) {
    panel.replaceChildren(text('div', 'Click a state to list its actors, then an actor to watch it.', 'muted'));
    highlightWatched(null);
    return;
  }
  // A replay has the records of actors someone watched while it was recorded, up to the slider's time.
  if (state.mode === 'replay') {
    state.watchedRecords = visibleFrames()
      .flatMap((frame) => frame.records ?? [])
      .filter((record) => record.actor === watched.actor)
      .slice(-50);
  }
  const last = state.watchedRecords.at(-1) ?? null;
  highlightWatched(last);
  const head = document.createElement('div');
  head.append(text('b', watched.actor), text('span', ` (${watched.kind}) `, 'muted'));
  const stop = text('button', 'stop watching');
  stop.addEventListener('click', () => {
    state.watched?.abort.abort();
    state.watched = null;
    renderDetail();
  });
  head.append(stop);
  const status = text(
    'div',
    last === null
      ? state.mode === 'replay'
        ? 'not watched while recorded: its router messages only'
        : 'attaching…'
      : last.event === 'watch.not-running'
        ? 'not running (it has ended)'
        : `state ${JSON.stringify(last.state)} · ${last.status}`,
    'watched-state',
  );
  const context = text('pre', last?.context === undefined ? '' : JSON.stringify(last.context, null, 2), 'context');
  const events = document.createElement('table');
  events.className = 'events';
  events.append(rowOf('th', ['time', 'event', 'state']));
  for (const record of [...state.watchedRecords].reverse()) events.append(rowOf('td', [clock(record.time), record.event, JSON.stringify(record.state)]));
  const messages = document.createElement('table');
  messages.className = 'messages';
  messages.append(rowOf('th', ['time', '', 'with', 'message']));
  for (const message of recentMessages().filter((m) => m[1] === watched.actor || m[2] === watched.actor).slice(-20).reverse()) {
    const incoming = message[2] === watched.actor;
    messages.append(rowOf('td', [clock(message[0]), incoming ? '←' : '→', incoming ? message[1] : message[2], message[3]]));
  }
  panel.replaceChildren(head, status, text('div', 'context', 'muted'), context, text('div', 'events (while watched)', 'muted'), events, text('div', 'router messages', 'muted'), messages, text('div', '', 'error-line'));
  (panel.lastElementChild as HTMLElement).id = 'detail-error';
}

// ---------------------------------------------------------------- sequence view

function visibleFrames(): FeedFrame[] {
  if (state.mode === 'live') return state.frames;
  return state.frames.slice(0, frameIndexAt(state.frames, state.cursor) + 1);
}

function recentMessages(): FeedMessage[] {
  const frames = visibleFrames();
  const messages: FeedMessage[] = [];
  for (let i = frames.length - 1; i >= 0 && messages.length < MAX_MESSAGES; i--) {
    const list = (frames[i] as FeedFrame).messages;
    for (let j = list.length - 1; j >= 0 && messages.length < MAX_MESSAGES; j--) messages.push(list[j] as FeedMessage);
  }
  return messages.reverse();
}

function renderSequence(): void {
  const filter = state.actorFilter.trim();
  const rows = recentMessages().filter((m) => filter === '' || m[1].includes(filter) || m[2].includes(filter) || m[3].includes(filter));
  const table = document.createElement('table');
  table.append(rowOf('th', ['time', 'from', '', 'to', 'message']));
  for (const message of rows.slice(-SHOWN_MESSAGES).reverse()) {
    const row = rowOf('td', [clock(message[0]), message[1], '→', message[2], message[3]]);
    row.className = 'clickable message-row';
    row.addEventListener('click', () => {
      const actor = message[2].includes('/conn/') || message[2].includes('/upstream/') ? message[2] : message[1];
      watchActor(actor, kindOfActor(actor));
    });
    table.append(row);
  }
  $('sequence').replaceChildren(table);
  $('sequence-count').textContent = `${rows.length} messages${filter === '' ? '' : ` matching “${filter}”`}`;
}

// ---------------------------------------------------------------- upstreams

function allHealthPoints(frames: readonly FeedFrame[]): UpstreamHealthPoint[] {
  return frames.flatMap((frame) => frame.health);
}

function plotOptions(title: string, series: { label: string; stroke: string; sparse?: boolean }[], width: number): UPlot.Options {
  return {
    width,
    height: 96,
    legend: { show: false },
    cursor: { show: true },
    scales: { x: { time: true } },
    axes: [{ size: 22, font: '10px sans-serif', stroke: '#666' }, { size: 36, font: '10px sans-serif', stroke: '#666' }],
    // Latency has no value in a frame without requests: the line spans such gaps, and points show lone values.
    series: [{}, ...series.map((entry) => ({ label: entry.label, stroke: entry.stroke, width: 1.5, spanGaps: entry.sparse === true, points: { show: entry.sparse === true, size: 3 } }))],
    title,
  };
}

function renderUpstreams(): void {
  const frames = visibleFrames();
  const last = frames.at(-1);
  const holder = $('upstreams');
  if (last === undefined) {
    holder.replaceChildren(text('div', 'waiting for the feed…', 'muted'));
    return;
  }
  const end = last.time;
  // The last minutes, or since the first frame when there are fewer.
  const start = Math.max(end - PLOT_WINDOW_MS, frames[0]?.time ?? end);
  const span = Math.max(1, end - start);
  const points = allHealthPoints(frames);
  const ids = Object.keys(last.upstreams);
  for (const id of [...state.plots.keys()]) {
    if (!ids.includes(id)) {
      document.getElementById(`upstream-${CSS.escape(id)}`)?.remove();
      state.plots.delete(id);
    }
  }
  const recent = frames.filter((frame) => frame.time >= start);
  const times = recent.map((frame) => frame.time / 1000);
  for (const id of ids) {
    const figures = last.upstreams[id];
    if (figures === undefined) continue;
    let block = document.getElementById(`upstream-${id}`);
    if (block === null) {
      block = document.createElement('div');
      block.className = 'upstream';
      block.id = `upstream-${id}`;
      block.dataset.upstream = id;
      block.innerHTML = `<div class="head"><code></code><span class="pill"></span><span class="reason muted"></span><span class="buttons"><button class="drain">drain</button><button class="restore">restore</button></span></div>
        <div class="timeline"></div><div class="timeline-caption"><span class="from"></span><span class="now"></span></div>
        <div class="plots"><div class="rate"></div><div class="inflight"></div><div class="latency"></div></div><div class="control-result muted"></div>`;
      (block.querySelector('code') as HTMLElement).textContent = id;
      (block.querySelector('button.drain') as HTMLElement).addEventListener('click', () => void control(id, 'drain'));
      (block.querySelector('button.restore') as HTMLElement).addEventListener('click', () => void control(id, 'restore'));
      holder.append(block);
      const width = Math.max(120, Math.floor((holder.clientWidth - 24) / 3));
      const empty: UPlot.AlignedData = [[], []];
      state.plots.set(id, {
        rate: new UPlotConstructor(plotOptions('requests/s', [{ label: 'req/s', stroke: '#1463d6' }], width), empty, block.querySelector('.rate') as HTMLElement),
        inFlight: new UPlotConstructor(plotOptions('in flight', [{ label: 'in flight', stroke: '#7a2e9a' }], width), empty, block.querySelector('.inflight') as HTMLElement),
        latency: new UPlotConstructor(
          plotOptions('latency ms (p50 green, p99 red)', [{ label: 'p50', stroke: '#2e7d32', sparse: true }, { label: 'p99', stroke: '#c62828', sparse: true }], width),
          [[], [], []],
          block.querySelector('.latency') as HTMLElement,
        ),
      });
    }
    const pill = block.querySelector('.pill') as HTMLElement;
    const draining = state.drained.has(id);
    const health = figures.healthy === null ? 'unknown' : figures.healthy ? 'healthy' : 'dead';
    pill.className = `pill ${draining ? 'draining' : health}`;
    pill.textContent = draining ? `${health}, draining` : health;
    block.dataset.health = health;
    (block.querySelector('.reason') as HTMLElement).textContent = figures.reason;
    const timeline = block.querySelector('.timeline') as HTMLElement;
    const spans = healthSpans(points, id, start, end);
    const width = span;
    timeline.replaceChildren(
      ...spans.map((span) => {
        const part = document.createElement('div');
        part.className = span.healthy ? 'healthy' : 'dead';
        part.style.width = `${(100 * (span.to - span.from)) / width}%`;
        part.title = `${span.healthy ? 'healthy' : 'dead'} from ${clock(span.from)}: ${span.reason}`;
        return part;
      }),
    );
    const covered = spans.reduce((sum, part) => sum + part.to - part.from, 0);
    if (covered < span) timeline.prepend(Object.assign(document.createElement('div'), { style: `width:${(100 * (span - covered)) / span}%` }));
    (block.querySelector('.from') as HTMLElement).textContent = clock(start);
    (block.querySelector('.now') as HTMLElement).textContent = clock(end);
    const plots = state.plots.get(id);
    if (plots === undefined) continue;
    const of = (frame: FeedFrame) => frame.upstreams[id];
    plots.rate.setData([times, recent.map((frame) => ((of(frame)?.finished ?? 0) * 1000) / frame.intervalMs)]);
    plots.inFlight.setData([times, recent.map((frame) => of(frame)?.inFlight ?? 0)]);
    plots.latency.setData([times, recent.map((frame) => of(frame)?.p50 ?? null), recent.map((frame) => of(frame)?.p99 ?? null)]);
  }
}

async function control(id: string, action: 'drain' | 'restore'): Promise<void> {
  const block = document.getElementById(`upstream-${id}`);
  const result = block?.querySelector('.control-result');
  if (state.mode === 'replay') {
    if (result) result.textContent = 'a replay changes nothing';
    return;
  }
  try {
    const response = await fetch(`/api/upstreams/${encodeURIComponent(id)}/${action}`, { method: 'POST', headers: headers() });
    if (result) result.textContent = response.ok ? `${action}: done` : response.status === 401 ? `${action}: the admin token is missing or wrong` : `${action}: ${response.status} ${await response.text()}`;
    if (response.ok) void refreshUpstreamList();
  } catch (error) {
    if (result) result.textContent = `${action}: ${String(error)}`;
  }
}

/** The admin API's view of the upstreams: which are drained (another branch serves it; absent is fine). */
async function refreshUpstreamList(): Promise<void> {
  try {
    const listing = await getJson<{ upstreams?: { id: string; draining?: boolean; drained?: boolean }[] } | { id: string; draining?: boolean; drained?: boolean }[]>('/api/upstreams');
    const list = Array.isArray(listing) ? listing : (listing.upstreams ?? []);
    state.drained = new Set(list.filter((upstream) => upstream.draining === true || upstream.drained === true).map((upstream) => upstream.id));
  } catch {
    // No admin API (a replay, or an admin server without it): nothing is drained as far as the page knows.
  }
}

const shown = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

async function refreshChanges(): Promise<void> {
  const panel = $('changes');
  if (state.mode === 'replay') {
    panel.replaceChildren(text('div', 'not recorded in a trace', 'muted'));
    return;
  }
  try {
    const listing = await getJson<unknown>('/api/changes');
    const list = (Array.isArray(listing) ? listing : ((listing as { changes?: unknown[] }).changes ?? [])) as Record<string, unknown>[];
    const table = document.createElement('table');
    table.append(rowOf('th', ['when', 'who', 'what']));
    for (const change of list.slice(-30).reverse()) {
      const when = change.time ?? change.at ?? change.when ?? '';
      table.append(rowOf('td', [typeof when === 'number' ? clock(when) : shown(when), shown(change.who ?? change.actor ?? ''), shown(change.what ?? change.action ?? change)]));
    }
    panel.replaceChildren(list.length === 0 ? text('div', 'no changes yet', 'muted') : table);
  } catch (error) {
    panel.replaceChildren(text('div', String(error).includes('401') ? 'needs the admin token' : 'the admin API is not available', 'muted'));
  }
}

// ---------------------------------------------------------------- rate limiter, header

function renderRateLimit(): void {
  const frames = visibleFrames().filter((frame, _index, all) => frame.time >= (all.at(-1)?.time ?? 0) - 60_000);
  let checks = 0;
  let denials = 0;
  const clients = new Map<string, [number, number]>();
  for (const frame of frames) {
    checks += frame.rateLimit.checks;
    denials += frame.rateLimit.denials;
    for (const [client, c, d] of frame.rateLimit.top) {
      const tally = clients.get(client) ?? [0, 0];
      tally[0] += c;
      tally[1] += d;
      clients.set(client, tally);
    }
  }
  const table = document.createElement('table');
  table.append(rowOf('th', ['client', 'checks', 'denied'], [1, 2]));
  for (const [client, [c, d]] of [...clients.entries()].sort((a, b) => b[1][1] - a[1][1] || b[1][0] - a[1][0]).slice(0, 10)) table.append(rowOf('td', [client, String(c), String(d)], [1, 2]));
  $('rate-limit').replaceChildren(text('div', `last minute: ${checks} checks, ${denials} denied`), table);
}

// ---------------------------------------------------------------- cache and WAF

/** The frames of the plots' window: the last minutes, or since the first frame. */
function plotWindow(frames: readonly FeedFrame[]): { recent: FeedFrame[]; times: number[] } {
  const end = frames.at(-1)?.time ?? 0;
  const start = Math.max(end - PLOT_WINDOW_MS, frames[0]?.time ?? end);
  const recent = frames.filter((frame) => frame.time >= start);
  return { recent, times: recent.map((frame) => frame.time / 1000) };
}

const perSecond = (count: number, frame: FeedFrame): number => (count * 1000) / frame.intervalMs;

function plotsIn(holder: HTMLElement, count: number): HTMLElement[] {
  const plots = document.createElement('div');
  plots.className = 'plots';
  const cells = Array.from({ length: count }, () => document.createElement('div'));
  plots.append(...cells);
  holder.append(plots);
  return cells;
}

function plotWidth(holder: HTMLElement): number {
  return Math.max(120, Math.floor((holder.clientWidth - 24) / 3));
}

const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;

function renderCache(): void {
  const frames = visibleFrames();
  const holder = $('cache');
  const last = frames.at(-1);
  if (last?.cache === undefined || last.cache === null) {
    if (state.cachePlots !== null) {
      for (const plot of Object.values(state.cachePlots)) plot.destroy();
      state.cachePlots = null;
    }
    holder.dataset.on = 'false';
    holder.replaceChildren(text('div', last === undefined ? 'waiting for the feed…' : 'no response cache (--cache-size)', 'muted'));
    return;
  }
  if (state.cachePlots === null) {
    holder.replaceChildren();
    const totals = text('div', '', 'totals');
    totals.id = 'cache-totals';
    holder.append(totals, purgeControls());
    const [lookups, fills, held] = plotsIn(holder, 3) as [HTMLElement, HTMLElement, HTMLElement];
    const width = plotWidth(holder);
    state.cachePlots = {
      lookups: new UPlotConstructor(
        plotOptions('lookups/s (hit green, miss red, stale orange)', [{ label: 'hit', stroke: '#2e7d32' }, { label: 'miss', stroke: '#c62828' }, { label: 'stale', stroke: '#c25f00' }], width),
        [[], [], [], []],
        lookups,
      ),
      fills: new UPlotConstructor(
        plotOptions('stored, revalidated, coalesced /s', [{ label: 'stored', stroke: '#1463d6' }, { label: 'revalidated', stroke: '#7a2e9a' }, { label: 'coalesced', stroke: '#8a95a5' }], width),
        [[], [], [], []],
        fills,
      ),
      held: new UPlotConstructor(plotOptions('objects held', [{ label: 'objects', stroke: '#1d2430' }], width), [[], []], held),
    };
  }
  holder.dataset.on = 'true';
  const { recent, times } = plotWindow(frames);
  const of = (frame: FeedFrame) => frame.cache ?? null;
  const rate = (pick: (cache: NonNullable<FeedFrame['cache']>) => number) =>
    recent.map((frame) => {
      const cache = of(frame);
      return cache === null ? null : perSecond(pick(cache), frame);
    });
  state.cachePlots.lookups.setData([times, rate((c) => c.hits), rate((c) => c.misses), rate((c) => c.stale)]);
  state.cachePlots.fills.setData([times, rate((c) => c.stored), rate((c) => c.revalidated), rate((c) => c.coalesced)]);
  state.cachePlots.held.setData([times, recent.map((frame) => of(frame)?.objects ?? null)]);
  // Over the plotted window: what the lookups came to.
  let hits = 0;
  let misses = 0;
  let stale = 0;
  for (const frame of recent) {
    hits += frame.cache?.hits ?? 0;
    misses += frame.cache?.misses ?? 0;
    stale += frame.cache?.stale ?? 0;
  }
  const totals = $('cache-totals');
  totals.replaceChildren(
    text('span', `${last.cache.objects} objects, ${formatBytes(last.cache.bytes)} held · since ${clock(recent[0]?.time ?? last.time)}: `),
    Object.assign(text('b', String(hits)), { id: 'cache-hits' }),
    text('span', ' hits, '),
    Object.assign(text('b', String(misses)), { id: 'cache-misses' }),
    text('span', ' misses, '),
    Object.assign(text('b', String(stale)), { id: 'cache-stale' }),
    text('span', ' stale'),
  );
  totals.dataset.objects = String(last.cache.objects);
}

/** A URL (or everything) purged from every worker's cache through the admin API, with the token. */
function purgeControls(): HTMLElement {
  const form = document.createElement('div');
  form.className = 'filter purge';
  const url = Object.assign(document.createElement('input'), { id: 'purge-url', placeholder: 'http://host/path to purge from every worker' });
  const one = text('button', 'purge');
  const all = text('button', 'purge all');
  const result = text('span', '', 'muted');
  result.id = 'purge-result';
  const purge = async (body: unknown): Promise<void> => {
    if (state.mode === 'replay') {
      result.textContent = 'a replay changes nothing';
      return;
    }
    try {
      const response = await fetch('/api/cache/purge', { method: 'POST', headers: { ...headers(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = (await response.json()) as { removed?: number; error?: string };
      result.textContent = response.ok ? `removed ${answer.removed ?? 0}` : response.status === 401 ? 'the admin token is missing or wrong' : `${response.status}: ${answer.error ?? ''}`;
      if (response.ok) void refreshChanges();
    } catch (error) {
      result.textContent = String(error);
    }
  };
  one.addEventListener('click', () => void purge({ url: url.value.trim() }));
  all.addEventListener('click', () => void purge({ all: true }));
  form.append(url, one, all, result);
  return form;
}

function renderWaf(): void {
  const frames = visibleFrames();
  const holder = $('waf');
  const last = frames.at(-1);
  if (last?.waf === undefined || last.waf === null) {
    if (state.wafPlots !== null) {
      state.wafPlots.requests.destroy();
      state.wafPlots = null;
    }
    holder.replaceChildren(text('div', last === undefined ? 'waiting for the feed…' : 'no web application firewall (--waf)', 'muted'));
    return;
  }
  if (state.wafPlots === null) {
    holder.replaceChildren();
    const totals = text('div', '', 'totals');
    totals.id = 'waf-totals';
    const categories = document.createElement('div');
    categories.id = 'waf-categories';
    const blocked = document.createElement('div');
    blocked.id = 'waf-recent';
    blocked.className = 'scroll';
    holder.append(totals);
    const [requests] = plotsIn(holder, 1) as [HTMLElement];
    (requests.parentElement as HTMLElement).classList.add('single');
    state.wafPlots = {
      requests: new UPlotConstructor(
        plotOptions('inspected (blue), blocked (red), detected (orange) /s', [{ label: 'inspected', stroke: '#1463d6' }, { label: 'blocked', stroke: '#c62828' }, { label: 'detected', stroke: '#c25f00' }], Math.max(240, holder.clientWidth - 24)),
        [[], [], [], []],
        requests,
      ),
    };
    holder.append(categories, text('div', 'last flagged requests', 'muted'), blocked);
  }
  const { recent, times } = plotWindow(frames);
  const rate = (pick: (waf: NonNullable<FeedFrame['waf']>) => number) =>
    recent.map((frame) => {
      const waf = frame.waf ?? null;
      return waf === null ? null : perSecond(pick(waf), frame);
    });
  state.wafPlots.requests.setData([times, rate((w) => w.inspected), rate((w) => w.blocked), rate((w) => w.detected)]);
  let inspected = 0;
  let blocked = 0;
  let detected = 0;
  const byCategory = new Map<string, number>();
  for (const frame of recent) {
    const waf = frame.waf ?? null;
    if (waf === null) continue;
    inspected += waf.inspected;
    blocked += waf.blocked;
    detected += waf.detected;
    for (const [category, count] of Object.entries(waf.byCategory)) byCategory.set(category, (byCategory.get(category) ?? 0) + count);
  }
  const totals = $('waf-totals');
  totals.replaceChildren(
    text('span', `since ${clock(recent[0]?.time ?? last.time)}: `),
    Object.assign(text('b', String(inspected)), { id: 'waf-inspected' }),
    text('span', ' inspected, '),
    Object.assign(text('b', String(blocked)), { id: 'waf-blocked' }),
    text('span', ' blocked, '),
    Object.assign(text('b', String(detected)), { id: 'waf-detected' }),
    text('span', ' detected'),
  );
  const categories = document.createElement('table');
  categories.append(rowOf('th', ['category', 'flagged'], [1]));
  for (const [category, count] of [...byCategory.entries()].sort((a, b) => b[1] - a[1])) {
    const row = rowOf('td', [category, String(count)], [1]);
    row.dataset.category = category;
    categories.append(row);
  }
  $('waf-categories').replaceChildren(byCategory.size === 0 ? text('div', 'nothing flagged in the window', 'muted') : categories);
  const flagged = frames.flatMap((frame) => frame.waf?.recent ?? []).slice(-20).reverse();
  const list = document.createElement('table');
  list.append(rowOf('th', ['time', 'action', 'rules', 'category', 'matched']));
  for (const request of flagged) {
    const row = rowOf('td', [clock(request.time), request.action, request.rules.join(','), request.categories.join(','), request.parts.join(' | ')]);
    row.className = 'waf-flagged';
    row.title = `request id ${request.requestId} in ${request.node}, score ${request.score}\n${request.parts.join('\n')}`;
    list.append(row);
  }
  $('waf-recent').replaceChildren(flagged.length === 0 ? text('div', 'none yet', 'muted') : list);
}

function renderHeader(): void {
  const frames = visibleFrames();
  const last = frames.at(-1);
  $('status').innerHTML = '';
  const status = $('status');
  status.append(
    text('span', state.mode === 'replay' ? 'replay · ' : 'live · '),
    text('b', last === undefined ? '—' : clock(last.time)),
    text('span', ` · processes ${last?.nodes.join(' ') ?? '—'}`),
  );
  const dropped = last?.droppedTotal ?? 0;
  const drops = $('drops');
  drops.textContent = `sampling dropped ${dropped} router messages${last !== undefined && last.dropped > 0 ? ` (+${last.dropped} now)` : ''}`;
  drops.className = dropped === 0 ? 'drops none' : 'drops';
}

function render(): void {
  const frames = visibleFrames();
  showCounts(frames.at(-1));
  renderHeader();
  renderSequence();
  renderUpstreams();
  renderRateLimit();
  renderCache();
  renderWaf();
  if (state.watched !== null && state.mode === 'replay') renderDetail();
}

// ---------------------------------------------------------------- live and replay

let renderQueued = false;
function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function startLive(): void {
  const connect = (): void => {
    const abort = new AbortController();
    readEvents('/feed', abort.signal, (data) => {
      const frame = data as FeedFrame;
      if (frame.type !== 'frame') return;
      state.frames.push(frame);
      const oldest = frame.time - 10 * 60_000;
      while (state.frames.length > 0 && (state.frames[0] as FeedFrame).time < oldest) state.frames.shift();
      state.cursor = frame.time;
      queueRender();
    })
      .catch((error: unknown) => {
        $('feed-error').textContent = `feed: ${String(error)}; reconnecting`;
      })
      .finally(() => setTimeout(connect, 1000));
  };
  connect();
  setInterval(() => void refreshChanges(), 3000);
  setInterval(() => void refreshUpstreamList(), 2000);
  void refreshChanges();
  void refreshUpstreamList();
}

function startReplay(): void {
  const bar = $('replay');
  bar.hidden = false;
  const slider = $<HTMLInputElement>('replay-slider');
  const first = state.frames[0]?.time ?? 0;
  const last = state.frames.at(-1)?.time ?? 0;
  slider.min = String(first);
  slider.max = String(last);
  slider.step = '100';
  state.cursor = last;
  slider.value = String(last);
  const label = $('replay-time');
  const show = (): void => {
    label.textContent = `${clock(state.cursor)} (${Math.round((state.cursor - first) / 100) / 10} s of ${Math.round((last - first) / 100) / 10} s)`;
    slider.value = String(state.cursor);
    render();
  };
  slider.addEventListener('input', () => {
    state.cursor = Number(slider.value);
    show();
  });
  const play = $('replay-play');
  play.addEventListener('click', () => {
    state.playing = !state.playing;
    play.textContent = state.playing ? 'pause' : 'play';
    if (state.playing && state.cursor >= last) state.cursor = first;
  });
  $<HTMLSelectElement>('replay-speed').addEventListener('change', (event) => {
    state.speed = Number((event.target as HTMLSelectElement).value);
  });
  let previous = performance.now();
  const tick = (now: number): void => {
    const elapsed = now - previous;
    previous = now;
    if (state.playing) {
      state.cursor = Math.min(last, state.cursor + elapsed * state.speed);
      if (state.cursor >= last) {
        state.playing = false;
        play.textContent = 'play';
      }
      show();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  show();
  void refreshChanges();
}

/** For tests and the console: what the page shows. */
(globalThis as unknown as { balancebeamViz: unknown }).balancebeamViz = {
  state,
  seek: (time: number) => {
    state.cursor = time;
    render();
  },
};

async function main(): Promise<void> {
  const fromHash = /(?:^|[#&])token=([^&]+)/.exec(location.hash)?.[1];
  state.token = fromHash !== undefined ? decodeURIComponent(fromHash) : (sessionStorage.getItem('balancebeam-admin-token') ?? '');
  const tokenInput = $<HTMLInputElement>('token');
  tokenInput.value = state.token;
  tokenInput.addEventListener('change', () => {
    state.token = tokenInput.value.trim();
    sessionStorage.setItem('balancebeam-admin-token', state.token);
  });
  $<HTMLInputElement>('actor-filter').addEventListener('input', (event) => {
    state.actorFilter = (event.target as HTMLInputElement).value;
    renderSequence();
  });
  try {
    const mode = await getJson<ModeInfo>('/viz/api/mode');
    state.mode = mode.mode;
    state.charts = await getJson<ChartInfo[]>('/viz/api/charts');
    drawCharts();
    state.frames = (await getJson<{ frames: FeedFrame[] }>('/viz/api/history')).frames;
    renderDetail();
    if (state.mode === 'replay') startReplay();
    else {
      render();
      startLive();
    }
    document.body.dataset.ready = 'true';
  } catch (error) {
    $('feed-error').textContent = String(error).includes('401') ? 'The admin token is missing or wrong: type it in the box above and reload.' : String(error);
  }
}

void main();
