/**
 * bench/ab.ts at its smallest (one round, 1 s rows after 1 s of warm-up, two
 * contenders, one of them with node flags of its own), so it cannot rot: a
 * row for each contender, the table with its ratios to the first and to
 * undici-minimal, and nothing it started left running. Skipped, naming what
 * is missing, without wrk or nginx: the tool then falls back to the Node load
 * loop and origins, which the harness's smoke test already covers.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'ava';
import { processesOfRun } from '../helpers/bench-processes.js';
import { locateTool } from '../../bench/tools.js';

const script = new URL('../../bench/ab.js', import.meta.url).pathname;
const missing = (['wrk', 'nginx'] as const).filter((tool) => locateTool(tool) === null);
const title = 'bench/ab.ts measures each contender in turn, prints its ratios to the first and to undici-minimal, and cleans up';

(missing.length === 0 ? test : test.skip)(missing.length === 0 ? title : `${title} (skipped: ${missing.join(', ')} not installed)`, async (t) => {
  t.timeout(120_000);
  const args = [script, '--rounds', '1', '--seconds', '1', '--warmup', '1', '--scenarios', 'keepalive-50', 'flags=balancebeam:--max-semi-space-size=16', 'undici-minimal'];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
  t.is(code, 0, `${stdout}\n${stderr}`);
  t.regex(stdout, /round 1\/1 keepalive-50 flags: \d+ req\/s, \S+ µs\/req, p99 /);
  t.regex(stdout, /round 1\/1 keepalive-50 undici-minimal: \d+ req\/s, \S+ µs\/req, p99 /);
  // A cold proxy on a busy core may serve nothing in a second: its ratios are then '–', not a failure.
  t.regex(stdout, /keepalive-50\n\| contender \| CPU µs\/req \(median\) \| req\/s \(median\) \| CPU ÷ flags, same round[^\n]*\| CPU ÷ undici-minimal/);
  t.regex(stdout, /\n\| flags( \(1 round\(s\) served nothing\))? \| [^\n]+\|\n\| undici-minimal( \(1 round\(s\) served nothing\))? \| [^\n]+\|/);
  const scratch = /scratch directory: (\S+)/.exec(stdout)?.[1];
  t.truthy(scratch, 'it names its scratch directory');
  if (scratch !== undefined) {
    t.false(existsSync(scratch), 'the scratch directory is removed');
    t.deepEqual(processesOfRun(scratch), [], 'no process of the run is left');
  }
});

test('bench/ab.ts answers a contender it does not know with the products and its usage', async (t) => {
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [script, 'balancebeam', 'no-such-proxy'], (error, _stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number | null), stderr }),
    );
  });
  t.is(code, 2);
  t.regex(stderr, /ab: no product no-such-proxy in no-such-proxy; the products: direct, nginx, [\s\S]*usage: node dist\/bench\/ab\.js/);
});
