/**
 * The memory store with leases, across simulated workers: the rate limiter
 * actor in a primary router, a LeasedStore (and its lease holder actor) in
 * each worker router, the links between them queues that a seeded random
 * schedule delivers one message at a time (in order per link, like cluster
 * IPC), interleaved with requests arriving at random workers. Time is a
 * SimulatedClock shared by all. Whatever the interleaving, the workers
 * together never admit more than the limit; unspent permits come back when
 * a lease ends; a dead worker's lease stays counted.
 */
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { startActor } from '../../src/actors/inspection.js';
import { rateLimiterMachine } from '../../src/actors/rate-limiter.js';
import { MailboxRouter, type Envelope } from '../../src/actors/router.js';
import { LEASE_MS } from '../../src/rate-limit/lease-ledger.js';
import { LeasedStore } from '../../src/rate-limit/leased-store.js';
import { RATE_LIMITER, type Address, type LimitCheck, type RateLimitSettings, type RoutedMessage } from '../../src/protocol/index.js';
import { mulberry32, type Random } from '../helpers/seeded-random.js';

const CLIENT = '10.0.0.1';

interface Worker {
  readonly node: string;
  readonly router: MailboxRouter;
  readonly store: LeasedStore;
  alive: boolean;
  /** Requests admitted by this worker (on a lease, or by the limiter's verdict). */
  admitted: number;
  denied: number;
  pending: number;
}

class SimulatedCluster {
  readonly clock = new SimulatedClock();
  readonly primary = new MailboxRouter('p');
  readonly limiter;
  readonly workers: Worker[] = [];
  /** One FIFO per direction of each link, as cluster IPC keeps order per channel. */
  private readonly links = new Map<string, { readonly deliver: (envelope: Envelope) => void; readonly queue: Envelope[]; readonly node: string }>();
  private nextRequest = 1;
  /** Every verdict that said 429, with its Retry-After. */
  readonly retryAfters: number[] = [];

  constructor(
    count: number,
    private readonly random: Random,
  ) {
    const now = (): number => this.clock.now();
    this.limiter = startActor(rateLimiterMachine, { input: { router: this.primary, now, holders: count }, clock: this.clock });
    this.primary.register('rate-limiter', this.limiter);
    for (let i = 1; i <= count; i++) {
      const node = `w${i}`;
      const router = new MailboxRouter(node);
      const up = { deliver: (envelope: Envelope) => this.primary.receive(envelope), queue: [] as Envelope[], node };
      const down = { deliver: (envelope: Envelope) => router.receive(envelope), queue: [] as Envelope[], node };
      this.links.set(`${node}>p`, up);
      this.links.set(`p>${node}`, down);
      router.connectUplink({ send: (envelope) => up.queue.push(envelope) });
      this.primary.connectNode(node, { send: (envelope) => down.queue.push(envelope) });
      const worker: Worker = { node, router, store: new LeasedStore(router, now, this.clock), alive: true, admitted: 0, denied: 0, pending: 0 };
      router.register('conn/c', {
        send: (message: RoutedMessage) => {
          if (message.type !== 'request.verdict') return;
          worker.pending--;
          if (message.answer === null) worker.admitted++;
          else {
            worker.denied++;
            this.retryAfters.push(Number(message.answer.headers?.['retry-after']));
          }
        },
      });
      this.workers.push(worker);
    }
  }

  /** One request from the client at `worker`: admitted on a lease at once, or its verdict comes later. */
  request(worker: Worker, checks: readonly LimitCheck[]): void {
    const address: Address = `${worker.node}/conn/c`;
    if (worker.store.decide(this.nextRequest++, checks, false, address)) worker.admitted++;
    else worker.pending++;
  }

