/**
 * The visualizer's page in real headless Chromium against a running
 * balancer (in this process, its routes served as the admin server will):
 * every actor kind's chart drawn with its states, counts that follow
 * traffic, an upstream's timeline turning dead within the health interval,
 * an actor watched and its state highlighted; then the recorded trace
 * replayed, showing the counts the live feed showed at the same times.
 * A second page follows the response cache's figures through hits and the
 * WAF's through a blocked request, its secret redacted.
 */
import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { statesOf } from '../../src/admin/visualizer/chart-model.js';
import { replaySource } from '../../src/admin/visualizer/feed-source.js';
import type { FeedFrame } from '../../src/admin/visualizer/frame.js';
import { actorCharts } from '../../src/admin/visualizer/machines.js';
import { countsAt } from '../../src/admin/visualizer/page/model.js';
import { visualizerRoutes } from '../../src/admin/visualizer/routes.js';
import { startAdminServer } from '../../src/admin/server.js';
import { readTrace } from '../../src/admin/visualizer/trace-file.js';
import { upstreamAddress } from '../../src/protocol/index.js';
import { ARTIFACTS, chromiumAvailable, launchChromium } from '../helpers/chromium.js';
import { startBalancerWithAdmin } from '../helpers/admin.js';
import { httpCall } from '../helpers/client.js';
import { cacheableHandler, startUpstream } from '../helpers/upstream.js';
import { startRestartableUpstream } from '../helpers/restartable-upstream.js';
import { startVisualizedInstance } from '../helpers/visualized-instance.js';
import { waitFor } from '../helpers/wait.js';

const HEALTH_INTERVAL_S = 0.5;
const TOKEN = 'test-admin-token-0123456789';
const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));

function get(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    call.on('error', reject);
    call.end();
  });
}

const browserTest = chromiumAvailable() ? test : test.skip;

