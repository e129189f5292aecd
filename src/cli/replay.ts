/**
 * `balancebeam replay TRACE [--bind HOST:PORT]`: serves the visualizer's
 * page over a recorded trace (written with --trace-file), with a time
 * slider, play/pause and speed, until interrupted.
 */
import { parseArgs } from 'node:util';
import { replaySource } from '../admin/visualizer/feed-source.js';
import { visualizerRoutes } from '../admin/visualizer/routes.js';
import { startAdminServer } from '../admin/server.js';
import { readTrace, TraceError } from '../admin/visualizer/trace-file.js';
import { bindAddress } from '../config/setting-types.js';

export const REPLAY_USAGE = 'usage: balancebeam replay TRACE-FILE [--bind HOST:PORT] (default 127.0.0.1:1180)';

/** Resolves once the page is served; the process then runs until it is signalled. */
export async function runReplay(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { bind: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`balancebeam replay: ${(error as Error).message}\n${REPLAY_USAGE}\n`);
    return 2;
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  const [path, ...extra] = parsed.positionals;
  if (path === undefined || extra.length > 0) {
    process.stderr.write(`balancebeam replay: ${path === undefined ? 'which trace file?' : `unexpected argument '${extra[0]}'`}\n${REPLAY_USAGE}\n`);
    return 2;
  }
  const bind = bindAddress.fromFlag(parsed.values.bind ?? '127.0.0.1:1180');
  if (!bind.ok) {
    process.stderr.write(`balancebeam replay: --bind: ${bind.problems.map((problem) => problem.message).join('; ')}\n`);
    return 2;
  }
  let trace;
  try {
    trace = await readTrace(path);
  } catch (error) {
    const reason = error instanceof TraceError ? error.message : `cannot read ${path}: ${(error as Error).message}`;
    process.stderr.write(`balancebeam replay: ${reason}\n`);
    return 1;
  }
  try {
    const { address } = await startAdminServer({ ...bind.value, token: null }, visualizerRoutes({ source: replaySource(trace) }));
    const first = trace.frames[0]?.time;
    const last = trace.frames.at(-1)?.time;
    const span = first === undefined || last === undefined ? 'no frames' : `${trace.frames.length} frames over ${((last - first) / 1000).toFixed(1)} s`;
    process.stdout.write(`balancebeam replay: ${path} (${span}) at http://${address}/\n`);
  } catch (error) {
    process.stderr.write(`balancebeam replay: cannot listen on ${parsed.values.bind ?? '127.0.0.1:1180'}: ${(error as Error).message}\n`);
    return 1;
  }
  return -1;
}