  /** Delivers the first message of a random link that has one; false when every link is empty. */
  deliverOne(): boolean {
    const busy = [...this.links.values()].filter((link) => link.queue.length > 0);
    if (busy.length === 0) return false;
    const link = busy[Math.floor(this.random() * busy.length)]!;
    const envelope = link.queue.shift()!;
    const alive = this.workers.find((worker) => worker.node === link.node)?.alive ?? false;
    if (alive) link.deliver(envelope);
    return true;
  }

  deliverAll(): void {
    while (this.deliverOne());
  }

  /** `requests` requests at random live workers, interleaved with message deliveries at random. */
  race(requests: number, checks: readonly LimitCheck[]): void {
    const live = this.workers.filter((worker) => worker.alive);
    for (let sent = 0; sent < requests; ) {
      if (this.random() < 0.6) {
        this.request(live[Math.floor(this.random() * live.length)]!, checks);
        sent++;
      } else this.deliverOne();
    }
    this.deliverAll();
  }

  /** A worker process exits: nothing more reaches it or comes from it, and the cluster primary says so. */
  kill(worker: Worker): void {
    worker.alive = false;
    this.primary.disconnectNode(worker.node);
    this.primary.send(RATE_LIMITER, { type: 'rate-limit.holder-gone', node: worker.node });
  }

  /** Time passes in steps of the holders' sweep, each followed by the messages it caused. */
  advance(ms: number): void {
    for (let left = ms; left > 0; left -= 50) {
      this.clock.increment(Math.min(50, left));
      this.deliverAll();
    }
  }

  get admitted(): number {
    return this.workers.reduce((total, worker) => total + worker.admitted, 0);
  }

  get outstandingLeases(): number {
    return this.limiter.getSnapshot().context.leases.outstanding;
  }
}

const checksOf = (limit: RateLimitSettings, key = CLIENT): LimitCheck[] => [{ rule: 'default', key, limit }];

for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`${algorithm}, seed ${seed}: two racing workers never admit more than the limit, and reach it once leases end`, (t) => {
      const limit: RateLimitSettings = { algorithm, limit: 200, windowMs: 60_000 };
      const cluster = new SimulatedCluster(2, mulberry32(seed));
      cluster.race(600, checksOf(limit));
      t.true(cluster.admitted <= 200, `admitted ${cluster.admitted}`);
      t.true(cluster.workers.every((worker) => worker.pending === 0), 'every request had its answer');
      // Leases end within a second (their unspent permits go back); then the rest of the quota is there.
      for (let round = 0; round < 6 && cluster.admitted < 200; round++) {
        cluster.advance(LEASE_MS + 300);
        cluster.race(100, checksOf(limit));
        t.true(cluster.admitted <= 200, `admitted ${cluster.admitted} after round ${round}`);
      }
      t.is(cluster.admitted, 200);
      t.true(
        cluster.workers.every((worker) => worker.admitted > 0),
        'both workers admitted some',
      );
    });
  }
}

for (const algorithm of ['fixed-window', 'sliding-window', 'gcra'] as const) {
  test(`${algorithm}: one request at a time, over both workers, gets exactly the limit in order (a refusal recalls the leases out first)`, (t) => {
    const limit: RateLimitSettings = { algorithm, limit: 40, windowMs: 60_000 };
    const cluster = new SimulatedCluster(2, mulberry32(21));
    const outcomes: boolean[] = [];
    // The first on w1 (which takes a lease), then w2 alone, which without recalls would be refused
    // while w1 sits on its permits; then alternating.
    for (let i = 0; i < 50; i++) {
      const worker = cluster.workers[i === 0 || (i > 30 && i % 2 === 0) ? 0 : 1] as Worker;
      const before = worker.admitted;
      cluster.request(worker, checksOf(limit));
      cluster.deliverAll();
      t.is(worker.pending, 0);
      outcomes.push(worker.admitted > before);
    }
    t.deepEqual(outcomes, [...Array<boolean>(40).fill(true), ...Array<boolean>(10).fill(false)]);
    t.true(cluster.workers.every((worker) => worker.admitted > 0));
    t.true(cluster.retryAfters.every((seconds) => seconds >= 1));
  });
}

