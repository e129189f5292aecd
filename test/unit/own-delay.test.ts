/** Taking the proxy's own delay out of a latency sample (src/balancing/own-delay.ts), on a scripted idle clock. */
import test from 'ava';
import { OwnDelay } from '../../src/balancing/own-delay.js';

/** An idle clock the test moves: `idle` ms of idle time so far. */
function scripted(): { clock: { idle: number }; delay: OwnDelay } {
  const clock = { idle: 0 };
  return { clock, delay: new OwnDelay(() => clock.idle) };
}

test('before a whole second has been measured: the idle part of the wait, at least a tenth of it', (t) => {
  const { clock, delay } = scripted();
  const start = delay.idleNow();
  clock.idle = 7; // a 10 ms wait, 7 ms of it idle
  t.is(delay.upstreamPart(10, start, 100), 7);
  // A wait the loop was busy for all along (a cold start): a tenth, never nothing.
  t.is(delay.upstreamPart(40, clock.idle, 140), 4);
});

test('after a second at its usual busy share: an ordinary wait keeps its length, a stall is taken out', (t) => {
  const { clock, delay } = scripted();
  delay.upstreamPart(1, 0, 0); // the measured window opens at 0
  clock.idle = 700; // 1 s, 30 % busy
  delay.upstreamPart(1, 0, 1_000);
  // An ordinary 10 ms wait: 7 ms idle, 7 / 0.7 = 10.
  const ordinaryStart = clock.idle;
  clock.idle += 7;
  t.true(Math.abs(delay.upstreamPart(10, ordinaryStart, 1_010) - 10) < 1e-9);
  // The same upstream across a 30 ms stall: a 40 ms wait with the same 7 ms idle reads 10 ms.
  const stalledStart = clock.idle;
  clock.idle += 7;
  t.true(Math.abs(delay.upstreamPart(40, stalledStart, 1_050) - 10) < 1e-9);
  // Never longer than the wait itself (a wait idler than usual).
  const idleStart = clock.idle;
  clock.idle += 10;
  t.is(delay.upstreamPart(10, idleStart, 1_060), 10);
});

test('a loop busy nearly all along counts as at most 90 % busy', (t) => {
  const { clock, delay } = scripted();
  delay.upstreamPart(1, 0, 0);
  clock.idle = 10; // 1 s, 99 % busy
  delay.upstreamPart(1, 0, 1_000);
  const start = clock.idle;
  clock.idle += 1;
  t.true(Math.abs(delay.upstreamPart(20, start, 1_020) - 10) < 1e-9, '1 / (1 − 0.9)');
});

test('the real clock: an idle wait is read as idle', async (t) => {
  const delay = new OwnDelay();
  const start = delay.idleNow();
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 30));
  const waited = performance.now() - startedAt;
  const part = delay.upstreamPart(waited, start, performance.now());
  t.true(part > 0.5 * waited && part <= waited, `${part} of ${waited} ms`);
});
