/** The in-place figures behind /metrics: histogram buckets, quantiles, the runtime overlay, the bearer token. */
import test from 'ava';
import { BearerToken } from '../../src/admin/bearer-token.js';
import { LatencyHistogram, quantileOfBuckets } from '../../src/metrics/histogram.js';
import { RuntimeOverlay } from '../../src/config/runtime-overlay.js';
import type { Config } from '../../src/config/config.js';

test('a histogram counts each observation in the first bucket whose bound is not below it', (t) => {
  const histogram = new LatencyHistogram([0.001, 0.01, 0.1]);
  for (const ms of [0.5, 1, 5, 10, 50, 500]) histogram.observeMs(ms);
  t.deepEqual([...histogram.counts], [2, 2, 1, 1]);
  t.is(histogram.count, 6);
  t.true(Math.abs(histogram.sum - 0.5665) < 1e-9);
});

test('quantiles interpolate inside the bucket, as histogram_quantile does', (t) => {
  const bounds = [0.01, 0.02, 0.04];
  t.is(quantileOfBuckets(bounds, [0, 10, 10, 10], 0.5), 0.015);
  t.is(quantileOfBuckets(bounds, [10, 10, 10, 10], 1), 0.01);
  t.is(quantileOfBuckets(bounds, [0, 0, 0, 4], 0.5), 0.04, 'above every bound: the highest bound');
  t.true(Number.isNaN(quantileOfBuckets(bounds, [0, 0, 0, 0], 0.5)));
});

test('the runtime overlay survives a reload of the base settings, and wins over it for what it names', (t) => {
  const target = (port: number, weight = 1) => ({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight });
  const base = { upstreams: [target(1), target(2)] } as unknown as Config;
  const overlay = new RuntimeOverlay();
  overlay.add(target(3, 4));
  overlay.setWeight('127.0.0.1:1', 5);
  overlay.drain('127.0.0.1:2');
  t.deepEqual(overlay.apply(base).upstreams, [target(1, 5), { ...target(2), draining: true }, target(3, 4)]);
  // The file drops 2 and adds 4: the overlay's changes to 1 and 3 still hold.
  const reloaded = { upstreams: [target(1), target(4)] } as unknown as Config;
  t.deepEqual(overlay.apply(reloaded).upstreams, [target(1, 5), target(4), target(3, 4)]);
  overlay.remove('127.0.0.1:4');
  overlay.restore('127.0.0.1:2');
  t.deepEqual(overlay.apply(base).upstreams, [target(1, 5), target(2), target(3, 4)]);
  t.deepEqual(overlay.apply(reloaded).upstreams, [target(1, 5), target(3, 4)]);
  overlay.add(target(4, 2));
  t.deepEqual(overlay.apply(reloaded).upstreams, [target(1, 5), target(4, 2), target(3, 4)], 'added back: its new weight');
});

test('the bearer token accepts exactly its token', (t) => {
  const token = new BearerToken('correct-horse-battery-staple');
  t.true(token.accepts('Bearer correct-horse-battery-staple'));
  t.true(token.accepts('bearer correct-horse-battery-staple'));
  for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic correct-horse-battery-staple', 'Bearer correct-horse-battery-stapl', 'Bearer correct-horse-battery-staple2', 'Bearer a b']) {
    t.false(token.accepts(header), String(header));
  }
});
