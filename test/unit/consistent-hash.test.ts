/** consistent-hash: the key hash, the Maglev table, bounded load, the fallback, and reading keys from requests. */
import test from 'ava';
import type { IncomingHttpHeaders } from 'node:http';
import { parseCommandLine, UsageError } from '../../src/cli/options.js';
import { acceptReload } from '../../src/config/reload.js';
import { ConsistentHash } from '../../src/balancing/consistent-hash.js';
import { createStrategy, type Candidate, type KeySource, type SelectionStrategy } from '../../src/balancing/index.js';
import { fnv1a64Hex, hashKey } from '../../src/balancing/key-hash.js';
import { maglevTable, tableSizeFor } from '../../src/balancing/maglev.js';
import { cookieValue, parseHashKey, pathOf, queryValue, requestKeyOf } from '../../src/balancing/request-key.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import { mulberry32 } from '../helpers/seeded-random.js';

interface TestCandidate extends Candidate {
  healthy: boolean;
  weight: number;
  readonly load: { inFlight: number; latencyEwmaMs: number; sampledAt: number };
}

function candidate(id: string, weight = 1): TestCandidate {
  return { id, weight, healthy: true, load: { inFlight: 0, latencyEwmaMs: 30, sampledAt: 0 } };
}

function hashing(members: readonly Candidate[], balanceFactor = 0): ConsistentHash {
  const strategy = new ConsistentHash({ balanceFactor, fallback: new RoundRobin() });
  strategy.rebuild(members);
  return strategy;
}

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function placement(strategy: SelectionStrategy, keys: readonly string[] = KEYS): (string | undefined)[] {
  return keys.map((key) => strategy.pick(key, [])?.id);
}

function shares(placed: readonly (string | undefined)[]): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (const id of placed) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

// The hash ---------------------------------------------------------------------

/** FNV-1a 64 with BigInt over TextEncoder's bytes: the reference the limb arithmetic must match. */
function referenceFnv(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, '0');
}

test('FNV-1a 64: the published vectors, and the same as a BigInt reference over UTF-8 (multi-byte and lone surrogates too)', (t) => {
  t.is(fnv1a64Hex(''), 'cbf29ce484222325');
  t.is(fnv1a64Hex('a'), 'af63dc4c8601ec8c');
  t.is(fnv1a64Hex('foobar'), '85944171f73967e8');
  for (const text of ['127.0.0.1', 'é', '€uro', '日本語', '😀 smile', 'lone \ud800 high', 'lone \udc00 low', 'end \ud83d']) {
    t.is(fnv1a64Hex(text), referenceFnv(text), text);
  }
  const random = mulberry32(11);
  for (let i = 0; i < 200; i++) {
    const text = String.fromCharCode(...Array.from({ length: 1 + Math.floor(random() * 12) }, () => Math.floor(random() * 0x10000)));
    t.is(fnv1a64Hex(text), referenceFnv(text));
  }
});

test('hashKey: a fixed function of the text (the same in every process), spread over the 32 bits', (t) => {
  // Pinned: a change here moves every key of every deployment.
  t.is(hashKey('user-1'), hashKey('user-1'));
  t.deepEqual([hashKey(''), hashKey('user-1'), hashKey('user-2'), hashKey('10.0.0.1')], [3323002737, 3021408739, 1796637816, 1101205819]);
  // Keys that differ only in their last character land in all parts of a 65,537 slot table.
  const slots = KEYS.slice(0, 1000).map((key) => hashKey(key) % 65_537);
  const sixteenths = new Set(slots.map((slot) => Math.floor((slot * 16) / 65_537)));
  t.is(sixteenths.size, 16);
});

// The Maglev table -------------------------------------------------------------

test('table size: 65,537 (prime), or the next prime at or above 100 × the members', (t) => {
  t.is(tableSizeFor(0), 65_537);
  t.is(tableSizeFor(4), 65_537);
  t.is(tableSizeFor(655), 65_537);
  t.is(tableSizeFor(700), 70_001); // 70,000 = 2^4·5^4·7; 70,001 is prime
});

test('maglev table: every slot owned; equal weights own equal shares (±1 slot); weights 3:1 own 3:1', (t) => {
  const equal = maglevTable(['a', 'b', 'c', 'd'].map((id) => ({ id, weight: 1 })));
  const counts = [0, 0, 0, 0];
  for (const member of equal) counts[member] = (counts[member] as number) + 1;
  t.is(equal.length, 65_537);
  t.true(Math.max(...counts) - Math.min(...counts) <= 1, counts.join('/'));

  const weighted = maglevTable([
    { id: 'heavy', weight: 3 },
    { id: 'light', weight: 1 },
  ]);
  const heavy = weighted.filter((member) => member === 0).length;
  t.true(Math.abs(heavy / weighted.length - 0.75) < 0.001, `heavy owns ${heavy}`);
  // Only the ratio counts: 6:2 is the same table as 3:1.
  t.deepEqual(
    maglevTable([
      { id: 'heavy', weight: 6 },
      { id: 'light', weight: 2 },
    ]),
    weighted,
  );
});

