/**
 * The balancebeam CLI as a child process: started on 127.0.0.1 port 0, its
 * port read from its `listening` log line, its stderr kept as parsed JSON log
 * lines, and torn down (with any worker processes) when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { waitFor, withDeadline } from './wait.js';

/** The compiled CLI: this file is dist/test/helpers/balancer.js. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** One JSON log line from stderr (`raw` holds the text; non-JSON lines have only `raw`). */
export interface LogLine {
  readonly raw: string;
  readonly time?: string;
  readonly level?: string;
  readonly node?: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Children still running when the test process exits (e.g. after an ava timeout) are killed then. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function parseLine(raw: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return { ...(parsed as Record<string, unknown>), raw };
    }
  } catch {
    // Not JSON: kept as raw text.
  }
  return { raw };
}

/** Every process descended from `pid` (cluster workers), from /proc. */
export function descendantPids(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number): void => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(/\s+/).filter((word) => word !== '')) {
        const childPid = Number(child);
        if (!found.includes(childPid)) {
          found.push(childPid);
          visit(childPid);
        }
      }
    }
  };
  visit(pid);
  return found;
}

/**
 * Whether a process with this pid is still running. A zombie (exited, not yet reaped: a worker
 * whose primary is gone waits for init to reap it) counts as exited, although signal 0 reaches it.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself hold spaces or parentheses).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether `pid` runs the balancebeam CLI, so a pid logged long ago is not taken for a worker after reuse. */
function runsBalancebeam(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(CLI_PATH);
  } catch {
    return false;
  }
}

/** A field of /proc/<pid>/status in kB (e.g. `VmHWM`, `VmRSS`). */
export function procStatusKb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

export class BalancerProcess {
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  exit: ExitInfo | null = null;
  readonly exited: Promise<ExitInfo>;
  private pendingStderr = '';

