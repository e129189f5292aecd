/** Runs the actor-path micro-benchmark (`actor-cost.ts`) as its own process, pinned like a proxy, and collects its figures. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface ActorCost {
  label: string;
  microsecondsPerRequest: number;
  /** null when a GC ran during the allocation batch, which spoils the count. */
  heapBytesPerRequest: number | null;
  rounds: number;
  requests: number;
}

export function measureActorCost(repoRoot: string, cpu: string, quick: boolean): Promise<ActorCost[]> {
  // A young generation fixed at 64 MB: the allocation batch (about 12 MB) then fits without a GC.
  const args = ['-c', cpu, process.execPath, '--expose-gc', '--max-semi-space-size=128', '--min-semi-space-size=64'];
  args.push(join(repoRoot, 'dist/bench/actor-cost.js'), '--json');
  if (quick) args.push('--quick');
  return new Promise((resolve, reject) => {
    execFile('taskset', args, { timeout: 120_000 }, (error, stdout) => {
      if (error !== null) return reject(new Error(`actor-cost failed: ${error.message}`));
      resolve(
        stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as ActorCost),
      );
    });
  });
}