test('the same upstreams in another configuration order give the same placement (every worker agrees)', (t) => {
  const one = hashing(['a:1', 'b:1', 'c:1', 'd:1'].map((id) => candidate(id)));
  const other = hashing(['c:1', 'a:1', 'd:1', 'b:1'].map((id) => candidate(id)));
  t.deepEqual(placement(one, KEYS.slice(0, 2000)), placement(other, KEYS.slice(0, 2000)));
});

// Moving keys ------------------------------------------------------------------

test('10,000 keys over 4 upstreams: one dies, only its keys move; it comes back, all of them come back; max/min ≤ 1.10', (t) => {
  const members = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'].map((id) => candidate(id));
  const strategy = hashing(members);
  const before = placement(strategy);
  const counts = [...shares(before).values()];
  const balance = Math.max(...counts) / Math.min(...counts);
  t.log(`keys per upstream ${counts.join('/')}: max/min ${balance.toFixed(3)}`);
  t.true(balance <= 1.1);

  const victim = members[1] as TestCandidate;
  victim.healthy = false;
  strategy.rebuild([...members]);
  const down = placement(strategy);
  const othersMoved = before.filter((id, i) => id !== victim.id && down[i] !== id).length;
  const victimKeys = before.filter((id) => id === victim.id).length;
  t.is(othersMoved, 0);
  t.false(down.includes(victim.id));
  // Its keys spread over the three others, not onto one neighbour.
  const spread = shares(down.filter((_, i) => before[i] === victim.id));
  t.log(`the dead upstream's ${victimKeys} keys went ${[...spread.values()].join('/')}`);
  t.is(spread.size, 3);
  for (const count of spread.values()) t.true(count > victimKeys / 5);

  victim.healthy = true;
  strategy.rebuild([...members]);
  t.deepEqual(placement(strategy), before);
});

test('removed from the configuration and added back: the table is rebuilt and the same as before (Maglev moves few others)', (t) => {
  const members = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'].map((id) => candidate(id));
  const strategy = hashing(members);
  const before = placement(strategy);
  strategy.rebuild(members.filter((member) => member.id !== '10.0.0.2:80'));
  const removed = placement(strategy);
  const othersMoved = before.filter((id, i) => id !== '10.0.0.2:80' && removed[i] !== id).length;
  t.log(`removing 1 of 4 from the configuration moved ${othersMoved} of the others' ${before.filter((id) => id !== '10.0.0.2:80').length} keys`);
  t.true(othersMoved / KEYS.length < 0.05);
  strategy.rebuild(members);
  t.deepEqual(placement(strategy), before);
});

test('weights: 3:1:1:1 gives the heavy upstream half of the keys', (t) => {
  const members = [candidate('heavy', 3), candidate('b'), candidate('c'), candidate('d')];
  const counts = shares(placement(hashing(members)));
  const heavy = (counts.get('heavy') ?? 0) / KEYS.length;
  t.log(`heavy: ${(heavy * 100).toFixed(1)} %`);
  t.true(Math.abs(heavy - 0.5) < 0.02);
});

test('dead and excluded upstreams are walked past; nothing when none is usable', (t) => {
  const members = ['a', 'b', 'c'].map((id) => candidate(id));
  const strategy = hashing(members);
  const first = strategy.pick('key', []);
  if (first === undefined) return t.fail();
  const second = strategy.pick('key', [first.id]);
  if (second === undefined) return t.fail();
  t.not(second.id, first.id);
  const third = strategy.pick('key', [first.id, second.id]);
  t.not(third?.id, first.id);
  t.not(third?.id, second.id);
  t.is(strategy.pick('key', ['a', 'b', 'c']), undefined);
  for (const member of members) member.healthy = false;
  strategy.rebuild([...members]);
  t.is(strategy.pick('key', []), undefined);
  t.is(hashing([]).pick('key', []), undefined);
});

// Bounded load -----------------------------------------------------------------

/** A skewed stream: a third of the requests carry one hot key, the rest share 50 keys with Zipf-like weights. */
function skewedKeys(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    if (random() < 1 / 3) return 'hot';
    return `k${Math.floor(50 * random() ** 3)}`;
  });
}

function boundOf(factor: number, members: readonly TestCandidate[]): number {
  const total = members.reduce((sum, member) => sum + member.load.inFlight, 0);
  return Math.ceil((factor * (total + 1)) / members.length - 1e-9);
}