browserTest('the page draws every chart, follows traffic and health, watches an actor; the trace replays the same counts', async (t) => {
  t.timeout(50_000);
  const a = await startRestartableUpstream(t, 'a');
  const b = await startRestartableUpstream(t, 'b');
  const traceDir = mkdtempSync(join(tmpdir(), 'bb-trace-'));
  const tracePath = join(traceDir, 'feed.ndjson');
  const instance = await startVisualizedInstance(t, [
    '--upstream', a.id, '--upstream', b.id,
    '--active-health-check-interval', String(HEALTH_INTERVAL_S),
    '--max-requests-per-minute', '100000',
    '--trace-file', tracePath,
  ]);
  // What a live page received, to compare with the replay.
  const live: FeedFrame[] = [];
  const stopLive = instance.feed.collector.onFrame((frame) => live.push(frame));

  const context = await launchChromium(t);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Nothing outside the balancer is fetched: no CDN.
  const foreign: string[] = [];
  page.on('request', (sent) => {
    if (!sent.url().startsWith(instance.vizUrl)) foreign.push(sent.url());
  });
  await page.goto(`${instance.vizUrl}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });

  // Every actor kind's chart, with every one of its states.
  for (const chart of actorCharts()) {
    for (const state of statesOf(chart)) {
      const selector = `svg.chart[data-kind="${chart.kind}"] g.state[data-path="${state.path}"]`;
      t.true(await page.locator(selector).first().isVisible(), selector);
    }
  }
  await page.waitForFunction(() => document.querySelector('svg.chart[data-kind="upstream"] text.count[data-path="healthy"]')?.textContent === '2', undefined, { timeout: 5_000 });

  // Traffic over kept-alive connections: the open connections show in the connection chart.
  const agent = new Agent({ keepAlive: true, maxSockets: 3 });
  t.teardown(() => agent.destroy());
  const statuses = await Promise.all(Array.from({ length: 30 }, () => get(instance.proxyPort, agent)));
  t.true(statuses.every((status) => status === 200), statuses.join(' '));
  await page.waitForFunction(
    () => Number(document.querySelector('svg.chart[data-kind="connection"] text.count[data-path="open"]')?.textContent ?? '0') >= 1,
    undefined,
    { timeout: 5_000 },
  );
  await page.waitForFunction(() => document.querySelector('#sequence')?.textContent?.includes('rate-limit.check') === true, undefined, { timeout: 5_000 });
  await page.waitForSelector(`.upstream[data-upstream="${b.id}"] .rate canvas`, { timeout: 5_000 });

  // An upstream killed: its timeline turns dead within the health interval (plus a frame and a render).
  await a.kill();
  const killedAt = Date.now();
  await page.waitForSelector(`.upstream[data-upstream="${a.id}"][data-health="dead"]`, { timeout: HEALTH_INTERVAL_S * 1000 * 2 + 2_000 });
  t.log(`timeline dead ${Date.now() - killedAt} ms after the kill (interval ${HEALTH_INTERVAL_S * 1000} ms)`);
  t.true(await page.locator(`.upstream[data-upstream="${a.id}"] .timeline .dead`).count() >= 1);
  t.regex((await page.locator(`.upstream[data-upstream="${a.id}"] .reason`).textContent()) ?? '', /health check|connect failed/);
  await page.waitForFunction(() => document.querySelector('svg.chart[data-kind="upstream"] text.count[data-path="dead"]')?.textContent === '1', undefined, { timeout: 3_000 });

  // Click a state: its actors; click one: it is watched, its state highlighted, its context shown.
  await page.locator('svg.chart[data-kind="upstream"] g.state[data-path="dead"] > rect.box').click();
  const row = page.locator(`#actors tr.actor-row[data-actor="${upstreamAddress(a.id)}"]`);
  await row.waitFor({ timeout: 5_000 });
  t.is(await page.locator('#actors tr.actor-row').count(), 1);
  await row.click();
  await page.waitForSelector('svg.chart[data-kind="upstream"] g.state.watched[data-path="dead"]', { timeout: 5_000 });
  t.regex((await page.locator('#detail pre.context').textContent()) ?? '', new RegExp(a.id.replace(/\./g, '\\.')));
  t.is(instance.feed.collector.watchedCount, 1);
  await page.screenshot({ path: join(ARTIFACTS, 'live.png'), fullPage: true });
  // README's screenshot is refreshed on request only: a test run leaves the checkout as it found it.
  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(join(ARTIFACTS, 'live.png'), join(DOCS, 'visualizer.png'));
  }
  // Stop watching: the detailed inspection is detached.
  await page.locator('#detail button', { hasText: 'stop watching' }).click();
  await waitFor(() => instance.feed.collector.watchedCount === 0, { timeoutMs: 3_000, what: 'the watch to end with the page’s stream' });

  t.deepEqual(pageErrors, []);
  t.deepEqual(foreign, []);
  stopLive();
  await instance.stop();

  // The trace replays the counts the live page had, at the same times.
  const trace = await readTrace(tracePath);
  t.true(trace.frames.length >= live.length, `${trace.frames.length} traced, ${live.length} live`);
  t.deepEqual(trace.header.charts.map((chart) => chart.kind), actorCharts().map((chart) => chart.kind));
  for (const frame of live) t.deepEqual(countsAt(trace.frames, frame.time), frame.counts, `counts at ${frame.time}`);
  t.log(`trace: ${statSync(tracePath).size} bytes, ${trace.frames.length} frames`);

  const replay = await startAdminServer({ host: '127.0.0.1', port: 0, token: null }, visualizerRoutes({ source: replaySource(trace) }));
  t.teardown(() => replay.close());
  const replayPage = await context.newPage();
  await replayPage.goto(`http://${replay.address}/`);
  await replayPage.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
  t.true(await replayPage.locator('#replay-slider').isVisible());
  // At the moment the live page saw the dead upstream, the replay shows it too; and the same counts.
  const sample = live.find((frame) => frame.counts.upstream?.dead === 1) ?? live.at(-1)!;
  await replayPage.evaluate((time) => (globalThis as unknown as { balancebeamViz: { seek(time: number): void } }).balancebeamViz.seek(time), sample.time);
  const shown = await replayPage.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll('svg.chart text.count')].map((element) => [`${element.getAttribute('data-kind')}:${element.getAttribute('data-path')}`, element.textContent])),
  );
  t.is(shown['upstream:dead'], String(sample.counts.upstream?.dead ?? 0));
  t.is(shown['upstream:healthy'], String(sample.counts.upstream?.healthy ?? 0));
  t.is(shown['connection:open'], String(sample.counts.connection?.open ?? 0));
  // The actor watched during the recording: its recorded state, at the end of the trace.
  const end = trace.frames.at(-1)!.time;
  await replayPage.evaluate((time) => (globalThis as unknown as { balancebeamViz: { seek(time: number): void } }).balancebeamViz.seek(time), end);
  await replayPage.fill('#actor-filter', upstreamAddress(a.id));
  await replayPage.locator('#sequence tr.message-row').first().click();
  await replayPage.waitForSelector('svg.chart[data-kind="upstream"] g.state.watched[data-path="dead"]', { timeout: 5_000 });
  t.regex((await replayPage.locator('#detail .watched-state').textContent()) ?? '', /"dead"/);
  await replayPage.screenshot({ path: join(ARTIFACTS, 'replay.png'), fullPage: true });
  const stately = await fetch(`http://${replay.address}/viz/api/stately`);
  const events = (await stately.text()).trim().split('\n').map((line) => JSON.parse(line) as { type: string });
  t.true(events.some((event) => event.type === '@xstate.actor'));
  t.true(events.some((event) => event.type === '@xstate.event'));
});

