/**
 * A deterministic model of the balancing bench: the same four upstreams and
 * the same two loads, on a simulated clock, with balancebeam's real
 * strategies (src/balancing/) and the real load figures (load.ts) — and
 * nginx's `least_conn` and `random two least_conn` modelled from its source
 * (ngx_http_upstream_least_conn_module.c, ngx_http_upstream_random_module.c).
 *
 * What it is for: telling the algorithm apart from the proxy running it.
 * The proxy is a single CPU (one event loop, one nginx worker) that spends a
 * fixed time on each request (parse, pick, dispatch) and on each response
 * (sample, count out, reply), in arrival order, and that can stall (a GC, a
 * JIT burst, another process on its core). A pick runs when its request's
 * turn on that CPU comes, so it sees in-flight counts as they are then; a
 * response is counted out (and sampled) only when its turn comes, so a busy
 * or stalled proxy sees its upstreams as busier and slower than they are.
 * Give every algorithm the same proxy and the differences left are the
 * algorithms'; give balancebeam's algorithms a slower proxy and what it costs
 * them shows.
 *
 * Everything is seeded: the same configuration gives the same figures.
 */
import { LeastConnections } from '../../src/balancing/least-connections.js';
import { DEFAULT_LATENCY_ESTIMATE, LoadFigures, type LatencyEstimate } from '../../src/balancing/load.js';
import { OwnDelay } from '../../src/balancing/own-delay.js';
import { PowerOfTwoChoices } from '../../src/balancing/p2c.js';
import { PeakEwma } from '../../src/balancing/peak-ewma.js';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import type { Candidate, SelectionStrategy } from '../../src/balancing/strategy.js';
import { mulberry32, type Random } from '../../test/helpers/seeded-random.js';

/** The proxy's one CPU. */
export interface ProxyModel {
  readonly name: string;
  /** CPU time per request (parse, pick, dispatch) and per response (sample, count out, write back), ms. */
  readonly requestCpuMs: number;
  readonly responseCpuMs: number;
  /** Stalls of the whole loop at random (Poisson) times: how often, and their mean (exponential) length. */
  readonly stallsPerSecond: number;
  readonly stallMeanMs: number;
  /**
   * Another process taking the core: the same kind of pause, but the loop's
   * idle clock runs through it (libuv counts a wait for the CPU as idle), so
   * own-delay.ts cannot take it out. Absent: none.
   */
  readonly preemptionsPerSecond?: number;
  readonly preemptionMeanMs?: number;
}

export interface UpstreamModel {
  /** Each upstream's delay, ms (infinitely concurrent, like the bench's timers). */
  readonly delaysMs: readonly number[];
  /** Mean of an exponential lateness added to every answer (the upstreams' own event loop). */
  readonly jitterMeanMs: number;
  /** From this time on, the last upstream's delay becomes `laterDelayMs` (the "degrades" scenario). */
  readonly changeAtMs?: number;
  readonly laterDelayMs?: number;
}

export type LoadModel =
  | { readonly kind: 'open'; readonly ratePerSecond: number }
  | { readonly kind: 'closed'; readonly clients: number; /** The client's own time between an answer and its next request. */ readonly thinkMs: number };

/**
 * What a latency sample is: `raw`, from dispatch to the response's turn on
 * the CPU (what a proxy can time); `upstream`, the upstream's own time alone
 * (what an ideal, delay-free proxy would time); `own-delay-out`, the raw
 * wait with the proxy's busy time beyond its usual share taken out
 * (src/balancing/own-delay.ts, on the simulated CPU's idle clock).
 */
export type SampleKind = 'raw' | 'upstream' | 'own-delay-out';

export interface SimulationConfig {
  readonly algorithm: SimulatedAlgorithm;
  readonly proxy: ProxyModel;
  readonly upstreams: UpstreamModel;
  readonly load: LoadModel;
  readonly durationMs: number;
  readonly seed: number;
  readonly sample?: SampleKind;
  readonly estimate?: LatencyEstimate;
}

