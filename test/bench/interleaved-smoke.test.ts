/**
 * bench/interleaved.ts at its smallest (one round, 1 s rows after 1 s of warm-up),
 * so it cannot rot: a row for each product × scenario, the medians against
 * the first product, and nothing it started left running.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'ava';
import { processesOfRun } from '../helpers/bench-processes.js';

const script = new URL('../../bench/interleaved.js', import.meta.url).pathname;

test('bench/interleaved.ts measures each product in turn, prints its ratio to the first, and cleans up', async (t) => {
  t.timeout(120_000);
  const args = [script, '--rounds', '1', '--seconds', '1', '--warmup', '1', '--scenarios', 'keepalive-50', 'balancebeam', 'balancebeam-rl-memory'];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
  t.is(code, 0, `${stdout}\n${stderr}`);
  t.regex(stdout, /round 1 balancebeam\s+keepalive-50\s+\d+ req\/s/);
  t.regex(stdout, /round 1 balancebeam-rl-memory\s+keepalive-50\s+\d+ req\/s/);
  // A cold proxy on a busy core may serve nothing in a second: its row is then left out of the medians, not a failure.
  t.regex(stdout, /keepalive-50:\n\s+balancebeam\s+\S+ µs\/req\s+ratio \S+[\s\S]*balancebeam-rl-memory\s+\S+ µs\/req\s+ratio/);
  const scratch = /scratch directory: (\S+)/.exec(stdout)?.[1];
  t.truthy(scratch, 'it names its scratch directory');
  if (scratch !== undefined) {
    t.false(existsSync(scratch), 'the scratch directory is removed');
    t.deepEqual(processesOfRun(scratch), [], 'no process of the run is left');
  }
});
