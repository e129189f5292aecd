/** The memory store: the byte budget, variants of one URL, and segmented LRU against plain LRU under a scan. */
import test from 'ava';
import { NO_DIRECTIVES } from '../../src/cache/cache-control.js';
import { MemoryStore, type EvictionPolicy } from '../../src/cache/memory-store.js';
import { StoredResponse } from '../../src/cache/stored-response.js';
import { CacheRegistry } from '../../src/cache/registry.js';

const TIMING = { requestTime: 0, responseTime: 0, dateValue: 0, ageValue: 0 };

function entry(url: string, bodyBytes: number, variant = ''): StoredResponse {
  return new StoredResponse(`h${url}\n${variant}`, `h${url}`, 200, ['content-type', 'text/plain'], Buffer.alloc(bodyBytes), TIMING, NO_DIRECTIVES, 60, null, null, variant === '' ? [] : ['accept'], 'h', url, []);
}

test('the budget counts bodies, headers and the overhead, and is never exceeded', (t) => {
  const store = new MemoryStore(100_000);
  for (let i = 0; i < 1_000; i++) {
    store.insert(entry(`/${i}`, 1_000));
    t.true(store.bytes <= store.budget);
  }
  t.true(store.count > 50 && store.count < 100, `${store.count} entries of ~1.3 kB in 100 kB`);
  t.false(store.insert(entry('/huge', 200_000)), 'an object larger than the whole budget is refused');
});

test('variants of one URL are separate entries, removed together', (t) => {
  const store = new MemoryStore(1_000_000);
  store.insert(entry('/a', 10, 'accept:text/html\n'));
  store.insert(entry('/a', 10, 'accept:application/json\n'));
  t.is(store.count, 2);
  t.deepEqual(store.varyNamesOf('h/a'), ['accept']);
  t.is(store.deleteUrl('h/a'), 2);
  t.is(store.count, 0);
  t.is(store.varyNamesOf('h/a'), undefined);
});

/** Hit ratio of a hot set requested over and over, with a one-off scan of never-again URLs in the middle. */
function hitRatioUnderScan(policy: EvictionPolicy): number {
  const store = new MemoryStore(60 * 1_300, policy);
  let hits = 0;
  let requests = 0;
  const ask = (url: string): void => {
    requests++;
    if (store.get(`h${url}\n`) !== undefined) hits++;
    else store.insert(entry(url, 1_000));
  };
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 40; i++) ask(`/hot/${i}`);
    if (round === 10) for (let i = 0; i < 200; i++) ask(`/scan/${i}`);
  }
  return hits / requests;
}

test('segmented LRU keeps the hot set through a scan that flushes plain LRU', (t) => {
  const slru = hitRatioUnderScan('slru');
  const lru = hitRatioUnderScan('lru');
  t.true(slru > lru, `slru ${slru.toFixed(3)} > lru ${lru.toFixed(3)}`);
});

test('the registry keeps one cache across reloads with the same settings, a new one when they change, and purges through it', (t) => {
  const settings = { sizeBytes: 1_000_000, maxObjectBytes: 1_000, serveStaleOnErrorMs: 0, heuristicFreshness: false, setCookie: 'skip' as const, eviction: 'slru' as const, lockTimeoutMs: 5_000 };
  const registry = new CacheRegistry(() => {}, null);
  const first = registry.forSettings(settings);
  t.is(registry.forSettings({ ...settings }), first);
  first?.store.insert(entry('/x', 10));
  t.is(registry.purge('h', '/x'), 1);
  t.is(registry.purge('h', '/x'), 0);
  t.not(registry.forSettings({ ...settings, sizeBytes: 2_000_000 }), first);
  t.is(registry.forSettings(null), null);
  t.is(registry.purge('h', '/x'), 0);
});
