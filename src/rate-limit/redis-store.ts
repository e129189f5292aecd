/**
 * The Redis store: every worker of every instance talks to one Redis itself
 * (no hop through the primary), one round trip per decision (DECIDE_SCRIPT,
 * redis-script.ts), auto-pipelined by ioredis so a busy worker sends many
 * decisions per write.
 *
 * Faults never hold a request up for longer than the store timeout, nor fail
 * it: a decision Redis has not answered in time is made without it, as
 * `--rate-limit-store-failure` says (`local`: this worker's own counts,
 * `open`: admit, `closed`: 503). After a lost connection, or a few timeouts
 * in a row (a Redis that hangs rather than refuses), the store falls back for
 * every request, logged once, until Redis answers again (reconnects with
 * back-off are ioredis's; a hung one is probed with PING, backing off),
 * logged once more. A late answer is ignored: its count stays in Redis.
 *
 * Why ioredis: auto-pipelining built in, defineCommand (EVALSHA, and EVAL
 * again on NOSCRIPT), TLS with `rediss://`, and it is maintained.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { MailboxRouter } from '../actors/router.js';
import { log } from '../log.js';
import type { Address, BruteForcePolicy, LimitCheck, StoreFailureMode } from '../protocol/index.js';
import { LimitEngine, STRIKE_MEMORY_MS, type CheckResult, type Decision } from './limit-math.js';
import { decideArguments, DECIDE_SCRIPT, LOGIN_FAILED_SCRIPT, loginFailedKeys } from './redis-script.js';
import type { RateLimitStore } from './store.js';
import { redactedUrl } from './store-url.js';
import { passVerdict, unavailableVerdict, verdictFor } from './verdict.js';

export interface RedisStoreSettings {
  readonly url: string;
  readonly timeoutMs: number;
  readonly failure: StoreFailureMode;
}

type Reply = (error: Error | null | undefined, result: unknown) => void;

/** The scripts as ioredis commands (defineCommand adds them at run time). */
interface ScriptedRedis {
  bbDecide(...args: [...(string | number)[], Reply]): void;
  bbLoginFailed(...args: [...(string | number)[], Reply]): void;
}

/** Timeouts in a row after which Redis counts as hung and every request is decided without it. */
const TIMEOUTS_BEFORE_FALLBACK = 3;
/** ioredis reconnects, and a hung Redis is probed, after 50 ms, doubling up to 2 s. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2_000;
/** The local fall-back's counts are swept this often. */
const LOCAL_SWEEP_MS = 10_000;


class PendingDecision {
  settled = false;
  readonly reply: Reply;

  constructor(
    readonly store: RedisStore,
    readonly requestId: number,
    readonly checks: readonly LimitCheck[],
    readonly headersWhenAllowed: boolean,
    readonly replyTo: Address,
    readonly deadline: number,
  ) {
    // One closure per decision: ioredis wants a callback (it makes a Promise per command anyway).
    this.reply = (error, result) => store.answered(this, error, result);
  }
}