test('fixed-window: most requests are decided on a lease, without a message to the primary', (t) => {
  const limit: RateLimitSettings = { algorithm: 'fixed-window', limit: 1_000_000, windowMs: 60_000 };
  const cluster = new SimulatedCluster(2, mulberry32(7));
  let checksSent = 0;
  const tap = { sent: () => {}, arrived: (_to: Address, message: RoutedMessage) => void (message.type === 'rate-limit.check' && checksSent++) };
  cluster.primary.tap = tap;
  cluster.race(20_000, checksOf(limit));
  t.is(cluster.admitted, 20_000);
  t.true(checksSent < 200, `${checksSent} checks reached the primary for 20,000 requests`);
});

for (const seed of [11, 12, 13]) {
  test(`gcra, seed ${seed}: never more than the burst plus what the rate has earned`, (t) => {
    // 100 per 60 s: one every 600 ms after a burst of 100.
    const limit: RateLimitSettings = { algorithm: 'gcra', limit: 100, windowMs: 60_000 };
    const cluster = new SimulatedCluster(2, mulberry32(seed));
    cluster.race(300, checksOf(limit));
    t.true(cluster.admitted <= 100, `admitted ${cluster.admitted} at once`);
    for (let round = 1; round <= 8; round++) {
      cluster.advance(LEASE_MS + 300);
      cluster.race(60, checksOf(limit));
      const earned = Math.floor(cluster.clock.now() / 600);
      t.true(cluster.admitted <= 100 + earned, `admitted ${cluster.admitted} by ${cluster.clock.now()} ms (at most ${100 + earned})`);
    }
    // Every lease given back and the bucket refilled: a whole burst again (once the leases of the
    // first try are given back, within a second, which also earns one or two more), and no more.
    cluster.advance(60_000 + LEASE_MS);
    const before = cluster.admitted;
    cluster.race(300, checksOf(limit));
    cluster.advance(LEASE_MS + 300);
    cluster.race(100, checksOf(limit));
    const gained = cluster.admitted - before;
    t.true(gained >= 100 && gained <= 102, `admitted ${gained}`);
  });
}

test('a lease is spent only until the end of its window, on the holder\'s own clock', (t) => {
  const limit: RateLimitSettings = { algorithm: 'fixed-window', limit: 1_000, windowMs: 1_000 };
  const cluster = new SimulatedCluster(1, mulberry32(3));
  const [worker] = cluster.workers as [Worker];
  cluster.request(worker, checksOf(limit));
  cluster.deliverAll();
  t.is(worker.store.leases, 1, 'the first request brought a lease');
  cluster.clock.increment(999);
  cluster.request(worker, checksOf(limit));
  t.is(worker.pending, 0, 'spent at 999 ms');
  cluster.clock.increment(1);
  cluster.request(worker, checksOf(limit));
  t.is(worker.pending, 1, 'at the window end the request goes to the limiter');
  cluster.deliverAll();
  t.is(worker.admitted, 3);
});

test('a worker that dies holding a lease: its permits stay counted, spent or not, and a late report changes nothing', (t) => {
  const limit: RateLimitSettings = { algorithm: 'fixed-window', limit: 100, windowMs: 60_000 };
  const cluster = new SimulatedCluster(2, mulberry32(9));
  const [w1, w2] = cluster.workers as [Worker, Worker];
  cluster.request(w1, checksOf(limit));
  cluster.deliverAll();
  t.is(w1.store.leases, 1);
  // The lease: a quarter of the room left after the first request (99 / (2 × 2 workers)).
  for (let i = 0; i < 5; i++) cluster.request(w1, checksOf(limit));
  t.is(w1.admitted, 6);
  cluster.kill(w1);
  t.is(cluster.outstandingLeases, 0, 'the limiter forgot the dead worker\'s lease');
  // What the dead worker would have reported, arriving late: ignored (its lease is no longer on record).
  cluster.primary.send(RATE_LIMITER, { type: 'rate-limit.lease-ended', id: 1, unused: 19 });
  for (let round = 0; round < 8; round++) {
    cluster.race(100, checksOf(limit));
    cluster.advance(LEASE_MS + 300);
  }
  t.is(w2.admitted, 100 - 1 - 24, 'all but the first request and the dead worker\'s whole lease');
  t.true(cluster.admitted <= 100);
});