export const SIMULATED_ALGORITHMS = [
  'round-robin',
  'least-connections',
  'p2c',
  'peak-ewma',
  'nginx least_conn',
  'nginx random two least_conn',
] as const;
export type SimulatedAlgorithm = (typeof SIMULATED_ALGORITHMS)[number];

export interface SimulationResult {
  /** Requests answered per upstream. */
  readonly served: number[];
  /** Client-side latency of every answered request, ms, sorted. */
  readonly latenciesMs: number[];
  /** The same, for the answers of every upstream but the last. */
  readonly fastLatenciesMs: number[];
  readonly requestsPerSecond: number;
  /** Share of the CPU the proxy was busy (work and stalls). */
  readonly proxyBusy: number;
}

// The event queue ------------------------------------------------------------

const enum Kind {
  /** A request reaches the proxy. */
  Arrive,
  /** Its turn on the CPU has ended: pick and dispatch. */
  Dispatch,
  /** The upstream's answer reaches the proxy. */
  Answer,
  /** Its turn on the CPU has ended: sample, count out, reply. */
  Reply,
  Stall,
  Preemption,
}

interface SimEvent {
  at: number;
  /** Insertion order: equal times run first come, first served. */
  order: number;
  kind: Kind;
  request: SimRequest | null;
}

interface SimRequest {
  /** When the client's latency counts from: the scheduled time (open loop) or the send (closed loop). */
  startedAt: number;
  upstream: number;
  dispatchedAt: number;
  /** The simulated CPU's idle time at the dispatch. */
  idleAtDispatch: number;
  /** The upstream's own time for this request. */
  upstreamMs: number;
}

/** A binary min-heap on (at, order). */
class EventQueue {
  private readonly heap: SimEvent[] = [];
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, kind: Kind, request: SimRequest | null): void {
    const heap = this.heap;
    heap.push({ at, order: this.order++, kind, request });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(heap[index] as SimEvent, heap[parent] as SimEvent)) break;
      [heap[index], heap[parent]] = [heap[parent] as SimEvent, heap[index] as SimEvent];
      index = parent;
    }
  }

  pop(): SimEvent {
    const heap = this.heap;
    const top = heap[0] as SimEvent;
    const last = heap.pop() as SimEvent;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let least = index;
        if (left < heap.length && earlier(heap[left] as SimEvent, heap[least] as SimEvent)) least = left;
        if (right < heap.length && earlier(heap[right] as SimEvent, heap[least] as SimEvent)) least = right;
        if (least === index) break;
        [heap[index], heap[least]] = [heap[least] as SimEvent, heap[index] as SimEvent];
        index = least;
      }
    }
    return top;
  }
}

const earlier = (a: SimEvent, b: SimEvent): boolean => a.at < b.at || (a.at === b.at && a.order < b.order);

const exponential = (random: Random, mean: number): number => (mean <= 0 ? 0 : -mean * Math.log(1 - random()));

// nginx, modelled -------------------------------------------------------------

/** What the nginx models read: nginx's per-peer `conns`, counted in at the pick and out at the reply. */
interface NginxPeer {
  readonly candidate: SimCandidate;
  currentWeight: number;
}

/**
 * nginx `least_conn` with equal weights: the fewest conns; several tied go to
 * the smooth weighted round-robin among the tied (each tied peer's
 * current_weight grows by its weight, the largest wins and gives back the
 * total), starting from the first tied in configuration order.
 */
class NginxLeastConn implements SelectionStrategy {
  readonly usesKey = false;
  private peers: NginxPeer[] = [];

  rebuild(candidates: readonly Candidate[]): void {
    this.peers = candidates.map((candidate) => ({ candidate: candidate as SimCandidate, currentWeight: 0 }));
  }

  pick(): Candidate | undefined {
    let best: NginxPeer | undefined;
    let many = false;
    for (const peer of this.peers) {
      if (best === undefined || peer.candidate.load.inFlight < best.candidate.load.inFlight) {
        best = peer;
        many = false;
      } else if (peer.candidate.load.inFlight === best.candidate.load.inFlight) many = true;
    }
    if (best === undefined) return undefined;
    if (many) {
      const least = best.candidate.load.inFlight;
      let total = 0;
      for (const peer of this.peers.slice(this.peers.indexOf(best))) {
        if (peer.candidate.load.inFlight !== least) continue;
        peer.currentWeight += 1;
        total += 1;
        if (peer.currentWeight > best.currentWeight) best = peer;
      }
      best.currentWeight -= total;
    }
    return best.candidate;
  }
}