test('bounded load: under a skewed key stream with scripted in-flight figures, no upstream ever goes above the bound', (t) => {
  for (const factor of [1, 1.25, 2]) {
    const members = ['a', 'b', 'c', 'd'].map((id) => candidate(id));
    const strategy = hashing(members, factor);
    const random = mulberry32(7);
    const open: TestCandidate[] = [];
    let worst = 0;
    for (const key of skewedKeys(5000, 3)) {
      // Scripted completions: about as many end as start, so in-flight hovers around 40.
      while (open.length > 0 && (open.length > 60 || random() < open.length / 80)) {
        const [done] = open.splice(Math.floor(random() * open.length), 1);
        if (done !== undefined) done.load.inFlight--;
      }
      const bound = boundOf(factor, members);
      const picked = strategy.pick(key, []) as TestCandidate;
      picked.load.inFlight++;
      open.push(picked);
      worst = Math.max(worst, picked.load.inFlight / bound);
      if (picked.load.inFlight > bound) return t.fail(`factor ${factor}: ${picked.id} at ${picked.load.inFlight}, bound ${bound}`);
    }
    t.log(`factor ${factor}: highest in-flight / bound ${worst.toFixed(2)}`);
    t.true(worst <= 1);
  }
});

test('bounded load: off (0), the hot key piles onto one upstream; on, the overflow walks on deterministically', (t) => {
  const keys = skewedKeys(400, 5);
  const run = (factor: number): { placed: (string | undefined)[]; peak: number } => {
    const members = ['a', 'b', 'c', 'd'].map((id) => candidate(id));
    const strategy = hashing(members, factor);
    let peak = 0;
    // Nothing ends: every request stays in flight, the hardest case for a bound.
    const placed = keys.map((key) => {
      const picked = strategy.pick(key, []) as TestCandidate;
      picked.load.inFlight++;
      peak = Math.max(peak, picked.load.inFlight);
      return picked.id;
    });
    return { placed, peak };
  };
  const off = run(0);
  const on = run(1.25);
  t.log(`peak in-flight of 400 (mean 100): off ${off.peak}, factor 1.25 ${on.peak}`);
  t.true(off.peak > 150);
  t.true(on.peak <= 125);
  t.deepEqual(run(1.25).placed, on.placed);
  // A key's first choice is its own upstream while there is room.
  const members = ['a', 'b', 'c', 'd'].map((id) => candidate(id));
  t.is(hashing(members, 1.25).pick('hot', [])?.id, hashing(members, 0).pick('hot', [])?.id);
});

test('bounded load: 1.1 × 10 is 11 (no floating-point overshoot)', (t) => {
  // Ten members, nine at 11 in flight and one idle: 99 in all, so the bound is ceil(1.1 × 100 / 10) = 11 and a
  // member at 11 is full. In doubles 1.1 × 100 / 10 is 11.000000000000002, whose ceiling (12) would let them all in.
  const members = Array.from({ length: 10 }, (_, i) => candidate(`m${i}`));
  for (const member of members) member.load.inFlight = 11;
  (members[0] as TestCandidate).load.inFlight = 0;
  const strategy = hashing(members, 1.1);
  t.deepEqual([...new Set(KEYS.slice(0, 200).map((key) => strategy.pick(key, [])?.id))], ['m0']);
});

// The fallback -----------------------------------------------------------------

test('a request without the key goes to the fallback: round-robin over the usable upstreams by default', (t) => {
  const members = ['a', 'b', 'c'].map((id) => candidate(id));
  (members[1] as TestCandidate).healthy = false;
  const strategy = createStrategy('consistent-hash');
  strategy.rebuild(members);
  t.true(strategy instanceof ConsistentHash);
  t.true(strategy.usesKey);
  t.deepEqual(
    ['', '', '', ''].map((key) => strategy.pick(key, [])?.id),
    ['a', 'c', 'a', 'c'],
  );
  const random = createStrategy('consistent-hash', { hashing: { balanceFactor: 0, fallback: 'random' } });
  random.rebuild(members);
  t.false(Array.from({ length: 100 }, () => random.pick('', [])?.id).includes('b'));
});

// Request keys -----------------------------------------------------------------

test('--hash-key forms', (t) => {
  t.deepEqual(parseHashKey('client-ip'), { from: 'client-ip' });
  t.deepEqual(parseHashKey('path'), { from: 'path' });
  t.deepEqual(parseHashKey('header:X-User'), { from: 'header', name: 'x-user' });
  t.deepEqual(parseHashKey('cookie:SID'), { from: 'cookie', name: 'SID' });
  t.deepEqual(parseHashKey('query:user_id'), { from: 'query', name: 'user_id' });
  for (const bad of ['', 'ip', 'header:', 'header:a b', 'cookie:a=b', 'query:a&b', 'query:', 'path:x', 'client-ip:x', 'Header:x']) {
    t.is(parseHashKey(bad), null, bad);
  }
});

