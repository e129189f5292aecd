/**
 * GET /metrics over --workers 2: every process's figures aggregated
 * (requests by upstream, outcome and status class; latency histograms;
 * upstream health and its changes; rate-limit decisions; actors by kind and
 * state; process metrics; the cache's lookups and holdings), valid for Prometheus' own `promtool check
 * metrics`, with bounded labels.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import { startBalancerWithAdmin } from '../helpers/admin.js';
import { httpCall } from '../helpers/client.js';
import { cacheableHandler, startUpstream } from '../helpers/upstream.js';
import { withDeadline } from '../helpers/wait.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The text exposition format's samples (enough of it for these metrics: no escaped quotes in labels). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[pair[1] as string] = pair[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return withDeadline(
    new Promise((resolve, reject) => {
      const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, output }));
      child.stdin.end(text);
    }),
    20_000,
    'promtool check metrics',
  );
}

test('/metrics aggregates both workers and the primary, passes promtool check metrics, and labels only by bounded values', async (t) => {
  const a = await startUpstream(t, { name: 'a' });
  const b = await startUpstream(t, { name: 'b' });
  const { balancer, admin } = await startBalancerWithAdmin(t, [
    // Active checks a minute apart: b, once found dead, stays dead until the scrape (no 1 s back-off revival).
    '--upstream', a.id, '--upstream', b.id, '--workers', '2', '--active-health-check-interval', '60', '--max-requests-per-window', '40',
  ]); // prettier-ignore

  const statuses: number[] = [];
  for (let n = 0; n < 30; n++) statuses.push((await httpCall(balancer.port, { path: `/first/${n}` })).status);
  await b.kill();
  for (let n = 0; n < 10; n++) statuses.push((await httpCall(balancer.port, { path: `/after-kill/${n}` })).status);
  for (let n = 0; n < 5; n++) statuses.push((await httpCall(balancer.port, { path: `/over-limit/${n}` })).status);
  t.deepEqual(statuses, [...new Array<number>(40).fill(200), ...new Array<number>(5).fill(429)]);

  const answer = await admin.call('GET', '/metrics');
  t.is(answer.status, 200);
  t.regex(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const checked = await promtool(answer.text);
  t.is(checked.code, 0, checked.output);

  const samples = parseExposition(answer.text);
  const sum = (name: string, where: (labels: Record<string, string>) => boolean = () => true): number =>
    samples.filter((sample) => sample.name === name && where(sample.labels)).reduce((total, sample) => total + sample.value, 0);

  t.is(sum('balancebeam_metrics_missing_workers'), 0);
  t.is(sum('balancebeam_requests_total'), 45, 'every request counted once, over both workers');
  t.is(sum('balancebeam_requests_total', (l) => l.outcome === 'proxied' && l.status_class === '2xx'), 40);
  t.is(sum('balancebeam_requests_total', (l) => l.outcome === 'rate-limited' && l.status_class === '4xx' && l.upstream === 'none'), 5);
  t.is(sum('balancebeam_request_duration_seconds_count'), 45);
  t.is(sum('balancebeam_request_duration_seconds_bucket', (l) => l.le === '+Inf'), 45);
  t.true(sum('balancebeam_upstream_response_duration_seconds_count', (l) => l.upstream === a.id) >= 20);
  t.is(sum('balancebeam_rate_limit_decisions_total', (l) => l.decision === 'admitted'), 40);
  t.is(sum('balancebeam_rate_limit_decisions_total', (l) => l.decision === 'denied'), 5);
  t.is(sum('balancebeam_upstream_healthy', (l) => l.upstream === a.id), 1);
  t.is(sum('balancebeam_upstream_healthy', (l) => l.upstream === b.id), 0, 'b was found dead (a refused connect)');
  t.is(sum('balancebeam_upstream_health_changes_total', (l) => l.upstream === b.id && l.to === 'dead'), 1);
  t.is(sum('balancebeam_upstream_in_flight'), 0);
  t.is(sum('balancebeam_actors', (l) => l.kind === 'balancer'), 2, "both workers' balancers");
  t.is(sum('balancebeam_actors', (l) => l.kind === 'upstream'), 2, "the primary's upstream actors");
  t.is(sum('balancebeam_actors', (l) => l.kind === 'rate-limiter'), 1);
  t.true(samples.some((sample) => sample.name === 'balancebeam_active_connections'));
  t.true(sum('process_cpu_seconds_total') > 0, 'process metrics, summed over the three processes');
  t.true(sum('process_resident_memory_bytes') > 0);

  // Bounded labels: no client address, no path, no request-specific value anywhere.
  const allowed = new Set(['upstream', 'outcome', 'status_class', 'le', 'decision', 'to', 'kind', 'state', 'result', 'action', 'category']);
  for (const sample of samples.filter((s) => s.name.startsWith('balancebeam_'))) {
    for (const label of Object.keys(sample.labels)) t.true(allowed.has(label), `${sample.name} has label ${label}`);
  }
  t.false(answer.text.includes('/first/'), 'no path in any label');
  const upstreamLabels = new Set(samples.flatMap((sample) => (sample.labels.upstream === undefined ? [] : [sample.labels.upstream])));
  t.deepEqual([...upstreamLabels].sort(), [a.id, b.id, 'none'].sort());

  const listed = await admin.upstreams();
  t.is(listed.get(b.id)?.health, 'dead');
  t.regex(listed.get(b.id)?.reason ?? '', /^connect failed/);
  const latency = listed.get(a.id)?.latencyMs;
  t.true((latency?.samples ?? 0) >= 20);
  t.true((latency?.p50 ?? 0) > 0 && (latency?.p99 ?? 0) >= (latency?.p50 ?? 0), JSON.stringify(latency));
});

test('with --cache-size, /metrics has the cache: lookups by result, stored, objects and bytes held', async (t) => {
  const origin = await startUpstream(t, {
    name: 'a',
    handler: cacheableHandler(),
  });
  const { balancer, admin } = await startBalancerWithAdmin(t, ['--upstream', origin.id, '--cache-size', '1000000', '--active-health-check-interval', '0']);
  for (let n = 0; n < 3; n++) t.is((await httpCall(balancer.port, { path: '/cached' })).status, 200);

  const answer = await admin.call('GET', '/metrics');
  const checked = await promtool(answer.text);
  t.is(checked.code, 0, checked.output);
  const samples = parseExposition(answer.text);
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value;
  t.is(value('balancebeam_cache_lookups_total', { result: 'miss' }), 1);
  t.is(value('balancebeam_cache_lookups_total', { result: 'hit' }), 2);
  t.is(value('balancebeam_cache_stored_total'), 1);
  t.is(value('balancebeam_cache_objects'), 1);
  t.true((value('balancebeam_cache_bytes') ?? 0) > 5);
});

test('with --waf, /metrics counts the requests inspected and flagged, by action and by category', async (t) => {
  const origin = await startUpstream(t, { name: 'a' });
  const { balancer, admin } = await startBalancerWithAdmin(t, ['--upstream', origin.id, '--waf', 'detect', '--active-health-check-interval', '0']);
  t.is((await httpCall(balancer.port, { path: '/search?q=shoes' })).status, 200);
  // Detect mode passes it, and counts it.
  t.is((await httpCall(balancer.port, { path: `/search?q=${encodeURIComponent("1' UNION SELECT password FROM users--")}` })).status, 200);

  const answer = await admin.call('GET', '/metrics');
  const checked = await promtool(answer.text);
  t.is(checked.code, 0, checked.output);
  const samples = parseExposition(answer.text);
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value;
  t.is(value('balancebeam_waf_inspected_total'), 2);
  t.is(value('balancebeam_waf_flagged_total', { action: 'detected' }), 1);
  t.is(value('balancebeam_waf_flagged_total', { action: 'blocked' }), 0);
  t.is(value('balancebeam_waf_flagged_by_category_total', { category: 'sqli' }), 1);
});