test('a lock-out is the limiter\'s: failures reported by two workers count together, and login requests never use a lease', (t) => {
  const limit: RateLimitSettings = { algorithm: 'fixed-window', limit: 1_000, windowMs: 60_000 };
  const cluster = new SimulatedCluster(2, mulberry32(5));
  const [w1, w2] = cluster.workers as [Worker, Worker];
  const login: LimitCheck[] = [...checksOf(limit), { rule: 'login', key: CLIENT, limit: null }];
  const policy = { maxFailures: 4, windowMs: 60_000, lockoutMs: 30_000, maxLockoutMs: 60_000 };
  // Leases for the default rule first: plain requests then never reach the limiter.
  cluster.race(50, checksOf(limit));
  w1.store.loginFailed(CLIENT, policy);
  w2.store.loginFailed(CLIENT, policy);
  w1.store.loginFailed(CLIENT, policy);
  cluster.deliverAll();
  cluster.request(w2, login);
  t.is(w2.pending, 1, 'a login request waits for the limiter, lease or not');
  cluster.deliverAll();
  t.is(w2.denied, 0, 'three failures: not yet locked');
  w2.store.loginFailed(CLIENT, policy);
  cluster.deliverAll();
  cluster.request(w1, login);
  cluster.request(w2, login);
  cluster.deliverAll();
  t.is(w1.denied + w2.denied, 2, 'the fourth failure locks the client out on both workers');
  t.deepEqual(cluster.retryAfters, [30, 30]);
  const plainBefore = cluster.admitted;
  cluster.request(w1, checksOf(limit));
  cluster.deliverAll();
  t.is(cluster.admitted, plainBefore + 1, 'the lock-out is for the login paths only');
});

test('a reload that changes the limit is not spent on the old limit\'s lease', (t) => {
  const cluster = new SimulatedCluster(1, mulberry32(8));
  const [worker] = cluster.workers as [Worker];
  const loose: RateLimitSettings = { algorithm: 'fixed-window', limit: 1_000, windowMs: 60_000 };
  cluster.race(20, checksOf(loose));
  t.is(worker.store.leases, 1);
  const tight: RateLimitSettings = { algorithm: 'fixed-window', limit: 25, windowMs: 60_000 };
  cluster.race(40, checksOf(tight));
  // The counter keeps its count (20 requests plus the loose lease, given back when the tight one replaced it).
  t.is(worker.admitted, 25);
});

test('with the RateLimit fields asked for, a lease admits with a verdict from the worker itself', (t) => {
  const limit: RateLimitSettings = { algorithm: 'fixed-window', limit: 100, windowMs: 60_000 };
  const cluster = new SimulatedCluster(1, mulberry32(4));
  const [worker] = cluster.workers as [Worker];
  const seen: RoutedMessage[] = [];
  worker.router.register('conn/h', { send: (message: RoutedMessage) => seen.push(message) });
  worker.store.decide(1, checksOf(limit), true, 'w1/conn/h');
  cluster.deliverAll();
  worker.store.decide(2, checksOf(limit), true, 'w1/conn/h');
  t.is(seen.length, 2, 'the second one answered at once, in the worker');
  const second = seen[1];
  if (second?.type !== 'request.verdict') return t.fail('not a verdict');
  t.is(second.answer, null);
  // 100 − 1 − the lease of 49 counted in the primary, + the 48 permits left here: 98 left, as without a lease.
  t.is(second.headers?.ratelimit, '"default";r=98;t=60');
});

