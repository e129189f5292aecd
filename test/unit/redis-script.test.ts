/**
 * The Redis store's Lua (redis-script.ts) against the memory store's
 * arithmetic (limit-math.ts), on a real redis-server: the same checks give
 * the same verdicts and remaining counts. Windows of a minute, so the few
 * milliseconds Redis's clock moves during the test change nothing.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import type { BruteForcePolicy, LimitCheck } from '../../src/protocol/index.js';
import { LimitEngine, STRIKE_MEMORY_MS } from '../../src/rate-limit/limit-math.js';
import { decideArguments, DECIDE_SCRIPT, LOGIN_FAILED_SCRIPT, loginFailedKeys } from '../../src/rate-limit/redis-script.js';
import { startRedis } from '../helpers/redis.js';

async function connect(t: Parameters<typeof startRedis>[0]): Promise<Redis> {
  const redis = await startRedis(t);
  const client = new Redis(redis.port, '127.0.0.1');
  t.teardown(() => client.disconnect());
  return client;
}

test('decisions: Lua and JavaScript agree, for each algorithm and for several checks at once', async (t) => {
  const client = await connect(t);
  const engine = new LimitEngine();
  const sequences: LimitCheck[][] = [
    [{ rule: 'f', key: 'a', limit: { algorithm: 'fixed-window', limit: 4, windowMs: 60_000 } }],
    [{ rule: 's', key: 'a', limit: { algorithm: 'sliding-window', limit: 4, windowMs: 60_000 } }],
    [{ rule: 'g', key: 'a', limit: { algorithm: 'gcra', limit: 6, windowMs: 60_000, burst: 3 } }],
    [
      { rule: 'wide', key: 'b', limit: { algorithm: 'fixed-window', limit: 5, windowMs: 60_000 } },
      { rule: 'narrow', key: 'b', limit: { algorithm: 'gcra', limit: 2, windowMs: 60_000 } },
    ],
  ];
  const now = Date.now();
  for (const checks of sequences) {
    const fromLua: string[] = [];
    const fromJs: string[] = [];
    for (let i = 0; i < 7; i++) {
      const reply = (await client.call('EVAL', DECIDE_SCRIPT, ...decideArguments(checks))) as number[];
      fromLua.push(`${reply[0] === 1 ? 'admit' : 'deny'} ${checks.map((_, c) => reply[2 + c * 2]).join('/')}`);
      const decision = engine.decide(checks, now);
      fromJs.push(`${decision.allowed ? 'admit' : 'deny'} ${decision.results.map((result) => result.remaining).join('/')}`);
    }
    t.deepEqual(fromLua, fromJs, checks.map((check) => check.rule).join('+'));
  }
});

test('denied: the Retry-After of Lua and JavaScript agree within the clock’s drift', async (t) => {
  const client = await connect(t);
  const engine = new LimitEngine();
  const checks: LimitCheck[] = [{ rule: 'g', key: 'r', limit: { algorithm: 'gcra', limit: 2, windowMs: 60_000, burst: 1 } }];
  await client.call('EVAL', DECIDE_SCRIPT, ...decideArguments(checks));
  engine.decide(checks, 0);
  const reply = (await client.call('EVAL', DECIDE_SCRIPT, ...decideArguments(checks))) as number[];
  const decision = engine.decide(checks, 0);
  t.is(reply[0], 0);
  t.false(decision.allowed);
  t.is(decision.retryAfterMs, 30_000);
  t.true(Math.abs((reply[1] as number) - 30_000) < 1_000, `Lua: ${reply[1]} ms`);
});

test('a lock-out check: nothing is counted, and a locked key is denied for its remaining time', async (t) => {
  const client = await connect(t);
  const lock: LimitCheck[] = [{ rule: 'login', key: 'c', limit: null }];
  const open = (await client.call('EVAL', DECIDE_SCRIPT, ...decideArguments(lock))) as number[];
  t.is(open[0], 1);
  const policy: BruteForcePolicy = { maxFailures: 2, windowMs: 60_000, lockoutMs: 10_000, maxLockoutMs: 640_000 };
  const args = [policy.maxFailures, policy.windowMs, policy.lockoutMs, policy.maxLockoutMs, STRIKE_MEMORY_MS];
  const engine = new LimitEngine();
  const lua: number[] = [];
  const js: number[] = [];
  for (let i = 0; i < 6; i++) {
    lua.push(Number(await client.call('EVAL', LOGIN_FAILED_SCRIPT, 3, ...loginFailedKeys('c'), ...args)));
    js.push(engine.recordFailure('c', policy, 0));
  }
  t.deepEqual(lua, [0, 10_000, 0, 20_000, 0, 40_000], 'every second failure locks out, each time twice as long');
  t.deepEqual(js, lua);
  const locked = (await client.call('EVAL', DECIDE_SCRIPT, ...decideArguments(lock))) as number[];
  t.is(locked[0], 0);
  t.true((locked[1] as number) > 39_000 && (locked[1] as number) <= 40_000);
});
