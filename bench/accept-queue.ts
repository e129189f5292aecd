/**
 * Waiting until a proxy has taken every connection the kernel queued for it.
 * Node 20's libuv (1.45 on, "unix: don't accept() connections in a loop")
 * accepts one connection per event-loop turn, and a turn at 500 busy
 * connections lasts milliseconds: when a wrk run ends, hundreds of its
 * connections may still sit unaccepted (and closed by wrk) in the listening
 * socket's queue. The next run would open its 500 on top of them, overflow
 * the queue (Node's backlog is 511), and the client's first requests would
 * wait for SYN-ACK retransmissions (1 s, 3 s): a tail made by the run before.
 * So each run starts once the queue is empty (BENCHMARKS.md, "Keep-alive 500:
 * the tail").
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { locateTool } from './tools.js';

/** Connections queued on 127.0.0.1:port and not yet accepted, or null when `ss` cannot say. */
export function acceptQueueLength(port: number): number | null {
  const output = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  // State Recv-Q Send-Q Local Peer: on a listening socket Recv-Q is the accept queue.
  const queued = output
    .split('\n')
    .map((line) => Number(line.trim().split(/\s+/)[1]))
    .filter((count) => Number.isFinite(count));
  return queued.length === 0 ? null : queued.reduce((sum, count) => sum + count, 0);
}

const POLL_MS = 50;

/** Resolves when the accept queue is empty (or after timeoutMs, or at once without `ss`); returns how long it waited. */
export async function waitForAcceptQueueDrained(port: number, timeoutMs = 10_000): Promise<number> {
  if (locateTool('ss') === null) return 0;
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const queued = acceptQueueLength(port);
    if (queued === null || queued === 0) return Date.now() - started;
    await delay(POLL_MS);
  }
  return Date.now() - started;
}