/** nginx `random two least_conn`, equal weights: two distinct peers at random, the one with fewer conns; a tie to the second. */
class NginxRandomTwo implements SelectionStrategy {
  readonly usesKey = false;
  private candidates: readonly Candidate[] = [];

  constructor(private readonly random: Random) {}

  rebuild(candidates: readonly Candidate[]): void {
    this.candidates = candidates;
  }

  pick(): Candidate | undefined {
    const count = this.candidates.length;
    const first = Math.floor(this.random() * count);
    let second = Math.floor(this.random() * (count - 1));
    if (second >= first) second++;
    const a = this.candidates[first] as Candidate;
    const b = this.candidates[second] as Candidate;
    return a.load.inFlight < b.load.inFlight ? a : b;
  }
}

// The simulation ---------------------------------------------------------------

interface SimCandidate extends Candidate {
  readonly load: LoadFigures;
}

function strategyFor(algorithm: SimulatedAlgorithm, random: Random, estimate: LatencyEstimate, now: () => number): SelectionStrategy {
  switch (algorithm) {
    case 'round-robin':
      return new RoundRobin();
    case 'least-connections':
      return new LeastConnections();
    case 'p2c':
      return new PowerOfTwoChoices(random);
    case 'peak-ewma':
      return new PeakEwma(random, estimate, now);
    case 'nginx least_conn':
      return new NginxLeastConn();
    case 'nginx random two least_conn':
      return new NginxRandomTwo(random);
  }
}

