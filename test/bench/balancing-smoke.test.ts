/**
 * The balancing bench in its shortest form (one balancebeam product, 1 s
 * per cell), so it cannot rot: a row per scenario × load with answers from
 * every upstream, the hashing table, the SVG, and nothing left running.
 * Needs only Node.js: nginx and HAProxy are not asked for.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { processesOfRun } from '../helpers/bench-processes.js';

const runScript = new URL('../../bench/balancing/run.js', import.meta.url).pathname;


test('npm run bench:balancing -- --smoke --only "balancebeam round-robin" measures every cell, the hashing scenario, and cleans up', async (t) => {
  t.timeout(60_000);
  const out = mkdtempSync(join(tmpdir(), 'balancing-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const args = [runScript, '--smoke', '--seconds', '1', '--only', 'balancebeam round-robin', '--out', out];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
  t.is(code, 0, `${stdout}\n${stderr}`);

  const report = readFileSync(join(out, 'balancing.md'), 'utf8');
  t.is(report, stdout, 'the report on stdout is the one written');
  const rows = report.split('\n').filter((line) => line.startsWith('| one slow |') || line.startsWith('| degrades |'));
  t.is(rows.length, 4, 'one row per scenario × load');
  for (const row of rows) {
    const cells = row.split('|').map((cell) => cell.trim());
    t.is(cells[3], 'balancebeam round-robin');
    // round-robin over four upstreams: each served about a quarter, whatever the machine's load.
    for (const share of cells.slice(4, 8).map(Number)) t.true(share > 15 && share < 35, `a round-robin share near 25 %: ${row}`);
    t.true(Number(cells[15]) > 0, `the proxy's CPU per request is measured: ${row}`);
  }
  t.regex(report, /keys of u1–u3 moved \| 0 \(0\.00 %\)/);
  t.regex(report, /keys back where they were \| 10000 of 10000/);
  t.regex(readFileSync(join(out, 'balancing.svg'), 'utf8'), /^<svg[\s\S]*<polyline[\s\S]*<\/svg>\s*$/);

  const scratch = /scratch directory: (\S+)/.exec(stderr)?.[1];
  t.truthy(scratch, 'the run names its scratch directory');
  if (scratch !== undefined) {
    t.false(existsSync(scratch), 'the scratch directory is removed');
    t.deepEqual(processesOfRun(scratch), [], 'no process of the run is left');
  }
});
