/**
 * Every process the benchmark starts goes through here, so that one function
 * can end them all: on a normal exit, on an error, and on Ctrl-C or SIGTERM.
 * Each child leads its own process group (`detached`), and the whole group is
 * killed, so grandchildren (nginx's worker, balancebeam's cluster workers) go
 * too.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';

/**
 * An environment variable every process of a run inherits (value: the run's
 * scratch directory), so a test can check that none is left afterwards.
 */
export const RUN_MARKER = 'BALANCEBEAM_BENCH_RUN';

const children = new Set<ChildProcess>();
const directoriesToRemove = new Set<string>();

export interface StartedProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/**
 * Starts `command` in its own process group, tracked for clean-up, with a
 * high open-files limit. Its stdout and stderr go to `logPath` (never to a
 * pipe nobody reads, which would stall it).
 */
export function startTracked(command: string, args: string[], logPath: string, options: SpawnOptions = {}): StartedProcess {
  const log = openSync(logPath, 'a');
  const [wrapped, wrappedArgs] = withHighFileLimit(command, args);
  const child = spawn(wrapped, wrappedArgs, { ...options, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  children.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
    child.once('error', () => resolve());
  });
  return { child, pid: child.pid, exited };
}

/** Kills a process group: SIGTERM, then SIGKILL if it is still there after a grace period. */
export async function stopTracked(started: StartedProcess, graceMs = 2000): Promise<void> {
  signalGroup(started.pid, 'SIGTERM');
  const timedOut = await Promise.race([
    started.exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
  ]);
  // The leader may exit before its children (nginx's master waits, node's cluster may not).
  signalGroup(started.pid, 'SIGKILL');
  if (timedOut) await started.exited;
}

/**
 * Wraps a command so it runs with a high open-files limit (500 client
 * connections plus as many to the origins exceed a default of 1024). `exec`
 * keeps the pid, so the process stays the one tracked.
 */
export function withHighFileLimit(command: string, args: string[]): [string, string[]] {
  return ['sh', ['-c', 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh', command, ...args]];
}

/** The end of a log, for error messages (the run's directory is removed on exit). */
export function logTail(path: string, bytes = 2000): string {
  try {
    return readFileSync(path, 'utf8').slice(-bytes);
  } catch {
    return '(no log)';
  }
}

export function removeOnExit(directory: string): void {
  directoriesToRemove.add(directory);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Synchronous, so it can run from an 'exit' handler. */
export function killEverything(): void {
  for (const child of children) if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
  children.clear();
  for (const directory of directoriesToRemove) rmSync(directory, { recursive: true, force: true });
  directoriesToRemove.clear();
}

/** Installs the handlers that make an interrupted run leave nothing behind. */
export function cleanUpOnExit(): void {
  process.once('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping everything it started\n`);
      killEverything();
      process.exit(130);
    });
  }
}