export class RedisStore implements RateLimitStore {
  private readonly redis: Redis;
  private readonly scripted: ScriptedRedis;
  /** `connecting` until the first ready; `shared` while Redis decides; `fallen-back` while it cannot. */
  private mode: 'connecting' | 'shared' | 'fallen-back' = 'connecting';
  /** Decisions sent, oldest first (Redis answers in order); `head` is the oldest not yet settled. */
  private pending: PendingDecision[] = [];
  private head = 0;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private timeoutsInARow = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private probeDelayMs = RETRY_FIRST_MS;
  private probing = false;
  private readonly local = new LimitEngine();
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly settings: RedisStoreSettings,
    private readonly router: MailboxRouter,
  ) {
    this.redis = new Redis(settings.url, {
      enableAutoPipelining: true,
      // A command is never queued while disconnected (it fails at once and is decided without Redis),
      // nor resent after a reconnect (it was decided long ago).
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(10, attempt - 1)),
    });
    this.redis.defineCommand('bbDecide', { lua: DECIDE_SCRIPT });
    this.redis.defineCommand('bbLoginFailed', { lua: LOGIN_FAILED_SCRIPT, numberOfKeys: 3 });
    this.scripted = this.redis as unknown as ScriptedRedis;
    this.redis.on('ready', () => this.recovered('connected'));
    this.redis.on('close', () => this.fallBack('connection closed'));
    this.redis.on('error', (error: Error) => {
      log.debug('rate-limit store error', { store: redactedUrl(settings.url), error: error.message });
      if (this.mode === 'connecting') this.fallBack(error.message);
    });
    this.sweep = setInterval(() => this.local.expireIdle(Date.now()), LOCAL_SWEEP_MS);
    this.sweep.unref();
  }

  decide(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): boolean {
    if (this.mode !== 'shared' || this.redis.status !== 'ready') {
      this.decideWithoutRedis(requestId, checks, headersWhenAllowed, replyTo);
      return false;
    }
    const decision = new PendingDecision(this, requestId, checks, headersWhenAllowed, replyTo, performance.now() + this.settings.timeoutMs);
    this.pending.push(decision);
    if (this.deadlineTimer === null) this.armDeadline();
    this.scripted.bbDecide(...decideArguments(checks), decision.reply);
    return false;
  }

  loginFailed(key: string, policy: BruteForcePolicy): void {
    if (this.mode !== 'shared' || this.redis.status !== 'ready') {
      this.countLocally(key, policy);
      return;
    }
    const args = [...loginFailedKeys(key), policy.maxFailures, policy.windowMs, policy.lockoutMs, policy.maxLockoutMs, STRIKE_MEMORY_MS];
    this.scripted.bbLoginFailed(...args, (error, result) => {
      if (error !== null && error !== undefined) this.countLocally(key, policy);
      else if (Number(result) > 0) log.warn('client locked out', { client: key, lockoutMs: Number(result), reason: 'failed logins' });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.settleAllWithoutRedis();
    this.redis.disconnect();
    return Promise.resolve();
  }

  /** Redis answered a decision (or failed it). */
  answered(decision: PendingDecision, error: Error | null | undefined, result: unknown): void {
    if (!decision.settled) {
      decision.settled = true;
      if (error !== null && error !== undefined || !Array.isArray(result)) {
        log.debug('rate-limit store refused a decision', { error: error?.message ?? 'bad reply' });
        this.decideWithoutRedis(decision.requestId, decision.checks, decision.headersWhenAllowed, decision.replyTo);
      } else {
        this.timeoutsInARow = 0;
        const verdict = verdictFor(decision.requestId, decision.checks, decisionOf(result as number[], decision.checks.length), decision.headersWhenAllowed);
        this.router.send(decision.replyTo, verdict);
      }
    }
    this.dropSettled();
  }

  private dropSettled(): void {
    const pending = this.pending;
    while (this.head < pending.length && (pending[this.head] as PendingDecision).settled) this.head++;
    if (this.head === pending.length) {
      pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > pending.length) {
      this.pending = pending.slice(this.head);
      this.head = 0;
    }
  }

  /** One timer for all decisions in flight, at the oldest one's deadline. */
  private armDeadline(): void {
    const oldest = this.pending[this.head];
    if (oldest === undefined) return;
    this.deadlineTimer = setTimeout(() => this.deadlinePassed(), Math.max(0, oldest.deadline - performance.now()));
  }

  private deadlinePassed(): void {
    this.deadlineTimer = null;
    const now = performance.now();
    let timedOut = 0;
    for (; this.head < this.pending.length; this.head++) {
      const decision = this.pending[this.head] as PendingDecision;
      if (decision.settled) continue;
      if (decision.deadline > now) break;
      decision.settled = true;
      timedOut++;
      this.decideWithoutRedis(decision.requestId, decision.checks, decision.headersWhenAllowed, decision.replyTo);
    }
    this.dropSettled();
    if (timedOut > 0) {
      this.timeoutsInARow += timedOut;
      if (this.timeoutsInARow >= TIMEOUTS_BEFORE_FALLBACK) this.fallBack(`${this.timeoutsInARow} decisions in a row took over ${this.settings.timeoutMs} ms`);
    }
    if (this.deadlineTimer === null) this.armDeadline();
  }

  private decideWithoutRedis(requestId: number, checks: readonly LimitCheck[], headersWhenAllowed: boolean, replyTo: Address): void {
    switch (this.settings.failure) {
      case 'open':
        this.router.send(replyTo, passVerdict(requestId));
        return;
      case 'closed':
        this.router.send(replyTo, unavailableVerdict(requestId));
        return;
      case 'local':
        this.router.send(replyTo, verdictFor(requestId, checks, this.local.decide(checks, Date.now()), headersWhenAllowed));
    }
  }

  private countLocally(key: string, policy: BruteForcePolicy): void {
    const lockoutMs = this.local.recordFailure(key, policy, Date.now());
    if (lockoutMs > 0) log.warn('client locked out', { client: key, lockoutMs, reason: 'failed logins (counted locally)' });
  }

  private settleAllWithoutRedis(): void {
    for (; this.head < this.pending.length; this.head++) {
      const decision = this.pending[this.head] as PendingDecision;
      if (decision.settled) continue;
      decision.settled = true;
      this.decideWithoutRedis(decision.requestId, decision.checks, decision.headersWhenAllowed, decision.replyTo);
    }
    this.dropSettled();
  }

  private fallBack(reason: string): void {
    if (this.closed) return;
    // Nothing in flight waits for its deadline once Redis is known to be gone or hung.
    this.settleAllWithoutRedis();
    if (this.mode === 'fallen-back') return;
    this.mode = 'fallen-back';
    log.warn('rate-limit store unavailable', {
      store: redactedUrl(this.settings.url),
      reason,
      failure: this.settings.failure,
      meaning: FAILURE_MEANING[this.settings.failure],
    });
    this.probeDelayMs = RETRY_FIRST_MS;
    this.scheduleProbe();
  }

  /**
   * While fallen back on an open connection (Redis hung), PING it, backing off; when the
   * connection itself is down, ioredis's reconnect brings `ready`, and that recovers.
   */
  private scheduleProbe(): void {
    if (this.probeTimer !== null || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (this.mode !== 'fallen-back' || this.closed) return;
      if (this.redis.status === 'ready' && !this.probing) {
        this.probing = true;
        void this.redis.ping((error) => {
          this.probing = false;
          if (error === null || error === undefined) this.recovered('answering again');
          else this.scheduleProbe();
        });
      } else if (!this.probing) {
        this.scheduleProbe();
      }
      this.probeDelayMs = Math.min(RETRY_MAX_MS, this.probeDelayMs * 2);
    }, this.probeDelayMs);
    this.probeTimer.unref();
  }

  private recovered(how: string): void {
    if (this.closed) return;
    this.timeoutsInARow = 0;
    const was = this.mode;
    this.mode = 'shared';
    if (was === 'fallen-back') log.info('rate-limit store recovered', { store: redactedUrl(this.settings.url), how });
    else if (was === 'connecting') log.info('rate-limit store connected', { store: redactedUrl(this.settings.url) });
  }
}

const FAILURE_MEANING: Readonly<Record<StoreFailureMode, string>> = {
  local: 'each worker limits on its own until Redis is back',
  open: 'every request is admitted until Redis is back',
  closed: 'every limited request is answered 503 until Redis is back',
};

/** DECIDE_SCRIPT's reply → a Decision. */
function decisionOf(reply: readonly number[], checks: number): Decision {
  const results: CheckResult[] = [];
  const allowed = reply[0] === 1;
  for (let i = 0; i < checks; i++) {
    const remaining = Number(reply[2 + i * 2]);
    results.push({ allowed, retryAfterMs: 0, remaining, resetMs: Number(reply[3 + i * 2]) });
  }
  return { allowed, retryAfterMs: Number(reply[1]), results };
}