browserTest('the page shows the cache (--workers 2) filling, hitting and purged, and the WAF blocking a request with its secret redacted', async (t) => {
  t.timeout(60_000);
  const origin = await startUpstream(t, {
    name: 'a',
    handler: cacheableHandler(),
  });
  // The real CLI with two workers: the figures are summed over both workers' batches; the admin API answers the page.
  const { balancer, admin } = await startBalancerWithAdmin(
    t,
    ['--upstream', origin.id, '--workers', '2', '--cache-size', '1000000', '--waf', 'block', '--active-health-check-interval', '0', '--admin-token', TOKEN],
    { token: TOKEN },
  );
  const context = await launchChromium(t);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${admin.origin}/#token=${TOKEN}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
  await page.waitForSelector('#cache[data-on="true"]', { timeout: 5_000 });
  t.is(await page.locator('#cache-hits').textContent(), '0');
  t.is(await page.locator('#waf-blocked').textContent(), '0');

  // Each worker misses once and stores; the rest are hits, whichever worker takes each connection.
  for (let n = 0; n < 6; n++) t.is((await httpCall(balancer.port, { path: '/cached' })).status, 200);
  const lookups = await page.waitForFunction(
    () => {
      const hits = Number(document.querySelector('#cache-hits')?.textContent);
      const misses = Number(document.querySelector('#cache-misses')?.textContent);
      const objects = Number(document.querySelector('#cache-totals')?.getAttribute('data-objects'));
      return hits + misses === 6 && objects === misses ? { hits, misses } : null;
    },
    undefined,
    { timeout: 5_000 },
  );
  const { hits, misses } = (await lookups.jsonValue()) as { hits: number; misses: number };
  t.true(misses >= 1 && misses <= 2 && hits >= 4, `${hits} hits, ${misses} misses`);
  t.true((await page.locator('#cache .plots canvas').count()) >= 3);

  // Purge all from the page: every worker's copy goes, and the change log shows who did it.
  await page.locator('#cache button', { hasText: 'purge all' }).click();
  await page.waitForFunction((removed) => document.querySelector('#purge-result')?.textContent === `removed ${removed}`, misses, { timeout: 5_000 });
  await page.waitForSelector('#cache-totals[data-objects="0"]', { timeout: 3_000 });
  await page.waitForFunction(() => document.querySelector('#changes')?.textContent?.includes('purge cache (all)') === true, undefined, { timeout: 5_000 });

  // A blocked injection whose value sits in a field named like a secret: the rule shows, the value does not.
  const secret = "' OR 1=1 UNION SELECT card FROM wallets--";
  const blocked = await httpCall(balancer.port, { path: `/login?password=${encodeURIComponent(secret)}` });
  t.is(blocked.status, 403);
  await page.waitForFunction(() => document.querySelector('#waf-blocked')?.textContent === '1', undefined, { timeout: 5_000 });
  t.true(Number(await page.locator('#waf-inspected').textContent()) >= 7);
  await page.locator('#waf-categories tr[data-category="sqli"]').waitFor({ timeout: 3_000 });
  const row = page.locator('#waf-recent tr.waf-flagged').first();
  await row.waitFor({ timeout: 3_000 });
  const shown = (await row.textContent()) ?? '';
  t.regex(shown, /blocked/);
  t.regex(shown, /\d{6}/, 'rule ids');
  t.regex(shown, /args:password: \[redacted, \d+ characters\]/);
  t.false((await page.content()).includes('UNION SELECT card'), 'the secret value is nowhere on the page');
  await page.screenshot({ path: join(ARTIFACTS, 'cache-waf.png'), fullPage: true });
  t.deepEqual(pageErrors, []);
});
