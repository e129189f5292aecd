/**
 * The visualizer mounted on the admin server of the real CLI: with a token,
 * the page and its static files are served without it (a browser cannot send
 * one when it navigates, and they hold no data), while the live feed and
 * the visualizer's JSON need it like every other admin endpoint; the feed
 * then carries frames merged from every worker.
 */
import test from 'ava';
import { startBalancerWithAdmin } from '../helpers/admin.js';
import { startUpstream } from '../helpers/upstream.js';
import { withDeadline } from '../helpers/wait.js';

const TOKEN = 'visualizer-token-0123456789';

test('the page is public, the feed and its data need the token; the feed streams frames from both workers', async (t) => {
  const upstream = await startUpstream(t, { name: 'a' });
  const { admin } = await startBalancerWithAdmin(t, ['--upstream', upstream.id, '--workers', '2', '--admin-token', TOKEN, '--active-health-check-interval', '0']);

  const page = await admin.call('GET', '/');
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  for (const asset of ['/viz/app.js', '/viz/style.css', '/viz/uplot.js']) t.is((await admin.call('GET', asset)).status, 200, asset);

  for (const path of ['/feed', '/viz/api/charts', '/viz/api/history', '/api/upstreams']) {
    t.is((await admin.call('GET', path)).status, 401, `${path} without the token`);
  }
  t.is((await admin.call('GET', '/viz/nothing-here')).status, 404, 'an unknown asset is a 404, and says nothing else');
  t.is((await admin.call('GET', '/elsewhere')).status, 401, 'an unknown path is not public');
  t.is((await admin.call('POST', '/viz/app.js')).status, 401, 'only GET of a public file skips the token');

  const charts = await admin.call('GET', '/viz/api/charts', { token: TOKEN });
  t.is(charts.status, 200);
  t.true(Array.isArray(charts.json), 'the charts are a list');

  // The feed: an event stream whose frames name both workers once they have sent a batch.
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const response = await fetch(`${admin.origin}/feed`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const seen = await withDeadline(
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the feed ended');
        text += decoder.decode(value, { stream: true });
        if (text.includes('"w1"') && text.includes('"w2"')) return true;
      }
    })(),
    15_000,
    'a frame naming both workers',
  );
  t.true(seen);
});