test('cookieValue: the named cookie only, spaces trimmed, empty when absent', (t) => {
  t.is(cookieValue('sid=abc', 'sid'), 'abc');
  t.is(cookieValue('a=1; sid=abc; b=2', 'sid'), 'abc');
  t.is(cookieValue('a=1;sid=abc ;b=2', 'sid'), 'abc');
  t.is(cookieValue('xsid=no; sid=yes', 'sid'), 'yes');
  t.is(cookieValue('sidx=no; sid=yes', 'sid'), 'yes');
  t.is(cookieValue('a=1; b=2', 'sid'), '');
  t.is(cookieValue('sid', 'sid'), '');
  t.is(cookieValue('sid=', 'sid'), '');
  t.is(cookieValue('', 'sid'), '');
  t.is(cookieValue('a=x=y; sid=v=w', 'sid'), 'v=w');
});

test('queryValue and pathOf: as sent, the first occurrence, empty when absent', (t) => {
  t.is(queryValue('/p?user=42', 'user'), '42');
  t.is(queryValue('/p?a=1&user=42&user=43', 'user'), '42');
  t.is(queryValue('/p?xuser=1&user=%41', 'user'), '%41');
  t.is(queryValue('/p?user', 'user'), '');
  t.is(queryValue('/p', 'user'), '');
  t.is(queryValue('/p?users=1', 'user'), '');
  t.is(pathOf('/a/b?c=d'), '/a/b');
  t.is(pathOf('/a/b'), '/a/b');
});

function request(url: string, headers: IncomingHttpHeaders = {}, clientIp = '10.1.2.3'): KeySource {
  return { clientIp, req: { url, headers } };
}

test('requestKeyOf: each source, and an empty key when the request lacks it', (t) => {
  const headers = { 'x-user': 'alice', cookie: 'sid=s1; theme=dark' };
  const of = (text: string): string => {
    const key = parseHashKey(text);
    if (key === null) throw new Error(text);
    return requestKeyOf(key)(request('/shop/cart?user=u7&x=1', headers));
  };
  t.is(of('client-ip'), '10.1.2.3');
  t.is(of('header:X-User'), 'alice');
  t.is(of('header:x-missing'), '');
  t.is(of('cookie:sid'), 's1');
  t.is(of('cookie:missing'), '');
  t.is(of('path'), '/shop/cart');
  t.is(of('query:user'), 'u7');
  t.is(of('query:missing'), '');
  t.is(requestKeyOf({ from: 'cookie', name: 'sid' })(request('/')), '');
});

// Flags ------------------------------------------------------------------------

test('flags: --hash-key, --hash-balance-factor and --hash-fallback land in config.hashing; bad values name the flag', (t) => {
  const run = (argv: readonly string[]) => {
    const command = parseCommandLine(['--upstream', '127.0.0.1:8080', ...argv]);
    if (command.kind !== 'run') throw new Error(command.kind);
    return command.config.hashing;
  };
  t.deepEqual(run([]), { key: { from: 'client-ip' }, balanceFactor: 0, fallback: 'round-robin' });
  t.deepEqual(run(['--hash-key', 'header:X-User', '--hash-balance-factor', '1.25', '--hash-fallback', 'random']), {
    key: { from: 'header', name: 'x-user' },
    balanceFactor: 1.25,
    fallback: 'random',
  });
  t.is(run(['--hash-balance-factor', '10']).balanceFactor, 10);
  for (const [flag, value] of [
    ['--hash-key', 'header:'],
    ['--hash-key', 'ip'],
    ['--hash-balance-factor', '0.5'],
    ['--hash-balance-factor', '10.5'],
    ['--hash-balance-factor', '1.255'],
    ['--hash-balance-factor', 'x'],
    ['--hash-fallback', 'consistent-hash'],
  ] as const) {
    const error = t.throws(() => parseCommandLine(['--upstream', '127.0.0.1:8080', flag, value]), { instanceOf: UsageError });
    t.regex(error?.message ?? '', new RegExp(flag), `${flag} ${value}`);
  }
});

test('a reload that changes the hashing settings keeps the running ones (the strategy and key are built at start)', (t) => {
  const run = (argv: readonly string[]) => {
    const command = parseCommandLine(['--upstream', '127.0.0.1:8080', '--balance', 'consistent-hash', ...argv]);
    if (command.kind !== 'run') throw new Error(command.kind);
    return command.config;
  };
  const running = run([]);
  const accepted = acceptReload(running, run(['--hash-key', 'path']));
  t.deepEqual(accepted.config.hashing, running.hashing);
  t.is(accepted.needsRestart.length, 1);
  t.regex(accepted.needsRestart[0] ?? '', /^hashing: changing it needs a restart/);
});
