/**
 * An upstream in a child process (`child-upstream-main.ts`), for what only a
 * process can suffer: SIGSTOP (a frozen upstream whose kernel still accepts
 * connections and buffers requests) and SIGCONT. It reports each request it
 * parses; `stop()` and `resume()` signal it; the test's teardown resumes and
 * kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { waitFor } from './wait.js';

const MAIN = fileURLToPath(new URL('./child-upstream-main.js', import.meta.url));

export class ChildUpstream {
  /** `METHOD URL` of every request the child parsed, in order. */
  readonly seen: string[] = [];
  port = 0;
  private pending = '';

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      this.pending += text;
      let newline: number;
      while ((newline = this.pending.indexOf('\n')) !== -1) {
        const line = this.pending.slice(0, newline);
        this.pending = this.pending.slice(newline + 1);
        if (line.startsWith('seen ')) this.seen.push(line.slice(5));
        else if (line.startsWith('listening ')) this.port = Number(line.slice(10));
      }
    });
  }

  get id(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  kill(): void {
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
  }
}

export async function startChildUpstream(t: ExecutionContext): Promise<ChildUpstream> {
  const upstream = new ChildUpstream(spawn(process.execPath, [MAIN], { stdio: ['ignore', 'pipe', 'inherit'] }));
  // A stopped child left behind by a failed test would hold its port forever.
  const onExit = (): void => upstream.kill();
  process.once('exit', onExit);
  t.teardown(() => {
    process.off('exit', onExit);
    upstream.kill();
  });
  await waitFor(() => upstream.port > 0, { timeoutMs: 10_000, what: 'the child upstream to listen' });
  return upstream;
}