  constructor(readonly child: ChildProcess) {
    live.add(child);
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      this.stdout += text;
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderr += text;
      this.pendingStderr += text;
      let newline: number;
      while ((newline = this.pendingStderr.indexOf('\n')) !== -1) {
        const raw = this.pendingStderr.slice(0, newline);
        this.pendingStderr = this.pendingStderr.slice(newline + 1);
        if (raw.trim() !== '') this.logs.push(parseLine(raw));
      }
    });
  }

  get pid(): number {
    const { pid } = this.child;
    if (pid === undefined) throw new Error('balancer process has no pid');
    return pid;
  }

  /** The number of log lines so far: pass it as `from` to look only at later lines. */
  mark(): number {
    return this.logs.length;
  }

  logsWith(predicate: (line: LogLine) => boolean, from = 0): LogLine[] {
    return this.logs.slice(from).filter(predicate);
  }

  /** Log lines that report a crash: an uncaught exception or unhandled rejection anywhere in the process tree. */
  crashReports(from = 0): LogLine[] {
    return this.logsWith((line) => line.msg === 'uncaught exception' || line.msg === 'unhandled rejection', from);
  }

  /** Worker pids by node id (`w1` → pid), from the `worker started` lines so far (a replacement's pid wins). */
  loggedWorkerPids(from = 0): Map<string, number> {
    return new Map(this.logsWith((line) => line.msg === 'worker started', from).map((line) => [String(line.worker), Number(line.pid)]));
  }

  /** Waits for `count` workers' `worker started` lines and returns their pids by node id. */
  async workerPids(count: number, timeoutMs = 20_000): Promise<Map<string, number>> {
    return waitFor(
      () => {
        const pids = this.loggedWorkerPids();
        if (pids.size >= count) return pids;
        if (this.exit !== null) throw new Error(`balancer exited (${JSON.stringify(this.exit)}) with ${pids.size} of ${count} workers started`);
        return undefined;
      },
      { timeoutMs, what: `${count} "worker started" lines (stderr so far:\n${this.stderr.slice(-4000)})` },
    );
  }

  /** The `msg: request` lines (one per completed request at info level). */
  requestLogs(from = 0): LogLine[] {
    return this.logsWith((line) => line.msg === 'request', from);
  }

  /**
   * The first log line (at index `from` or later) matching `predicate`; fails fast if the process
   * exits, unless `afterExit` (workers whose primary is gone still write to the same stderr).
   */
  async waitForLog(
    predicate: (line: LogLine) => boolean,
    options: { readonly timeoutMs: number; readonly from?: number; readonly what?: string; readonly afterExit?: boolean },
  ): Promise<LogLine> {
    return waitFor(
      () => {
        const line = this.logs.slice(options.from ?? 0).find(predicate);
        if (line !== undefined) return line;
        if (this.exit !== null && options.afterExit !== true) {
          throw new Error(
            `balancer exited (${JSON.stringify(this.exit)}) before logging ${options.what ?? 'the expected line'}; stderr:\n${this.stderr}`,
          );
        }
        return undefined;
      },
      { timeoutMs: options.timeoutMs, what: `${options.what ?? 'a log line'} (stderr so far:\n${this.stderr.slice(-4000)})` },
    );
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited within `graceMs`; then any
   * worker that outlived it is killed too (those still its children, and those
   * whose `worker started` line was logged: a test may have killed the
   * primary and left them orphaned). Safe to call more than once.
   */
  async stop(graceMs = 10_000): Promise<ExitInfo> {
    const children = this.exit === null ? descendantPids(this.pid) : [];
    const logged = [...this.loggedWorkerPids().values()].filter((pid) => !children.includes(pid) && runsBalancebeam(pid));
    const descendants = [...children, ...logged];
    if (this.exit === null) {
      this.child.kill('SIGTERM');
      try {
        await withDeadline(this.exited, graceMs, 'balancebeam to exit after SIGTERM');
      } catch {
        this.child.kill('SIGKILL');
      }
    }
    const info = await this.exited;
    for (const pid of descendants) {
      try {
        await waitFor(() => !isAlive(pid), { timeoutMs: graceMs, what: `worker ${pid} to exit` });
      } catch {
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    return info;
  }
}

export interface RunningBalancer {
  readonly process: BalancerProcess;
  /** `127.0.0.1:PORT` (or `[::1]:PORT`) as logged. */
  readonly address: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` (or `http://[::1]:PORT`) */
  readonly origin: string;
}

export interface SpawnOptions {
  /** `--bind` (default `127.0.0.1:0`); null: no --bind (nor --workers) flag, the config file gives them. */
  readonly bind?: string | null;
}

/** Starts `balancebeam [args] --bind 127.0.0.1:0` (and `--workers 1` unless args give --workers). */
export function spawnBalancer(args: readonly string[], options: SpawnOptions = {}): BalancerProcess {
  const full = options.bind === null ? [...args] : [...args, '--bind', options.bind ?? '127.0.0.1:0'];
  if (options.bind !== null && !args.includes('--workers')) full.push('--workers', '1');
  const child = spawn(process.execPath, [CLI_PATH, ...full], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Node's default on Linux, made explicit: the primary hands connections to workers in turn, so tests that
    // expect both workers to serve do not depend on an inherited setting or on how the kernel wakes acceptors.
    env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: 'rr' },
  });
  return new BalancerProcess(child);
}

/** Spawns the balancer, tears it down with the test, and waits for its `listening` line. */
export async function startBalancer(
  t: ExecutionContext,
  args: readonly string[],
  options: SpawnOptions & { readonly readyTimeoutMs?: number } = {},
): Promise<RunningBalancer> {
  const balancer = spawnBalancer(args, options);
  t.teardown(async () => {
    await balancer.stop();
  });
  const line = await balancer.waitForLog((entry) => entry.msg === 'listening', {
    timeoutMs: options.readyTimeoutMs ?? 20_000,
    what: 'the listening line',
  });
  const address = String(line.address);
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in listening line ${line.raw}`);
  return { process: balancer, address, port, origin: `http://${address}` };
}

export interface CliResult extends ExitInfo {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (killed and rejected if it is still running after `timeoutMs`). */
export async function runCli(args: readonly string[], timeoutMs = 15_000): Promise<CliResult> {
  const balancer = new BalancerProcess(spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  // stdout/stderr may still hold data when 'exit' fires: wait for both streams to end too.
  const drained = Promise.all([
    new Promise<void>((resolve) => balancer.child.stdout?.once('close', resolve)),
    new Promise<void>((resolve) => balancer.child.stderr?.once('close', resolve)),
  ]);
  try {
    const exit = await withDeadline(balancer.exited, timeoutMs, `balancebeam ${args.join(' ')} to exit`);
    await withDeadline(drained, timeoutMs, 'the output of balancebeam to close');
    return { ...exit, stdout: balancer.stdout, stderr: balancer.stderr };
  } catch (error) {
    await balancer.stop(2_000);
    throw new Error(`${(error as Error).message}; stderr:\n${balancer.stderr}`);
  }
}
