/**
 * The benchmark harness in smoke mode (one round, 1 s per row), so it cannot
 * rot: every product × scenario gets a row with requests, the markdown and
 * the SVG are written, and nothing it started is left running. Runs on a
 * machine with only Node.js: balancebeam and the Node peers are always
 * measured, nginx and HAProxy when installed (the run names what it skipped),
 * and without wrk the harness's Node load loop drives the load. `.ci/run`
 * installs all three, so CI measures every product with wrk.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { processesOfRun } from '../helpers/bench-processes.js';
import { PRODUCTS } from '../../bench/products.js';
import { fromCsv } from '../../bench/report.js';
import { SCENARIOS } from '../../bench/scenarios.js';
import { locateTool } from '../../bench/tools.js';

const runScript = new URL('../../bench/run.js', import.meta.url).pathname;


test('npm run bench -- --smoke measures every product it can run under every scenario, names the ones it skipped, and cleans up', async (t) => {
  t.timeout(300_000);
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));

  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [runScript, '--smoke', '--no-install', '--out', out], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
  t.is(code, 0, `${stdout}\n${stderr}`);

  const runnable = PRODUCTS.filter((product) => product.needs.every((tool) => locateTool(tool) !== null));
  const skipped = PRODUCTS.filter((product) => !runnable.includes(product)).map((product) => product.name);
  const skippedLine = /skipped: (.*)/.exec(stdout)?.[1] ?? '';
  t.log(`skipped: ${skippedLine}; ${/load: .*/.exec(stdout)?.[0] ?? 'load: ?'}`);
  if (skipped.length === 0) t.is(skippedLine, 'none');
  for (const name of skipped) t.true(skippedLine.includes(`${name} (`), `the run says it skipped ${name}`);
  t.true(runnable.some((product) => product.name === 'balancebeam'), 'balancebeam is always measured');

  const rows = fromCsv(readFileSync(join(out, 'latest.csv'), 'utf8'));
  for (const name of skipped) t.false(rows.some((row) => row.product === name), `no row for the skipped ${name}`);
  for (const product of runnable) {
    for (const scenario of SCENARIOS) {
      const row = rows.find((candidate) => candidate.product === product.name && candidate.scenario === scenario.name);
      t.truthy(row, `a row for ${product.name} × ${scenario.name}`);
      if (row === undefined) continue;
      t.true(Number.isFinite(row.requestsPerS) && Number.isFinite(row.p99Ms), `${product.name} × ${scenario.name} has figures`);
      // One second per row on a machine shared with the rest of the suite: a cold proxy may still
      // complete nothing in a heavy row, so only the (warmed-up) keep-alive row must have served.
      if (scenario.name === 'keepalive-50') {
        t.true(row.requestsPerS > 0, `${product.name} × ${scenario.name} served requests`);
        t.is(row.errors, 0, `${product.name} × ${scenario.name} had no errors`);
        if (product.name !== 'direct') t.true((row.cpuUsPerRequest ?? 0) > 0, `${product.name} × ${scenario.name} has a CPU figure`);
      }
    }
  }
  t.regex(readFileSync(join(out, 'latest.md'), 'utf8'), /## keepalive-50[\s\S]*Per-request cost of the actor path/);
  // The visualizer's feed, off and on, against the same build (issue 15).
  t.regex(readFileSync(join(out, 'latest.md'), 'utf8'), /### Visualizer feed cost[\s\S]*feed on, no page open[\s\S]*Trace size: [\d,]+ bytes per 1,000 requests/);
  t.regex(readFileSync(join(out, 'latest.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/);

  const scratch = /scratch directory: (\S+)/.exec(stdout)?.[1];
  t.truthy(scratch, 'the run names its scratch directory');
  if (scratch !== undefined) {
    t.false(existsSync(scratch), 'the scratch directory is removed');
    t.deepEqual(processesOfRun(scratch), [], 'no process of the run is left');
  }
});
