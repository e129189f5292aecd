/**
 * Load generation with wrk, pinned to its CPU. A Lua `done()` hook prints the
 * figures as one JSON line, so nothing parses wrk's human-readable output.
 * Without wrk, the Node load loop (`node-load.ts`) runs instead and prints
 * the same line.
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForAcceptQueueDrained } from './accept-queue.js';
import type { NodeLoad } from './node-load.js';
import { startTracked } from './processes.js';
import type { Scenario } from './scenarios.js';
import { locateTool } from './tools.js';

export interface WrkResult {
  requests: number;
  durationS: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Connect, read, write and timeout errors, and responses that were not 2xx/3xx. */
  errors: number;
  /** The same, by kind, e.g. "read 3, status 1"; empty when there were none. */
  errorKinds: string;
}

export const RESULT_MARKER = 'BENCH_JSON ';

const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${RESULT_MARKER}{"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** Lua run once by wrk before the load: sets method, headers, body. */
function luaSetup(scenario: Scenario): string {
  const lines = [`wrk.method = "${scenario.method}"`];
  if (scenario.connectionClose) lines.push('wrk.headers["Connection"] = "close"');
  if (scenario.bodyBytes > 0) {
    lines.push(`wrk.body = string.rep("x", ${scenario.bodyBytes})`, 'wrk.headers["Content-Type"] = "application/octet-stream"');
  }
  return lines.join('\n');
}

/** Writes the scenario's Lua script into `directory` and returns its path. */
export function writeWrkScript(directory: string, scenario: Scenario): string {
  const path = join(directory, `${scenario.name}.lua`);
  writeFileSync(path, `${luaSetup(scenario)}\n${DONE_HOOK}`);
  return path;
}

export function parseWrkOutput(output: string): WrkResult {
  const line = output.split('\n').find((candidate) => candidate.startsWith(RESULT_MARKER));
  if (line === undefined) throw new Error(`wrk printed no result:\n${output}`);
  const raw = JSON.parse(line.slice(RESULT_MARKER.length)) as {
    requests: number;
    duration_us: number;
    errors: Record<string, number>;
    p50_us: number;
    p99_us: number;
  };
  const durationS = raw.duration_us / 1e6;
  return {
    requests: raw.requests,
    durationS,
    requestsPerS: raw.requests / durationS,
    p50Ms: raw.p50_us / 1000,
    p99Ms: raw.p99_us / 1000,
    errors: Object.values(raw.errors).reduce((sum, count) => sum + count, 0),
    errorKinds: Object.entries(raw.errors)
      .filter(([, count]) => count > 0)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', '),
  };
}

export interface WrkRun {
  port: number;
  scenario: Scenario;
  script: string;
  seconds: number;
  cpu: string;
  logPath: string;
  tool: LoadTool;
}

/** What drives the load: wrk when it is installed, else the Node load loop. */
export type LoadTool = 'wrk' | 'node-load';

export function chooseLoadTool(): LoadTool {
  return locateTool('wrk') === null ? 'node-load' : 'wrk';
}

function nodeLoadArgs(run: WrkRun): string[] {
  const { scenario } = run;
  const load: NodeLoad = {
    port: run.port,
    path: scenario.path,
    method: scenario.method,
    bodyBytes: scenario.bodyBytes,
    connectionClose: scenario.connectionClose,
    connections: scenario.connections,
    seconds: run.seconds,
  };
  return [process.execPath, new URL('./node-load.js', import.meta.url).pathname, JSON.stringify(load)];
}

/** Runs the load once (wrk: one thread; both pinned), once the proxy has accepted every queued connection, and returns its figures. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const url = `http://127.0.0.1:${run.port}${run.scenario.path}`;
  const command =
    run.tool === 'wrk' ? ['wrk', '-t1', `-c${run.scenario.connections}`, `-d${run.seconds}s`, '--timeout', '5s', '-s', run.script, url] : nodeLoadArgs(run);
  const args = ['-c', run.cpu, ...command];
  // Not on top of the previous run's connections still queued unaccepted (accept-queue.ts).
  await waitForAcceptQueueDrained(run.port);
  // wrk's stdout carries the result; it goes to a file so the run stays tracked like every other child.
  writeFileSync(run.logPath, '');
  const started = startTracked('taskset', args, run.logPath);
  await started.exited;
  return parseWrkOutput(await readFile(run.logPath, 'utf8'));
}