test('the visualizer sees every decision once: checks reaching the primary plus each store\'s tally of lease admissions', (t) => {
  const limit: RateLimitSettings = { algorithm: 'gcra', limit: 100_000, windowMs: 60_000 };
  const cluster = new SimulatedCluster(2, mulberry32(6));
  const tallies = cluster.workers.map((worker) => worker.store.localFigures());
  let checksAtPrimary = 0;
  cluster.primary.tap = { sent: () => {}, arrived: (_to: Address, message: RoutedMessage) => void (message.type === 'rate-limit.check' && checksAtPrimary++) };
  cluster.race(1_500, checksOf(limit));
  const figures = tallies.map((tally) => tally.drain());
  const local = figures.reduce((total, drained) => total + (drained?.checks ?? 0), 0);
  t.is(local + checksAtPrimary, 1_500);
  t.true(local > 1_000, `${local} admitted on leases`);
  t.deepEqual(figures[0]?.top[0]?.[0], CLIENT);
  t.true(figures.every((drained) => drained?.denials === 0), 'a lease never refuses: denials are the limiter\'s');
});

/**
 * The bench's case (a limit never reached, one client) at a steady rate: each worker receives `perStep`
 * requests every 10 ms, and the messages sent meanwhile are delivered only every `roundTripMs` (the round
 * trip to the primary). Counted from the second second, once the first leases are held: checks sent to
 * the limiter, which are requests waiting on it.
 */
for (const { perStep, roundTripMs, why } of [
  { perStep: 3, roundTripMs: 10, why: '300 a second per worker: a lease of 1,024 ends by its life, not spent' },
  { perStep: 40, roundTripMs: 100, why: '4,000 a second per worker, 100 ms round trips: a quarter of a lease lasts 64 ms' },
]) {
  test(`gcra, ${why}: the next lease is asked for ahead, so no request waits on the limiter when one ends`, (t) => {
    const limit: RateLimitSettings = { algorithm: 'gcra', limit: 1_000_000_000, windowMs: 60_000 };
    const cluster = new SimulatedCluster(2, mulberry32(17));
    let checksAtPrimary = 0;
    let messagesAtPrimary = 0;
    cluster.primary.tap = {
      sent: () => {},
      arrived: (_to: Address, message: RoutedMessage) => {
        messagesAtPrimary++;
        if (message.type === 'rate-limit.check') checksAtPrimary++;
      },
    };
    const steps = 1_000; // 10 s
    let checksInFirstSecond = 0;
    let messagesInFirstSecond = 0;
    for (let step = 0; step < steps; step++) {
      if (step === 100) {
        checksInFirstSecond = checksAtPrimary;
        messagesInFirstSecond = messagesAtPrimary;
      }
      for (const worker of cluster.workers) for (let i = 0; i < perStep; i++) cluster.request(worker, checksOf(limit));
      cluster.clock.increment(10);
      if ((step + 1) % (roundTripMs / 10) === 0) cluster.deliverAll();
    }
    cluster.deliverAll();
    t.is(cluster.admitted, steps * perStep * 2);
    t.true(checksInFirstSecond > 0, 'the first requests of each worker asked the limiter');
    t.is(checksAtPrimary - checksInFirstSecond, 0, `${checksAtPrimary - checksInFirstSecond} requests waited on the limiter after the first second`);
    // Then only the leases: an ask and an end per lease, a lease per 512 requests or half a second at most.
    const perSecondPerWorker = (messagesAtPrimary - messagesInFirstSecond) / 9 / 2;
    const leasesPerSecond = Math.max(2, (perStep * 100) / 512);
    t.true(perSecondPerWorker <= 2 * leasesPerSecond + 1, `${perSecondPerWorker} messages a second per worker reached the primary`);
  });
}