export function simulate(config: SimulationConfig): SimulationResult {
  const { proxy, upstreams, load, durationMs } = config;
  const estimate = config.estimate ?? DEFAULT_LATENCY_ESTIMATE;
  const sampleKind = config.sample ?? 'raw';
  // Separate streams, so changing one thing (a stall rate) does not reshuffle every other draw.
  const pickRandom = mulberry32(config.seed);
  const upstreamRandom = mulberry32(config.seed + 1);
  const stallRandom = mulberry32(config.seed + 2);

  let now = 0;
  const candidates: SimCandidate[] = upstreams.delaysMs.map((_, index) => ({
    id: `u${index + 1}`,
    weight: 1,
    healthy: true,
    load: new LoadFigures(estimate),
  }));
  const strategy = strategyFor(config.algorithm, pickRandom, estimate, () => now);
  strategy.rebuild(candidates);

  const queue = new EventQueue();
  /** When the CPU is next free; work is first come, first served. */
  let cpuFreeAt = 0;
  let busyMs = 0;
  const onCpu = (at: number, costMs: number): number => {
    const start = Math.max(at, cpuFreeAt);
    cpuFreeAt = start + costMs;
    busyMs += costMs;
    return cpuFreeAt;
  };

  // Idle so far: the time not spent on work done by now (work still queued beyond now runs without a gap).
  // Preemptions, as [start, end) on the CPU's timeline in order: idle to the loop's clock, though nothing runs.
  const preempted: Array<[number, number]> = [];
  let preemptedDoneMs = 0;
  let preemptedDoneIndex = 0;
  const preemptedBy = (at: number): number => {
    while (preemptedDoneIndex < preempted.length && (preempted[preemptedDoneIndex] as [number, number])[1] <= at) {
      const [start, end] = preempted[preemptedDoneIndex++] as [number, number];
      preemptedDoneMs += end - start;
    }
    let partial = 0;
    for (let i = preemptedDoneIndex; i < preempted.length; i++) {
      const [start, end] = preempted[i] as [number, number];
      if (start >= at) break;
      partial += Math.min(end, at) - start;
    }
    return preemptedDoneMs + partial;
  };
  // The idle clock: the time not spent on work done by now (work still queued runs without a gap from now on),
  // with preemptions counted as idle.
  const ownDelay = new OwnDelay(() => now - (busyMs - Math.max(0, cpuFreeAt - now)) + preemptedBy(now));

  const served = candidates.map(() => 0);
  const latencies: number[] = [];
  const fastLatencies: number[] = [];
  const slowIndex = candidates.length - 1;

  const newRequest = (startedAt: number): SimRequest => ({ startedAt, upstream: -1, dispatchedAt: 0, idleAtDispatch: 0, upstreamMs: 0 });
  if (load.kind === 'open') {
    const interval = 1000 / load.ratePerSecond;
    for (let at = 0; at < durationMs; at += interval) queue.push(at, Kind.Arrive, newRequest(at));
  } else {
    for (let client = 0; client < load.clients; client++) queue.push(client * 0.01, Kind.Arrive, newRequest(client * 0.01));
  }
  const preemptionsPerSecond = proxy.preemptionsPerSecond ?? 0;
  if (preemptionsPerSecond > 0) {
    for (let at = exponential(stallRandom, 1000 / preemptionsPerSecond); at < durationMs; at += exponential(stallRandom, 1000 / preemptionsPerSecond)) {
      queue.push(at, Kind.Preemption, null);
    }
  }
  if (proxy.stallsPerSecond > 0) {
    for (let at = exponential(stallRandom, 1000 / proxy.stallsPerSecond); at < durationMs; at += exponential(stallRandom, 1000 / proxy.stallsPerSecond)) {
      queue.push(at, Kind.Stall, null);
    }
  }

  while (queue.size > 0) {
    const event = queue.pop();
    now = event.at;
    const request = event.request as SimRequest;
    switch (event.kind) {
      case Kind.Stall:
        onCpu(now, exponential(stallRandom, proxy.stallMeanMs));
        break;
      case Kind.Preemption: {
        const length = exponential(stallRandom, proxy.preemptionMeanMs ?? 0);
        const start = Math.max(now, cpuFreeAt);
        onCpu(now, length);
        busyMs -= length;
        preempted.push([start, start + length]);
        break;
      }
      case Kind.Arrive:
        queue.push(onCpu(now, proxy.requestCpuMs), Kind.Dispatch, request);
        break;
      case Kind.Dispatch: {
        const picked = strategy.pick('', []) as SimCandidate;
        const index = candidates.indexOf(picked);
        picked.load.attemptStarted();
        request.upstream = index;
        request.dispatchedAt = now;
        request.idleAtDispatch = ownDelay.idleNow();
        const slowNow = index === slowIndex && upstreams.changeAtMs !== undefined && now >= upstreams.changeAtMs;
        const delay = slowNow ? (upstreams.laterDelayMs as number) : (upstreams.delaysMs[index] as number);
        request.upstreamMs = delay + exponential(upstreamRandom, upstreams.jitterMeanMs);
        queue.push(now + request.upstreamMs, Kind.Answer, request);
        break;
      }
      case Kind.Answer:
        queue.push(onCpu(now, proxy.responseCpuMs), Kind.Reply, request);
        break;
      case Kind.Reply: {
        const figures = (candidates[request.upstream] as SimCandidate).load;
        const waitMs = now - request.dispatchedAt;
        const sample =
          sampleKind === 'raw' ? waitMs : sampleKind === 'upstream' ? request.upstreamMs : ownDelay.upstreamPart(waitMs, request.idleAtDispatch, now);
        figures.latencySampled(sample, now);
        figures.attemptEnded();
        if (request.startedAt >= 0) {
          const latency = now - request.startedAt;
          latencies.push(latency);
          if (request.upstream !== slowIndex) fastLatencies.push(latency);
          served[request.upstream] = (served[request.upstream] as number) + 1;
        }
        if (load.kind === 'closed' && now < durationMs) {
          const next = now + load.thinkMs;
          queue.push(next, Kind.Arrive, newRequest(next));
        }
        break;
      }
    }
  }
  latencies.sort((a, b) => a - b);
  fastLatencies.sort((a, b) => a - b);
  return {
    served,
    latenciesMs: latencies,
    fastLatenciesMs: fastLatencies,
    requestsPerSecond: (1000 * latencies.length) / durationMs,
    proxyBusy: busyMs / Math.max(now, durationMs),
  };
}
