/** The two origins every proxy balances over: one nginx (one worker) listening on two ports, pinned to the load CPU. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LARGE_BODY_BYTES, originNginxConfig } from './configs.js';
import { freePort, waitUntilAnswering } from './ports.js';
import { findCommand } from './products.js';
import { logTail, startTracked, stopTracked } from './processes.js';

export interface Origins {
  ports: number[];
  stop(): Promise<void>;
}

export async function startOrigins(directory: string, cpu: string): Promise<Origins> {
  const ports = [await freePort(), await freePort()];
  const largeFile = join(directory, '64k.bin');
  writeFileSync(largeFile, Buffer.alloc(LARGE_BODY_BYTES, 'x'));
  const config = join(directory, 'origins.conf');
  writeFileSync(config, originNginxConfig(directory, ports, largeFile));
  const started = startTracked(
    'taskset',
    ['-c', cpu, findCommand('nginx'), '-p', directory, '-e', join(directory, 'origins-error.log'), '-c', config],
    join(directory, 'origins.log'),
  );
  try {
    for (const port of ports) await waitUntilAnswering(port, 'origin nginx');
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${logTail(join(directory, 'origins-error.log'))}`);
  }
  return { ports, stop: () => stopTracked(started) };
}
