/**
 * The two origins every proxy balances over, pinned to the load CPU: one
 * nginx (one worker) listening on two ports, or, when nginx is not
 * installed, the Node origin (`node-origin.ts`) on two ports.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LARGE_BODY_BYTES, originNginxConfig } from './configs.js';
import { freePort, waitUntilAnswering } from './ports.js';
import { logTail, startTracked, stopTracked } from './processes.js';
import { locateTool } from './tools.js';

export interface Origins {
  ports: number[];
  /** What serves them, for the log and the report. */
  description: string;
  stop(): Promise<void>;
}

export async function startOrigins(directory: string, cpu: string): Promise<Origins> {
  const ports = [await freePort(), await freePort()];
  const nginx = locateTool('nginx');
  let description: string;
  let command: string[];
  let errorLog: string;
  if (nginx === null) {
    description = 'the Node origin (bench/node-origin.ts, node:http; nginx is not installed), two ports';
    command = [process.execPath, new URL('./node-origin.js', import.meta.url).pathname, ...ports.map(String)];
    errorLog = join(directory, 'origins.log');
  } else {
    description = 'one nginx (one worker), two ports';
    const largeFile = join(directory, '64k.bin');
    writeFileSync(largeFile, Buffer.alloc(LARGE_BODY_BYTES, 'x'));
    const config = join(directory, 'origins.conf');
    writeFileSync(config, originNginxConfig(directory, ports, largeFile));
    errorLog = join(directory, 'origins-error.log');
    command = [nginx, '-p', directory, '-e', errorLog, '-c', config];
  }
  const started = startTracked('taskset', ['-c', cpu, ...command], join(directory, 'origins.log'));
  try {
    for (const port of ports) await waitUntilAnswering(port, 'origin');
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${logTail(errorLog)}`);
  }
  return { ports, description, stop: () => stopTracked(started) };
}
