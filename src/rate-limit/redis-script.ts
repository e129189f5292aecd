/**
 * The Redis store's two Lua scripts: the same arithmetic as limit-math.ts,
 * run atomically inside Redis, so one round trip checks and counts every
 * limit of a request, and time comes from one clock for every instance
 * (Redis `TIME`: instance clock skew cannot break a limit). Keys carry an
 * expiry, so Redis memory stays bounded by the clients active lately.
 *
 * ioredis's defineCommand sends EVAL the first time on each connection and
 * EVALSHA after, and resends on `NOSCRIPT` (a restarted or flushed Redis).
 */
import type { LimitCheck } from '../protocol/index.js';
import { burstOf, counterKeyOf, failuresKeyOf, lockKeyOf, strikesKeyOf } from './limit-math.js';

export const KEY_PREFIX = 'bb:';

/**
 * KEYS: one counter per check. ARGV: four per check: algorithm (f fixed, s
 * sliding, g gcra, l lock-out), limit, window ms, burst.
 * Returns { admitted 0|1, retry-after ms, then per check: remaining, reset ms }.
 */
export const DECIDE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = #KEYS
local admitted = true
local retry = 0
local out = {0, 0}
local writes = {}
for i = 1, n do
  local b = (i - 1) * 4
  local algo = ARGV[b + 1]
  local limit = tonumber(ARGV[b + 2])
  local w = tonumber(ARGV[b + 3])
  local burst = tonumber(ARGV[b + 4])
  local key = KEYS[i]
  local ok, wait, rem, reset = true, 0, -1, 0
  if algo == 'l' then
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then ok = false; wait = ttl; reset = ttl end
  elseif algo == 'g' then
    local T = w / limit
    local tau = burst * T
    local tat = tonumber(redis.call('GET', key)) or now
    if tat < now then tat = now end
    local nxt = tat + T
    if nxt - now <= tau + 0.001 then
      rem = math.floor((tau - (nxt - now)) / T + 0.000001); reset = nxt - now
      writes[i] = {nxt}
    else
      ok = false; wait = nxt - tau - now; rem = 0; reset = tat - now
    end
  else
    local h = redis.call('HMGET', key, 's', 'c', 'p')
    local s = tonumber(h[1]) or now
    local c = tonumber(h[2]) or 0
    local p = tonumber(h[3]) or 0
    local passed = math.floor((now - s) / w)
    if passed > 0 then
      if passed == 1 then p = c else p = 0 end
      c = 0
      s = s + passed * w
    end
    local elapsed = now - s
    reset = s + w - now
    if algo == 'f' then
      if c < limit then rem = limit - c - 1; writes[i] = {s, c + 1, p, s + w - now}
      else ok = false; wait = reset; rem = 0 end
    else
      local est = p * math.max(0, 1 - elapsed / w) + c
      if est + 1 <= limit then
        rem = math.max(0, math.floor(limit - est - 1)); writes[i] = {s, c + 1, p, s + 2 * w - now}
      else
        ok = false; rem = 0
        local room = limit - 1 - c
        if room >= 0 and p > 0 then wait = w * (1 - room / p) - elapsed
        else
          local after = 0
          if c > 0 then after = w * (1 - (limit - 1) / c) end
          wait = (w - elapsed) + math.max(0, after)
        end
      end
    end
  end
  if not ok then
    admitted = false
    if wait > retry then retry = wait end
  end
  out[2 + (i - 1) * 2 + 1] = rem
  out[2 + (i - 1) * 2 + 2] = math.ceil(reset)
end
if admitted then
  for i = 1, n do
    local wr = writes[i]
    if wr ~= nil then
      if #wr == 1 then
        redis.call('SET', KEYS[i], wr[1], 'PX', math.max(1, math.ceil(wr[1] - now)))
      else
        redis.call('HSET', KEYS[i], 's', wr[1], 'c', wr[2], 'p', wr[3])
        redis.call('PEXPIRE', KEYS[i], math.max(1, math.ceil(wr[4])))
      end
    end
  end
  out[1] = 1
end
out[2] = math.ceil(retry)
return out
`;

/**
 * KEYS: failures, lock, strikes. ARGV: max failures, window ms, lock-out ms,
 * max lock-out ms, strike memory ms. Returns the lock-out started (ms), 0 if none.
 */
export const LOGIN_FAILED_SCRIPT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if c < tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
local strikes = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local lock = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ math.min(30, strikes - 1))
lock = math.ceil(lock)
redis.call('SET', KEYS[2], '1', 'PX', lock)
return lock
`;

const ALGORITHM_CODE = { 'fixed-window': 'f', 'sliding-window': 's', gcra: 'g' } as const;

/** numkeys, KEYS, ARGV of DECIDE_SCRIPT for one request's checks. */
export function decideArguments(checks: readonly LimitCheck[]): (string | number)[] {
  const n = checks.length;
  const args = new Array<string | number>(1 + n * 5);
  args[0] = n;
  for (let i = 0; i < n; i++) {
    const check = checks[i] as LimitCheck;
    const limit = check.limit;
    args[1 + i] = KEY_PREFIX + counterKeyOf(check);
    const b = 1 + n + i * 4;
    args[b] = limit === null ? 'l' : ALGORITHM_CODE[limit.algorithm];
    args[b + 1] = limit === null ? 0 : limit.limit;
    args[b + 2] = limit === null ? 0 : limit.windowMs;
    args[b + 3] = limit === null ? 0 : burstOf(limit);
  }
  return args;
}

export function loginFailedKeys(key: string): string[] {
  return [KEY_PREFIX + failuresKeyOf(key), KEY_PREFIX + lockKeyOf(key), KEY_PREFIX + strikesKeyOf(key)];
}
