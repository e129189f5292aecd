/**
 * Taking the proxy's own delay out of a latency sample.
 *
 * A response head is timed when this process's event loop gets to it. When
 * the loop was busy elsewhere (a burst of other requests, a garbage
 * collection, JIT compilation in the first seconds, another process on the
 * core), the bytes sat in the socket meanwhile and the sample is that much
 * longer than the upstream's own time. Such a delay is common to every
 * upstream with a request in flight at that moment, so it is no reason to
 * prefer one over another; but it is additive, and peak-EWMA's estimate jumps
 * to a slow sample at once and takes its decay time (10 s) to come back: a
 * 20 ms stall turns a 10 ms upstream into a 30 ms one for seconds, while a
 * 100 ms one barely moves, and peak-EWMA then sends the slow one its share
 * whenever it is idle. Measured in the bench: the fast upstreams' estimates
 * sat at 26–88 ms for whole cells, and the simulation
 * (bench/balancing/simulation.ts) puts the slow upstream's closed-loop share
 * at 1.1 % with such samples and 0.55 % with the upstreams' own times.
 *
 * What can be known cheaply is how long the loop was idle during the wait
 * (libuv's idle-time counter, `performance.nodeTiming.idleTime`, one native
 * read): it was not sitting on ready bytes then. In an ordinary wait the loop
 * is busy about its usual share `u` of the time (other requests) and still
 * reads the bytes promptly, so an ordinary wait is `idle / (1 − u)` long; a
 * wait that spans a stall has the same idle part and a longer busy one. So
 * the sample is `min(wait, idle / (1 − u))`: an ordinary wait keeps its
 * length, a wait across a stall loses the stall. `u` is the loop's busy share
 * over the last whole second, measured on the way (no timer); 0 until then,
 * which makes the first second's samples the idle part alone, a bound that
 * is surely the upstream's. `u` is taken as at most 0.9 and a sample as at
 * least a tenth of the wait, so a loop busy the whole wait (a cold start)
 * never reads an upstream as answering in no time: a first sample replaces
 * the assumed latency outright (load.ts), and an estimate near zero would
 * draw every request until a slower sample came back.
 *
 * What it cannot take out: time this process waited for a CPU while another
 * process ran (libuv counts it as idle), so on an overloaded machine samples
 * still carry some of that.
 */
import { performance } from 'node:perf_hooks';

/** How long the busy share is measured over before it is taken as the usual one. */
const WINDOW_MS = 1_000;
/** The most of a wait's length taken out: the usual busy share is read as at most 1 − this. */
const MIN_PART = 0.1;

export type IdleClock = () => number;

/** libuv's idle time of this process's loop, ms. */
const loopIdleTime: IdleClock = () => performance.nodeTiming.idleTime;

export class OwnDelay {
  /** 0 until a whole window has been measured: a wait's idle part alone, the bound that is surely the upstream's. */
  private usualBusyShare = 0;
  private windowStartedAt = -1;
  private windowIdleAtStart = 0;

  constructor(private readonly idleClock: IdleClock = loopIdleTime) {}

  /** The loop's idle time so far, to stamp the start of a wait with. */
  idleNow(): number {
    return this.idleClock();
  }

  /**
   * The upstream's part of a wait that lasted `waitMs` up to `now` and
   * started when the idle clock read `idleAtStart`.
   */
  upstreamPart(waitMs: number, idleAtStart: number, now: number): number {
    const idle = this.idleClock();
    this.measureUsualShare(now, idle);
    const ordinaryMs = Math.max(0, idle - idleAtStart) / (1 - this.usualBusyShare);
    return Math.min(waitMs, Math.max(ordinaryMs, MIN_PART * waitMs));
  }

  private measureUsualShare(now: number, idle: number): void {
    if (this.windowStartedAt < 0) {
      this.windowStartedAt = now;
      this.windowIdleAtStart = idle;
      return;
    }
    const elapsed = now - this.windowStartedAt;
    if (elapsed < WINDOW_MS) return;
    this.usualBusyShare = Math.min(1 - MIN_PART, Math.max(0, 1 - (idle - this.windowIdleAtStart) / elapsed));
    this.windowStartedAt = now;
    this.windowIdleAtStart = idle;
  }
}

/** This process's loop: one for every upstream and listener in it. */
export const ownDelay = new OwnDelay();
