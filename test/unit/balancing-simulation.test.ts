/**
 * The deterministic model of the balancing bench (bench/balancing/simulation.ts)
 * with balancebeam's real strategies: what it says about the algorithms,
 * apart from the proxy running them, held as tests.
 */
import test from 'ava';
import { percentile } from '../../bench/balancing/report.js';
import { simulate, type LoadModel, type ProxyModel, type SimulationConfig, type UpstreamModel } from '../../bench/balancing/simulation.js';

const IDEAL: ProxyModel = { name: 'ideal', requestCpuMs: 0, responseCpuMs: 0, stallsPerSecond: 0, stallMeanMs: 0 };
/** balancebeam's measured CPU per request, and the stalls the bench's shared core showed. */
const STALLING: ProxyModel = { name: 'stalling', requestCpuMs: 0.15, responseCpuMs: 0.15, stallsPerSecond: 10, stallMeanMs: 5 };
const ONE_SLOW: UpstreamModel = { delaysMs: [10, 10, 10, 100], jitterMeanMs: 0.5 };
const OPEN: LoadModel = { kind: 'open', ratePerSecond: 300 };
const CLOSED: LoadModel = { kind: 'closed', clients: 16, thinkMs: 0.3 };

const base = { upstreams: ONE_SLOW, durationMs: 10_000, seed: 1 } as const;
const slowShare = (config: SimulationConfig): number => {
  const { served } = simulate(config);
  return (served.at(-1) ?? 0) / served.reduce((sum, count) => sum + count, 0);
};

test('the same configuration gives the same figures', (t) => {
  const config: SimulationConfig = { ...base, algorithm: 'p2c', proxy: STALLING, load: CLOSED };
  t.deepEqual(simulate(config), simulate(config));
});

test('least-connections places every request as nginx least_conn does, open and closed loop', (t) => {
  for (const load of [OPEN, CLOSED]) {
    const ours = simulate({ ...base, algorithm: 'least-connections', proxy: IDEAL, load });
    const nginx = simulate({ ...base, algorithm: 'nginx least_conn', proxy: IDEAL, load });
    t.deepEqual(ours.served, nginx.served, load.kind);
  }
});

test('p2c sends the slow upstream no more than nginx least_conn in the open loop, less than nginx random two', (t) => {
  const p2c = slowShare({ ...base, algorithm: 'p2c', proxy: IDEAL, load: OPEN });
  const leastConn = slowShare({ ...base, algorithm: 'nginx least_conn', proxy: IDEAL, load: OPEN });
  const randomTwo = slowShare({ ...base, algorithm: 'nginx random two least_conn', proxy: IDEAL, load: OPEN });
  t.log(`slow share: p2c ${(100 * p2c).toFixed(2)} %, nginx least_conn ${(100 * leastConn).toFixed(2)} %, random two ${(100 * randomTwo).toFixed(2)} %`);
  t.true(p2c <= leastConn);
  t.true(p2c < randomTwo);
});

test('peak-ewma on a stalling proxy: with its own delay taken out, the slow upstream stays under 1 % and p99 within 1.5× of the fast ones', (t) => {
  const config: SimulationConfig = { ...base, algorithm: 'peak-ewma', proxy: STALLING, load: CLOSED, durationMs: 20_000 };
  const raw = slowShare({ ...config, sample: 'raw' });
  const corrected = simulate({ ...config, sample: 'own-delay-out' });
  const share = (corrected.served.at(-1) ?? 0) / corrected.latenciesMs.length;
  const ratio = percentile(corrected.latenciesMs, 0.99) / percentile(corrected.fastLatenciesMs, 0.99);
  t.log(`slow share: raw samples ${(100 * raw).toFixed(2)} %, own delay out ${(100 * share).toFixed(2)} %; p99 / fast p99 ${ratio.toFixed(2)}`);
  t.true(share < raw);
  t.true(share < 0.01);
  t.true(ratio <= 1.5);
});
